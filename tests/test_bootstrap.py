"""First start loads the demo and the first lead once; later starts change nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from workbench.bootstrap import initialize
from workbench.config import Settings
from workbench.demo import DEMO_LABELS, DEMO_PROJECT
from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import Item, Job, Project, User


def test_first_start_then_second_start(sqlite_db: Database) -> None:
    settings = Settings(db_url=sqlite_db.url)
    first = initialize(sqlite_db, settings)
    assert first.demo_items == 2000 and first.lead_name == "lead" and len(first.lead_password) >= 12
    with sqlite_db.write() as session:
        project = session.scalar(select(Project).where(Project.name == DEMO_PROJECT))
        assert project.label_names == list(DEMO_LABELS)
        assert [label["key"] for label in project.labels] == list("123456789")
        assert session.scalar(select(func.count()).select_from(Item)) == 2000
        job = session.get(Job, first.embed_job_id)
        assert (job.kind, job.status, job.project_id) == ("embed", "queued", project.id)
        lead = users.authenticate(session, "lead", first.lead_password)
        assert lead.role == "lead" and lead.must_change_password

    second = initialize(sqlite_db, settings)
    assert second.demo_items is None and second.lead_password is None
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 2000
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_init_command_prints_a_fresh_one_time_password(tmp_path, monkeypatch) -> None:
    from workbench.cli import app
    from workbench.cli.app import database

    passwords = []
    for run in range(2):
        monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / f'run{run}.sqlite'}")
        database.cache_clear()
        result = CliRunner().invoke(app, ["init", "--no-demo"])
        assert result.exit_code == 0, result.output
        line = next(line for line in result.output.splitlines() if "password:" in line)
        passwords.append(line.split("password:")[1].strip())
    database.cache_clear()
    assert passwords[0] != passwords[1]  # never a fixed default
