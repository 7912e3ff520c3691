"""Browser tests: the real app server on a seeded SQLite file, driven by Playwright in Debian chromium.

Only Debian's ``/usr/bin/chromium`` is used (``.ci/run`` installs it); Playwright's own browser
download is never needed. Without chromium the tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server import seed

from workbench.ui.server import AppServer

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: the browser tests must run in CI (.ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is None:
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(tmp_path) -> Iterator[AppServer]:
    """A running app on a fresh database with the seeded users and items."""
    url = f"sqlite:///{tmp_path / 'e2e.sqlite'}"
    seed(url)
    with AppServer(url) as server:
        yield server


@pytest.fixture
def new_page(browser) -> Iterator[Callable[[], object]]:
    contexts = []

    def make():
        context = browser.new_context()
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
