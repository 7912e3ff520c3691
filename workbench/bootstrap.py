"""First start: migrate, load the demo project, create the first lead account.

Safe to run on every start: each step happens only when its result is missing, so a second
``./run.sh`` changes nothing and takes a moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from workbench.config import Settings
from workbench.demo import DEMO_DESCRIPTION, DEMO_FILE, DEMO_LABELS, DEMO_PROJECT
from workbench.ingest import import_file
from workbench.store import jobs, migrate, projects, users
from workbench.store.engine import Database
from workbench.store.schema import Project, User

FIRST_LEAD = "lead"


@dataclass(frozen=True)
class InitResult:
    """What ``initialize`` did; ``lead_password`` is set only when it created the first lead."""

    demo_items: int | None
    embed_job_id: int | None
    lead_name: str | None
    lead_password: str | None


def load_demo(db: Database, settings: Settings) -> tuple[int, int]:
    """Create the demo project, import its rows and queue their embedding.

    Returns
    -------
    (items imported, embed job id)
    """
    with db.write() as session:
        projects.create_project(
            session,
            DEMO_PROJECT,
            labels=projects.make_label_schema(list(DEMO_LABELS), DEMO_LABELS),
            embedding_model=settings.embedding_model,
            description=DEMO_DESCRIPTION,
            actor="system",
        )
    report = import_file(db, DEMO_FILE, DEMO_PROJECT, actor="system")
    with db.write() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == DEMO_PROJECT))
        job = jobs.enqueue(session, "embed", project_id=project_id)
    return report.n_imported, job.id


def create_first_lead(db: Database) -> tuple[str, str] | None:
    """Create lead account ``lead`` with a random one-time password if there are no users at all."""
    with db.write() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        password = users.generate_password()
        users.add_user(session, FIRST_LEAD, password, "lead", must_change_password=True, actor="system")
    return FIRST_LEAD, password


def initialize(db: Database, settings: Settings, *, demo: bool = True) -> InitResult:
    """Bring the database to the current schema; on an empty one load the demo and the first lead."""
    migrate.upgrade(db)
    demo_items = embed_job_id = None
    if demo:
        with db.read() as session:
            empty = not session.scalar(select(func.count()).select_from(Project))
        if empty:
            demo_items, embed_job_id = load_demo(db, settings)
    lead = create_first_lead(db)
    return InitResult(
        demo_items=demo_items,
        embed_job_id=embed_job_id,
        lead_name=lead[0] if lead else None,
        lead_password=lead[1] if lead else None,
    )
