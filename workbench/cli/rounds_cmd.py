"""``round`` (ask for a round) and ``rounds`` (list a project's rounds and their figures)."""

from __future__ import annotations

import typer
from sqlalchemy import select

from workbench import tasks  # noqa: F401  (registers the job handlers)
from workbench.cli.app import app, database, fail
from workbench.rounds import request_round
from workbench.store.migrate import upgrade
from workbench.store.projects import get_project
from workbench.store.schema import Job, Round
from workbench.worker import run_until_empty


def _project_id(name: str) -> int:
    with database().read() as session:
        project = get_project(session, name)
        if project is None:
            raise fail(f"no project named {name!r}")
        return project.id


@app.command("round")
def round_(
    project: str = typer.Option(..., "--project", help="Project name."),
    now: bool = typer.Option(False, help="Run it in this process instead of leaving it to the worker."),
) -> None:
    """Retrain the scorer and select the next batch now, without waiting for the label threshold."""
    db = database()
    upgrade(db)
    project_id = _project_id(project)
    with db.write() as session:
        job_id = request_round(session, project_id).id
    if not now:
        typer.echo(f"round queued as job {job_id}; the worker (./run.sh worker) runs it")
        return
    run_until_empty(db, kinds=["embed", "round"])
    with db.read() as session:
        job = session.get(Job, job_id)
        if job.status != "done":
            raise fail(f"round failed: {(job.error or '').splitlines()[-1] if job.error else job.status}")
        typer.echo(f"round {job.result['round']}: {job.result['n_labels']} labels, "
                   f"{job.result['n_candidates']} candidates queued by {job.result['sampler']}")


@app.command("rounds")
def rounds_(project: str = typer.Option(..., "--project", help="Project name.")) -> None:
    """List a project's rounds: labels, cross-validated accuracy and macro-F1, sampler."""
    db = database()
    upgrade(db)
    project_id = _project_id(project)
    with db.read() as session:
        rows = session.scalars(select(Round).where(Round.project_id == project_id).order_by(Round.number)).all()
        typer.echo(f"{'round':>5} {'trigger':<10} {'labels':>6} {'cv acc':>7} {'cv F1':>6}  sampler")
        for r in rows:
            cv = r.metrics.get("cv") or {}
            acc = f"{cv['accuracy']:.3f}" if cv else "-"
            f1 = f"{cv['macro_f1']:.3f}" if cv else "-"
            typer.echo(f"{r.number:>5} {r.trigger:<10} {r.n_labels:>6} {acc:>7} {f1:>6}  {r.metrics.get('sampler', '')}")
