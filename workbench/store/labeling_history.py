"""An annotator's own history: undo of the last action, recent labels, and progress figures.

Undo reads the audit log: each labeling action (``workbench.store.labeling``) recorded what it did
there, and an undo is itself recorded (``label.undo`` naming the undone entry), so undoing again
steps further back. Storage functions: they take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, func, select, true
from sqlalchemy.orm import Session

from workbench.store import audit
from workbench.store.labeling import (
    DEFAULT_LEASE,
    LabelingError,
    active_user,
    latest_round,
    lock_project_queue,
    open_candidates,
    overlap_of,
    project_or_fail,
)
from workbench.store.schema import (
    Annotation,
    AnnotationRevision,
    Assignment,
    AuditEntry,
    Decision,
    Item,
    ItemRevision,
    NoiseFlag,
    utcnow,
)

UNDO = "label.undo"
# How far back undo looks for the user's newest action that is not undone yet.
_UNDO_DEPTH = 200
PREVIEW_CHARS = 80


@dataclass(frozen=True)
class Undone:
    """What ``undo_last`` reversed: the action (e.g. ``"label.add"``) on which item."""

    action: str
    item_id: int


Reverse = Callable[[Session, AuditEntry, datetime, timedelta], None]
_REVERSERS: dict[str, Reverse] = {}


def _reverses(action: str) -> Callable[[Reverse], Reverse]:
    def register(reverse: Reverse) -> Reverse:
        _REVERSERS[action] = reverse
        return reverse

    return register


def _reopen_lease(session: Session, assignment_id: int | None, now: datetime, lease: timedelta) -> None:
    """Give the user their lease back, newest, so the item is the one they see next."""
    if assignment_id is None:
        return
    assignment = session.get(Assignment, assignment_id)
    if assignment is not None:
        assignment.status = "leased"
        assignment.leased_at = now
        assignment.expires_at = now + lease
        assignment.completed_at = None


@_reverses("label.add")
def _remove_label(session: Session, entry: AuditEntry, now: datetime, lease: timedelta) -> None:
    annotation_id = entry.after["annotation_id"]
    session.execute(delete(AnnotationRevision).where(AnnotationRevision.annotation_id == annotation_id))
    session.execute(delete(Annotation).where(Annotation.id == annotation_id))
    _reopen_lease(session, entry.after.get("assignment_id"), now, lease)


@_reverses("label.change")
def _restore_label(session: Session, entry: AuditEntry, now: datetime, lease: timedelta) -> None:
    annotation = session.get(Annotation, entry.after["annotation_id"])
    if annotation is None:
        raise LabelingError("this label no longer exists")
    # Restoring is a new revision: the history keeps the change and its undo.
    annotation.label = entry.before["label"]
    annotation.revision += 1
    annotation.updated_at = now
    session.add(
        AnnotationRevision(
            annotation_id=annotation.id,
            revision=annotation.revision,
            label=annotation.label,
            created_at=now,
        )
    )


@_reverses("label.skip")
def _unskip(session: Session, entry: AuditEntry, now: datetime, lease: timedelta) -> None:
    _reopen_lease(session, entry.after.get("assignment_id"), now, lease)


@_reverses("label.flag")
def _unflag(session: Session, entry: AuditEntry, now: datetime, lease: timedelta) -> None:
    flag_id = entry.after["flag_id"]
    noise_flag = session.get(NoiseFlag, flag_id)
    decided = session.scalar(select(func.count()).select_from(Decision).where(Decision.flag_id == flag_id))
    if noise_flag is not None and (noise_flag.status != "open" or decided):
        raise LabelingError("the lead already reviewed this flag; it cannot be undone")
    session.execute(delete(NoiseFlag).where(NoiseFlag.id == flag_id))
    _reopen_lease(session, entry.after.get("assignment_id"), now, lease)


@_reverses("label.correct")
def _uncorrect(session: Session, entry: AuditEntry, now: datetime, lease: timedelta) -> None:
    revision = session.get(ItemRevision, entry.after["item_revision_id"])
    if revision is None:
        return
    newest = session.scalar(
        select(func.max(ItemRevision.revision)).where(ItemRevision.item_id == revision.item_id)
    )
    if newest != revision.revision:
        raise LabelingError("the response was edited again since; undo that edit first")
    session.delete(revision)


def _last_undoable(session: Session, project_id: int, user_id: int) -> AuditEntry | None:
    undone = set(
        session.scalars(
            select(AuditEntry.entity_id).where(
                AuditEntry.project_id == project_id, AuditEntry.user_id == user_id, AuditEntry.action == UNDO
            )
        )
    )
    recent = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.project_id == project_id,
            AuditEntry.user_id == user_id,
            AuditEntry.action.in_(list(_REVERSERS)),
        )
        .order_by(AuditEntry.id.desc())
        .limit(_UNDO_DEPTH)
    )
    return next((entry for entry in recent if str(entry.id) not in undone), None)


def undo_last(
    session: Session,
    project_id: int,
    user_id: int,
    *,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> Undone | None:
    """Reverse the user's newest labeling action not undone yet; None when there is none.

    A new label is removed and its item leased back to the user (it is the next one they see);
    a changed label goes back to the previous one (as a new revision); a skip or a flag gives the
    item back (the flag is deleted); a corrected response loses that revision.

    Raises
    ------
    LabelingError
        If the action can no longer be undone (e.g. the lead already reviewed the flag).
    """
    now = now or utcnow()
    lock_project_queue(session, project_id)
    user = active_user(session, user_id)
    entry = _last_undoable(session, project_id, user_id)
    if entry is None:
        return None
    _REVERSERS[entry.action](session, entry, now, lease)
    audit.record(
        session,
        actor=user.username,
        user_id=user_id,
        project_id=project_id,
        action=UNDO,
        entity="audit_log",
        entity_id=entry.id,
        before={"action": entry.action, "item_id": entry.entity_id},
    )
    return Undone(entry.action, int(entry.entity_id))


@dataclass(frozen=True)
class RecentLabel:
    annotation_id: int
    item_id: int
    label: str
    revision: int
    updated_at: datetime
    preview: str


def recent_labels(session: Session, project_id: int, user_id: int, limit: int = 10) -> list[RecentLabel]:
    """The user's most recently saved or changed labels in the project, newest first."""
    newest = (
        select(
            Annotation.id, Annotation.item_id, Annotation.label, Annotation.revision, Annotation.updated_at
        )
        .where(Annotation.project_id == project_id, Annotation.user_id == user_id)
        .order_by(Annotation.updated_at.desc(), Annotation.id.desc())
        .limit(limit)
        .subquery()
    )
    # The newest ones are picked from the annotations alone, then joined to their items: joining
    # first reads the item row (sample, text) of every label the user ever made.
    rows = session.execute(
        select(*newest.c, func.substr(Item.text, 1, PREVIEW_CHARS).label("preview"))
        .join(Item, Item.id == newest.c.item_id)
        .order_by(newest.c.updated_at.desc(), newest.c.id.desc())
    )
    return [RecentLabel(*row) for row in rows]


@dataclass(frozen=True)
class Progress:
    """An annotator's figures.

    Attributes
    ----------
    done_this_round : int
        Labels saved since the latest round was made (all of them before the first round).
    done_today : int
        Labels saved since midnight UTC.
    left_in_round : int
        The latest round's candidates still open to the user (0 without a round).
    round_id, round_number : int or None
        The latest round (None before the first).
    new_round_ready : bool
        A round newer than the one the user's current item came from has open candidates.
    """

    done_this_round: int
    done_today: int
    left_in_round: int
    round_id: int | None
    round_number: int | None
    new_round_ready: bool


def progress(
    session: Session,
    project_id: int,
    user_id: int,
    *,
    working_round_id: int | None = None,
    now: datetime | None = None,
) -> Progress:
    """The user's figures; ``working_round_id`` is the round of the item they are looking at."""
    now = now or utcnow()
    current = latest_round(session, project_id)
    overlap = overlap_of(project_or_fail(session, project_id))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def since(moment: datetime | None) -> ColumnElement[int]:
        counted = Annotation.created_at >= moment if moment is not None else true()
        return func.coalesce(func.sum(case((counted, 1), else_=0)), 0)

    # Both counts in one pass over the user's annotations.
    done_this_round, done_today = session.execute(
        select(since(current.created_at if current else None), since(midnight)).where(
            Annotation.project_id == project_id, Annotation.user_id == user_id
        )
    ).one()
    if current is None:
        return Progress(done_this_round, done_today, 0, None, None, False)
    left = open_candidates(session, current.id, user_id, overlap, now)
    return Progress(
        done_this_round=done_this_round,
        done_today=done_today,
        left_in_round=left,
        round_id=current.id,
        round_number=current.number,
        new_round_ready=working_round_id != current.id and left > 0,
    )
