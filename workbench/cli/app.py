"""The Typer application that every command module registers on."""

from __future__ import annotations

from functools import lru_cache

import typer
from tqdm import tqdm

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


class EmbeddingProgress:
    """``progress(done, total)`` for ``embed_texts``/``embed_project``: a tqdm bar on stderr.

    The bar opens at the first report, so nothing is drawn when everything is cached, and closes
    when the last text is done (``close`` also ends it early, e.g. on an error).
    """

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, unit="text", desc="embedding")
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
