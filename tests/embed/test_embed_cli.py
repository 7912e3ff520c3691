"""``python -m workbench embed``: embeds a project once, reports counts, switches models on request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.fakes import add_project
from workbench.cli import app
from workbench.cli.app import database
from workbench.config import BUNDLED_MODEL
from workbench.embed import model as embed_model
from workbench.store.engine import Database
from workbench.store.migrate import upgrade
from workbench.store.schema import AuditEntry, Project

MODEL_CHANGES = AuditEntry.action == "project.embedding_model"
TEXTS = ["Where is my card?", "I want a refund for this order.", "How do I change my PIN?"]


@pytest.fixture
def cli_db(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The database the CLI uses, holding project ``tickets`` (3 items, bundled model)."""
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    database.cache_clear()
    db = database()
    upgrade(db)
    add_project(db, "tickets", TEXTS, model=BUNDLED_MODEL)
    yield db
    db.dispose()
    database.cache_clear()


def _embed(*args: str):
    return CliRunner().invoke(app, ["embed", *args])


def test_help() -> None:
    result = _embed("--help")
    assert result.exit_code == 0
    assert "--project" in result.output and "--model" in result.output


def test_unknown_project(cli_db: Database) -> None:
    result = _embed("--project", "nope")
    assert result.exit_code == 1
    assert "no project named 'nope'" in result.stderr


@pytest.mark.slow
def test_embed_then_rerun_computes_nothing(cli_db: Database) -> None:
    first = _embed("--project", "tickets")
    second = _embed("--project", "tickets")

    assert first.exit_code == 0, first.output
    assert "3 computed, 0 cached" in first.stdout
    assert second.exit_code == 0, second.output
    assert "0 computed, 3 cached" in second.stdout


@pytest.mark.slow
def test_switching_to_a_model_folder_is_audited(cli_db: Database) -> None:
    folder = embed_model.resolve_model_source(BUNDLED_MODEL)
    _embed("--project", "tickets")

    result = _embed("--project", "tickets", "--model", folder)

    assert result.exit_code == 0, result.output
    assert "3 computed" in result.stdout  # vectors are cached per model name
    with cli_db.read() as session:
        assert session.scalar(select(Project.embedding_model)) == folder
        entry = session.scalars(select(AuditEntry).where(MODEL_CHANGES)).one()
        assert entry.before == {"embedding_model": BUNDLED_MODEL}
        assert entry.after == {"embedding_model": folder}


def test_unknown_model_leaves_the_project_unchanged(cli_db: Database) -> None:
    result = _embed("--project", "tickets", "--model", "no-such-org/no-such-model")

    assert result.exit_code == 1
    assert "cannot load embedding model 'no-such-org/no-such-model'" in result.stderr
    with cli_db.read() as session:
        assert session.scalar(select(Project.embedding_model)) == BUNDLED_MODEL
        assert session.scalars(select(AuditEntry).where(MODEL_CHANGES)).all() == []
