"""The Typer application that every command module registers on."""

from __future__ import annotations

from functools import lru_cache

import typer

from workbench.config import Settings
from workbench.store.engine import Database

app = typer.Typer(
    name="workbench",
    help="Active-learning annotation workbench for curating SFT data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@lru_cache(maxsize=1)
def database() -> Database:
    """The database named by the environment (``WORKBENCH_DB_URL``, else ``db/workbench.sqlite``)."""
    return Database(Settings.from_env().db_url)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
