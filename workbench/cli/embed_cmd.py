"""``embed --project NAME [--model NAME_OR_PATH]``: cache the embeddings of a project's items."""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.app import EmbeddingProgress, app, database, fail
from workbench.embed import Embedder, ModelLoadError, embed_project
from workbench.store import audit
from workbench.store.migrate import upgrade
from workbench.store.projects import get_project


def _model_key(name_or_path: str) -> str:
    """A local folder is stored by absolute path, so the worker and the UI find it from any directory."""
    folder = Path(name_or_path).expanduser()
    return str(folder.resolve()) if folder.is_dir() else name_or_path


def _switch_model(project_name: str, model: str) -> None:
    """Make ``model`` the project's embedding model, recorded in the audit log."""
    with database().write() as session:
        project = get_project(session, project_name)
        before = project.embedding_model
        if before == model:
            return
        project.embedding_model = model
        audit.record(
            session,
            actor="cli",
            action="project.embedding_model",
            entity="project",
            entity_id=project.id,
            project_id=project.id,
            before={"embedding_model": before},
            after={"embedding_model": model},
        )


@app.command()
def embed(
    project: str = typer.Option(..., "--project", help="Name of the project whose items to embed."),
    model: str = typer.Option(
        None,
        "--model",
        help="Switch the project to this sentence-transformers model (a name or a local folder) "
        "before embedding. Vectors are cached per model, so switching back costs nothing.",
    ),
) -> None:
    """Embed every active item that has no cached vector for the project's model."""
    db = database()
    upgrade(db)
    with db.read() as session:
        found = get_project(session, project)
        if found is None:
            raise fail(
                f"no project named {project!r}; create it with: "
                f"python -m workbench import FILE --project {project}"
            )
        current = found.embedding_model

    embedder = Embedder(_model_key(model) if model else current)
    bar = EmbeddingProgress()
    try:
        if embedder.model_name != current:
            embedder.load()  # a bad --model is rejected before the project is changed
            _switch_model(project, embedder.model_name)
        stats = embed_project(db, project, embedder=embedder, progress=bar)
    except ModelLoadError as exc:
        raise fail(str(exc)) from None
    finally:
        bar.close()
    typer.echo(
        f"{project}: {stats.n_items} active items, {stats.n_computed} computed, {stats.n_cached} cached "
        f"({embedder.model_name}, {stats.seconds:.1f} s)"
    )
