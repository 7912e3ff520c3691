"""Starting the real Streamlit server for browser tests, and the data it starts with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.error import URLError

from workbench.config import REPO_ROOT
from workbench.store import migrate, projects, users
from workbench.store.engine import Database
from workbench.store.schema import Item
from workbench.text import content_hash, normalize_text

START_TIMEOUT_S = 60
PASSWORDS = {"lead1": "lead-password-1", "ann": "annotator-password-1"}
SCRIPT_INSTRUCTION = "Explain <script>window.__pwned = 1</script> tags"
SCRIPT_OUTPUT = '<img src="x" onerror="window.__pwned = 2">'
#: The items in queue order (import order: there is no round yet).
SAMPLES = [
    {"instruction": SCRIPT_INSTRUCTION, "output": SCRIPT_OUTPUT},
    {"instruction": "Name a colour", "output": "Blue"},
    {"instruction": "Write a haiku about rain", "output": "Soft rain on the roof"},
    {"instruction": "Add two and three", "output": "Five"},
]


def seed(url: str) -> None:
    """Migrate a fresh database and add a lead, an annotator and project 'demo' (chat, code)."""
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        for name, password in PASSWORDS.items():
            users.add_user(session, name, password, "lead" if name.startswith("lead") else "annotator")
        project = projects.create_project(
            session, "demo", labels=projects.make_label_schema(["chat", "code"]), embedding_model="test-model"
        )
        for line, sample in enumerate(SAMPLES, start=1):
            text = normalize_text("\n".join(sample.values()))
            session.add(
                Item(
                    project_id=project.id,
                    shape="alpaca",
                    sample=sample,
                    text=text,
                    content_hash=content_hash(text),
                    source_file="e2e.jsonl",
                    source_line=line,
                )
            )
    db.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode() == "ok"
    except (URLError, ConnectionError, TimeoutError):
        return False


class AppServer:
    """``streamlit run workbench/ui/app.py`` on a free loopback port; stopped by its PID on exit."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> AppServer:
        env = {**os.environ, "WORKBENCH_DB_URL": self.db_url}
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "workbench/ui/app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(self.port),
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(f"{self.url}/_stcore/health"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the app server did not start")
            time.sleep(0.25)
        return self

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
