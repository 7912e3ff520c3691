"""Accounts: argon2id hashes, roles, and sign-in that reveals nothing about which names exist."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import AuditEntry, User


def test_password_is_stored_as_argon2id_hash(db: Database) -> None:
    with db.write() as session:
        users.add_user(session, "ann", "correct horse", "annotator")
    with db.read() as session:
        user = users.get_user(session, "ann")
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions == ["user.add"]


def test_authenticate(db: Database) -> None:
    with db.write() as session:
        users.add_user(session, "lead1", "s3cret-pass", "lead")
    with db.write() as session:
        assert users.authenticate(session, "lead1", "s3cret-pass").role == "lead"
        assert users.authenticate(session, "lead1", "wrong-pass") is None
        assert users.authenticate(session, "nobody", "s3cret-pass") is None
    with db.write() as session:
        users.set_active(session, users.get_user(session, "lead1"), False)
    with db.write() as session:
        assert users.authenticate(session, "lead1", "s3cret-pass") is None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("ann", "short", "annotator", "at least 8"),
        ("ann", "long enough", "admin", "invalid role"),
        ("bad name!", "long enough", "lead", "invalid username"),
        ("dup", "long enough", "lead", "already exists"),
    ],
)
def test_invalid_users_are_refused(db: Database, name, password, role, message) -> None:
    with db.write() as session:
        users.add_user(session, "dup", "long enough", "lead")
    with pytest.raises(users.UserError, match=message):
        with db.write() as session:
            users.add_user(session, name, password, role)
    with db.read() as session:
        assert session.scalars(select(User.username)).all() == ["dup"]


def test_cli_users_add_and_list(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.cli.app import database

    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    database.cache_clear()
    runner = CliRunner()
    monkeypatch.setenv("WORKBENCH_PASSWORD", "annotator-pass")
    result = runner.invoke(app, ["users", "add", "ann", "--role", "annotator"])
    assert result.exit_code == 0, result.output
    assert "annotator-pass" not in result.output
    result = runner.invoke(app, ["users", "add", "ann", "--role", "annotator"])
    assert result.exit_code != 0 and "already exists" in result.output
    monkeypatch.delenv("WORKBENCH_PASSWORD")
    result = runner.invoke(app, ["users", "add", "lead2", "--role", "lead"], input="typed-pass\ntyped-pass\n")
    assert result.exit_code == 0, result.output
    assert "typed-pass" not in result.output
    listing = runner.invoke(app, ["users", "list"]).output
    assert "ann" in listing and "lead2" in listing and "lead" in listing
    database.cache_clear()
