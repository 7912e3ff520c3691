"""SQLite runs with the settings that make several writer processes safe."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from sqlalchemy import text

from workbench.store import migrate
from workbench.store.engine import Database


def test_sqlite_pragmas(sqlite_db: Database) -> None:
    with sqlite_db.read() as session:
        pragma = lambda name: session.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000
        assert pragma("synchronous") == 1  # NORMAL


def test_foreign_keys_are_enforced(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    import pytest

    with pytest.raises(IntegrityError):
        with db.write() as session:
            session.execute(
                text("INSERT INTO imports (project_id, source_file, file_sha256, file_format, shape, "
                     "field_mapping, n_rows, n_imported, n_duplicates, n_rejected, created_at) "
                     "VALUES (999, 'f', 'h', 'jsonl', 'text', '{}', 0, 0, 0, 0, CURRENT_TIMESTAMP)")
            )


def _increment_many(url: str, times: int) -> None:
    db = Database(url)
    for _ in range(times):
        # Read-then-write in one transaction: only safe because the write lock is taken up front.
        with db.write() as session:
            value = session.execute(text("SELECT progress FROM jobs WHERE id = 1")).scalar_one()
            session.execute(text("UPDATE jobs SET progress = :v WHERE id = 1"), {"v": value + 1})
    db.dispose()


def test_concurrent_read_modify_write_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.sqlite'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        session.execute(
            text("INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, progress, created_at) "
                 "VALUES (1, 'count', '{}', 'queued', 0, 3, 0, CURRENT_TIMESTAMP)")
        )
    processes = [mp.get_context("spawn").Process(target=_increment_many, args=(url, 100)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    with db.read() as session:
        assert session.execute(text("SELECT progress FROM jobs WHERE id = 1")).scalar_one() == 400
