"""The append-only audit log: one call per change a person or the system makes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from workbench.store.schema import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    project_id: int | None = None,
    user_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry in the caller's transaction (so it lands with the change or not at all).

    Parameters
    ----------
    actor : str
        Who did it: a username, or ``"cli"`` / ``"worker"`` / ``"system"``.
    action : str
        What was done, e.g. ``"user.add"``, ``"import"``, ``"decision.relabel"``.
    entity, entity_id : str
        What it was done to, e.g. ``"item"`` and its id.
    """
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        project_id=project_id,
        user_id=user_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
