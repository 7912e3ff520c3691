"""Migrations create the schema from nothing, agree with the ORM classes, and keep data on upgrade."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from workbench.store import migrate
from workbench.store.engine import Database
from workbench.store.schema import Base


def test_empty_database_is_migrated_to_head(db: Database) -> None:
    assert migrate.current_revision(db) == migrate.head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_match_the_orm_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_changes_nothing_and_keeps_rows(db: Database) -> None:
    with db.write() as session:
        session.execute(
            text("INSERT INTO projects (name, description, labels, embedding_model, settings, created_at) "
                 "VALUES ('p', '', '[]', 'm', '{}', CURRENT_TIMESTAMP)")
        )
    migrate.upgrade(db)
    with db.read() as session:
        assert session.execute(text("SELECT name FROM projects")).scalars().all() == ["p"]


def test_downgrade_to_base_and_back(db: Database) -> None:
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None
    assert "items" not in inspect(db.engine).get_table_names()
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()


def test_audit_log_is_append_only(db: Database) -> None:
    with db.write() as session:
        session.execute(
            text("INSERT INTO audit_log (at, actor, action, entity) VALUES (CURRENT_TIMESTAMP, 'a', 'b', 'c')")
        )
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.write() as session:
                session.execute(text(statement))
    with db.read() as session:
        assert session.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["a"]


def test_upgrade_from_the_first_release_keeps_items(db: Database) -> None:
    """A user on the first schema upgrades and keeps their projects and items."""
    migrate.downgrade(db, "base")
    migrate.upgrade(db, "0001")
    with db.write() as session:
        session.execute(
            text("INSERT INTO projects (id, name, description, labels, embedding_model, settings, created_at) "
                 "VALUES (1, 'p', '', '[]', 'm', '{}', CURRENT_TIMESTAMP)")
        )
        session.execute(
            text("INSERT INTO items (project_id, shape, sample, text, content_hash, source_file, meta, status, "
                 "created_at) VALUES (1, 'text', '{\"text\": \"你好\"}', '你好', 'h', 'f', '{}', 'active', "
                 "CURRENT_TIMESTAMP)")
        )
    migrate.upgrade(db)
    with db.read() as session:
        assert session.execute(text("SELECT text FROM items")).scalars().all() == ["你好"]
    index_names = {index["name"] for index in inspect(db.engine).get_indexes("items")}
    assert {"ix_items_project_status_label", "ix_items_project_status_hash"} <= index_names
