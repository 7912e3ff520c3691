"""Run the real Streamlit app as a subprocess on a free loopback port (browser tests, benchmarks).

No Streamlit import here: the app runs in its own process, exactly as ``./run.sh`` starts it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.error import URLError

from workbench.config import REPO_ROOT

APP_SCRIPT = "workbench/ui/app.py"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str) -> str | None:
    """The body of ``url``, or None if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except (URLError, ConnectionError, TimeoutError):
        return None


class AppServer:
    """``streamlit run workbench/ui/app.py`` against ``db_url``; waits for the health check on enter,
    stops the process by its PID on exit. The server's output goes to ``log_path``, so a long run
    never blocks on a full pipe, and a failed start quotes it."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(tempfile.gettempdir(), f"workbench-app-{self.port}.log")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AppServer:
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", APP_SCRIPT,
                 "--server.headless", "true", "--server.address", "127.0.0.1",
                 "--server.port", str(self.port), "--browser.gatherUsageStats", "false"],
                cwd=REPO_ROOT,
                env={**os.environ, "WORKBENCH_DB_URL": self.db_url},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while http_get(f"{self.url}/_stcore/health") != "ok":
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                with open(self.log_path, encoding="utf-8", errors="replace") as log:
                    raise RuntimeError(f"the app server did not start:\n{log.read()[-4000:]}")
            time.sleep(0.25)
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
