"""Shared fixtures.

``db`` is a freshly migrated database: a SQLite file always, and PostgreSQL too when
``WORKBENCH_TEST_PG_URL`` names a server (``.ci/run`` starts one). With ``CI=true`` a missing
PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from workbench.store import migrate
from workbench.store.engine import Database

PG_URL = os.environ.get("WORKBENCH_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'workbench.sqlite'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A new, empty PostgreSQL database per test, dropped afterwards."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but WORKBENCH_TEST_PG_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("WORKBENCH_TEST_PG_URL not set (no PostgreSQL server for this run)")
    name = f"wb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    migrate.upgrade(db)
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request) -> Iterator[Database]:
    """Run the test once on SQLite and once on PostgreSQL."""
    yield request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
