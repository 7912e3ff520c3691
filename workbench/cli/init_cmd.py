"""``init`` (database, demo project, first lead) and ``worker`` (the background job runner)."""

from __future__ import annotations

import logging

import typer

from workbench import tasks
from workbench.bootstrap import initialize
from workbench.cli.app import app, database
from workbench.config import Settings
from workbench.store.migrate import upgrade
from workbench.worker import Worker, run_until_empty


@app.command()
def init(
    demo: bool = typer.Option(True, help="Load the demo project into an empty database."),
) -> None:
    """Create or upgrade the database; on first use load the demo project and create the first lead."""
    settings = Settings.from_env()
    result = initialize(database(), settings, demo=demo)
    if result.demo_items is not None:
        typer.echo(f"Loaded the demo project ({result.demo_items} items); their embedding is queued "
                   f"as job {result.embed_job_id} for the worker.")
    if result.lead_password is not None:
        typer.echo(
            "\n"
            "  First lead account created. Sign in with:\n"
            f"    username: {result.lead_name}\n"
            f"    password: {result.lead_password}\n"
            "  This password works once: you choose your own at the first sign-in.\n"
            "  Lost it? ./run.sh cli users set-password lead\n"
        )
    typer.echo("Database ready.")


@app.command()
def worker(
    once: bool = typer.Option(False, help="Run the queued jobs, then exit (instead of waiting for more)."),
) -> None:
    """Run background jobs (embedding, retraining) from the database queue until stopped.

    When idle it queues the rounds that are due: a first one once a project is embedded, then one
    whenever a project's round threshold of new labels is reached; after each round, the project's
    embedding map for the Data map page.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    db = database()
    upgrade(db)
    if once:
        done = run_until_empty(db, on_idle=tasks.schedule_due_work)
        typer.echo(f"ran {len(done)} job(s)")
    else:
        Worker(db, on_idle=tasks.schedule_due_work).run_forever()
