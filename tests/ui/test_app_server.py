"""The real Streamlit server starts on a fresh database and answers its health check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.error import URLError

from ui_helpers import APP_SCRIPT

from workbench.config import REPO_ROOT

START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except (URLError, ConnectionError, TimeoutError):
        return None


def test_the_app_server_starts_and_answers_health(tmp_path):
    port = _free_port()
    env = {**os.environ, "WORKBENCH_DB_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT.relative_to(REPO_ROOT)),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        health = None
        while health is None and time.monotonic() < deadline and server.poll() is None:
            health = _get(f"http://127.0.0.1:{port}/_stcore/health")
            if health is None:
                time.sleep(0.25)
        assert server.poll() is None, f"the server exited:\n{server.stdout.read()}"
        assert health == "ok"
        assert "<html" in (_get(f"http://127.0.0.1:{port}/") or "").lower()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
