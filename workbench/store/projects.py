"""Projects and their label schemas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store import audit
from workbench.store.schema import Project

#: Keys offered for the first nine labels; the labeling page binds them as shortcuts.
SHORTCUT_KEYS = "123456789"


class LabelSchemaError(ValueError):
    """A label schema that cannot be used (empty or duplicate names)."""


def make_label_schema(
    names: list[str], descriptions: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Build a label schema from names in display order, binding keys 1-9 to the first nine.

    Raises
    ------
    LabelSchemaError
        If a name is empty or repeated.
    """
    descriptions = descriptions or {}
    cleaned = [name.strip() for name in names]
    if any(not name for name in cleaned):
        raise LabelSchemaError("label names must not be empty")
    repeated = sorted({name for name in cleaned if cleaned.count(name) > 1})
    if repeated:
        raise LabelSchemaError(f"label names repeat: {', '.join(repeated)}")
    return [
        {
            "name": name,
            "description": descriptions.get(name, ""),
            "key": SHORTCUT_KEYS[i] if i < len(SHORTCUT_KEYS) else "",
        }
        for i, name in enumerate(cleaned)
    ]


def parse_label_list(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (the CLI's ``--labels`` form)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def get_project(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def create_project(
    session: Session,
    name: str,
    *,
    labels: list[dict[str, Any]],
    embedding_model: str,
    description: str = "",
    settings: dict[str, Any] | None = None,
    actor: str = "cli",
) -> Project:
    """Add a project; the caller commits. Raises ValueError if the name is taken or empty."""
    if not name.strip():
        raise ValueError("project name must not be empty")
    if get_project(session, name) is not None:
        raise ValueError(f"project {name!r} already exists")
    project = Project(
        name=name,
        description=description,
        labels=labels,
        embedding_model=embedding_model,
        settings=settings or {},
    )
    session.add(project)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="project.create",
        entity="project",
        entity_id=project.id,
        project_id=project.id,
        after={"name": name, "labels": [label["name"] for label in labels]},
    )
    return project


def add_labels(session: Session, project: Project, names: list[str], *, actor: str) -> None:
    """Append labels that the schema lacks (keeping order and existing key bindings)."""
    new = [name for name in names if name not in project.label_names]
    if not new:
        return
    before = project.label_names
    project.labels = make_label_schema(before + new, {l["name"]: l["description"] for l in project.labels})
    audit.record(
        session,
        actor=actor,
        action="project.labels",
        entity="project",
        entity_id=project.id,
        project_id=project.id,
        before={"labels": before},
        after={"labels": project.label_names},
    )


def set_overlap(session: Session, project: Project, overlap: int, *, actor: str, user_id: int | None = None) -> None:
    """Ask for ``overlap`` annotations per item (``settings["overlap"]``, read by the labeling queue).

    Raises
    ------
    ValueError
        If ``overlap`` is below 1.
    """
    if overlap < 1:
        raise ValueError(f"overlap must be at least 1 annotation per item, not {overlap}")
    before = int(project.settings.get("overlap", 1))
    if before == overlap:
        return
    project.settings = {**project.settings, "overlap": overlap}
    audit.record(
        session,
        actor=actor,
        user_id=user_id,
        action="project.overlap",
        entity="project",
        entity_id=project.id,
        project_id=project.id,
        before={"overlap": before},
        after={"overlap": overlap},
    )
