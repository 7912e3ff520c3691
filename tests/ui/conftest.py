"""AppTest fixtures: the real app script against a temporary SQLite file named by WORKBENCH_DB_URL.

The app caches one engine per URL (``st.cache_resource``), so each test's own file gets its own
engine even though AppTests in one process share the cache.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import APP_SCRIPT, PASSWORDS, RUN_TIMEOUT, sign_in

from workbench.store import users
from workbench.store.engine import Database


@pytest.fixture
def app_db(sqlite_db: Database, monkeypatch) -> Database:
    """A migrated SQLite file with a lead ``lead1`` and an annotator ``ann``; the app uses it."""
    monkeypatch.setenv("WORKBENCH_DB_URL", sqlite_db.url)
    with sqlite_db.write() as session:
        users.add_user(session, "lead1", PASSWORDS["lead1"], "lead")
        users.add_user(session, "ann", PASSWORDS["ann"], "annotator")
    return sqlite_db


@pytest.fixture
def new_app(app_db: Database) -> Callable[[], AppTest]:
    """Make a fresh browser session of the app (already run once: the sign-in page)."""

    def make() -> AppTest:
        return AppTest.from_file(str(APP_SCRIPT), default_timeout=RUN_TIMEOUT).run()

    return make


@pytest.fixture
def signed_in(new_app) -> Callable[[str], AppTest]:
    """A session signed in as the given user."""

    def make(username: str) -> AppTest:
        at = sign_in(new_app(), username)
        assert not at.exception, at.exception
        return at

    return make
