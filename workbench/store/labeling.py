"""The labeling queue: leases of items to annotators, and saving their labels exactly once.

An annotator draws items through leases (``assignments`` rows). The latest round's candidates come
first, in rank order; when they run out, or before the first round, other active items follow in
import order. An item is open to a user when the user was never assigned it and it still needs
annotations: fewer than ``overlap`` (``projects.settings["overlap"]``, default 1) annotations plus
live leases. A lease that expired counts for nobody, so its item returns to the queue.

Claims are race-free: on SQLite the write transaction (``BEGIN IMMEDIATE``) serializes writers
and the claim is one ``INSERT ... SELECT ... RETURNING``; on PostgreSQL every claim and save first
takes a per-project transaction advisory lock, so two sessions never both see an item as open.

Every action writes an audit entry holding what ``workbench.store.labeling_history.undo_last``
needs to reverse it. Like every storage function these take a Session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session

from workbench.responses import reshape, with_response
from workbench.store import audit
from workbench.store.schema import (
    Annotation,
    AnnotationRevision,
    Assignment,
    Candidate,
    Item,
    ItemRevision,
    NoiseFlag,
    Project,
    Round,
    Timestamp,
    User,
    utcnow,
)
from workbench.text import content_hash

DEFAULT_LEASE = timedelta(minutes=10)
#: Why an annotator may flag an item (``noise_flags.evidence["reason"]``), in display order.
FLAG_REASONS = {
    "wrong_response": "Wrong response",
    "harmful_response": "Harmful response",
    "truncated_response": "Truncated response",
    "duplicate": "Duplicate",
    "unclear": "Unclear",
}
ANNOTATOR_FLAG = "annotator_flag"
# Severity of an annotator's flag: a person saw a problem, more certain than most detectors.
ANNOTATOR_FLAG_SEVERITY = 0.8
# Key space of this module's PostgreSQL advisory locks ("WBLQ"), one lock per project.
_LOCK_SPACE = 0x57424C51 << 32


class LabelingError(ValueError):
    """A labeling action that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Claim:
    """An item leased to a user.

    Attributes
    ----------
    assignment_id, item_id : int
    round_id : int or None
        The round whose candidate this is; None for an item from the fallback order.
    expires_at : datetime
        When the lease lapses unless renewed.
    resumed : bool
        True when this is a lease the user already held (reload, second tab, after undo).
    """

    assignment_id: int
    item_id: int
    round_id: int | None
    expires_at: datetime
    resumed: bool


@dataclass(frozen=True)
class SavedLabel:
    """What ``save_label`` did: ``outcome`` is ``"added"``, ``"changed"`` or ``"unchanged"``."""

    annotation_id: int
    label: str
    revision: int
    outcome: str


def overlap_of(project: Project) -> int:
    """Annotations wanted per item (``settings["overlap"]``, at least 1)."""
    return max(1, int((project.settings or {}).get("overlap", 1)))


def latest_round(session: Session, project_id: int) -> Round | None:
    """The project's newest completed round, or None before the first."""
    return session.scalar(
        select(Round)
        .where(Round.project_id == project_id, Round.status == "done")
        .order_by(Round.number.desc())
        .limit(1)
    )


def lock_project_queue(session: Session, project_id: int) -> None:
    """Serialize this transaction's claims and saves with other sessions' on PostgreSQL.

    The lock is held until the transaction ends. SQLite needs nothing: its write transactions
    are already serialized by ``BEGIN IMMEDIATE``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(func.pg_advisory_xact_lock(cast(literal(_LOCK_SPACE | project_id), BigInteger)))
        )


def project_or_fail(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise LabelingError(f"no project with id {project_id}")
    return project


def active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise LabelingError(f"no active user with id {user_id}")
    return user


def _is_live(now: datetime) -> ColumnElement[bool]:
    return and_(Assignment.status == "leased", Assignment.expires_at > now)


def _needs_annotations(
    item_id: Any, overlap: int, now: datetime, *, other_than: Any = None
) -> ColumnElement[bool]:
    """SQL: the item has fewer than ``overlap`` annotations plus live leases (not counting ``other_than``).

    The lease test sits in a CASE so the database probes assignments by item (an index) rather
    than scanning every live lease of every item.
    """
    leases = [Assignment.item_id == item_id] + (
        [Assignment.id != other_than] if other_than is not None else []
    )
    n_live = select(func.coalesce(func.sum(case((_is_live(now), 1), else_=0)), 0)).where(*leases)
    n_annotations = select(func.count()).select_from(Annotation).where(Annotation.item_id == item_id)
    return n_annotations.scalar_subquery() + n_live.scalar_subquery() < overlap


def open_to(item_id: Any, user_id: Any, overlap: Any, now: Any) -> ColumnElement[bool]:
    """SQL: the item may be leased to ``user_id`` now (never assigned to or labeled by them, and
    still needing annotations). ``overlap`` 1 gets the cheaper test; any other value, also a bind
    parameter, the general one."""
    if isinstance(overlap, int) and overlap == 1:
        # Two index probes per item: an assignment that is the user's or live, any annotation.
        # The CASE keeps SQLite from answering the OR with a second index search over every live
        # lease of the project for each item.
        mine_or_live = exists().where(
            Assignment.item_id == item_id, case((Assignment.user_id == user_id, true()), else_=_is_live(now))
        )
        return and_(~mine_or_live, ~exists().where(Annotation.item_id == item_id))
    return and_(
        ~exists().where(Assignment.item_id == item_id, Assignment.user_id == user_id),
        ~exists().where(Annotation.item_id == item_id, Annotation.user_id == user_id),
        _needs_annotations(item_id, overlap, now),
    )


# The queue's hot statements are built once per process with bind parameters: building and
# cache-keying these nested statements took more CPU than running them, on every claim.
_PROJECT = bindparam("project_id", type_=Integer)
_USER = bindparam("user_id", type_=Integer)
_ROUND = bindparam("round_id", type_=Integer)
_OVERLAP = bindparam("overlap", type_=Integer)
_NOW = bindparam("now", type_=Timestamp())
_EXPIRES = bindparam("expires_at", type_=Timestamp())
_LEASE_COLUMNS = ["project_id", "item_id", "user_id", "round_id", "status", "leased_at", "expires_at"]


def _open_candidates(single: bool) -> Select[Any]:
    """The round's candidates open to the user (``single``: the project's overlap is 1)."""
    return (
        select(Candidate.item_id, Candidate.round_id, Candidate.rank)
        .join(Item, Item.id == Candidate.item_id)
        .where(
            Candidate.round_id == _ROUND,
            Item.status == "active",
            open_to(Candidate.item_id, _USER, 1 if single else _OVERLAP, _NOW),
        )
    )


@cache
def _claim_candidate(single: bool) -> Insert:
    """Lease the best-ranked open candidate of round ``round_id``; RETURNING its lease."""
    best = _open_candidates(single).order_by(Candidate.rank).limit(1).subquery()
    source = select(_PROJECT, best.c.item_id, _USER, best.c.round_id, literal("leased"), _NOW, _EXPIRES)
    # Core insert on the table: an ORM insert would take SQLAlchemy's bulk-insert path.
    table = Assignment.__table__
    return insert(table).from_select(_LEASE_COLUMNS, source).returning(table.c.id, table.c.item_id)


@cache
def _claim_in_import_order(single: bool) -> Insert:
    """Lease the project's first open active item in import order; RETURNING its lease."""
    source = (
        select(_PROJECT, Item.id, _USER, literal(None, BigInteger), literal("leased"), _NOW, _EXPIRES)
        # "+ 0" keeps SQLite off the (project_id, status, ...) indexes: it walks the table in id
        # order and stops at the first open item instead of sorting every item of the project.
        .where(
            Item.project_id + 0 == _PROJECT,
            Item.status == "active",
            open_to(Item.id, _USER, 1 if single else _OVERLAP, _NOW),
        )
        .order_by(Item.id)
        .limit(1)
    )
    table = Assignment.__table__
    return insert(table).from_select(_LEASE_COLUMNS, source).returning(table.c.id, table.c.item_id)


@cache
def _count_open_candidates(single: bool) -> Select[Any]:
    return select(func.count()).select_from(_open_candidates(single).subquery())


def open_candidates(session: Session, round_id: int, user_id: int, overlap: int, now: datetime) -> int:
    """How many of the round's candidates are open to the user now."""
    params = {"round_id": round_id, "user_id": user_id, "overlap": overlap, "now": now}
    return session.scalar(_count_open_candidates(overlap == 1), params) or 0


def _resume(
    session: Session, user_id: int, project_id: int, overlap: int, now: datetime, lease: timedelta
) -> Claim | None:
    """Renew and return the user's newest lease; a lapsed one only while nobody else needs its slot."""
    held = session.scalars(
        select(Assignment)
        .where(
            Assignment.project_id == project_id, Assignment.user_id == user_id, Assignment.status == "leased"
        )
        .order_by(Assignment.leased_at.desc(), Assignment.id.desc())
    ).all()
    for assignment in held:
        still_open = assignment.expires_at > now or session.scalar(
            select(_needs_annotations(literal(assignment.item_id), overlap, now, other_than=assignment.id))
        )
        if still_open:
            assignment.expires_at = now + lease
            return Claim(assignment.id, assignment.item_id, assignment.round_id, assignment.expires_at, True)
        assignment.status = "expired"
    return None


def claim_next(
    session: Session,
    project_id: int,
    user_id: int,
    *,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> Claim | None:
    """The user's current item: their live lease if any, else a newly claimed one; None when the
    queue is empty for them.

    The claim is one ``INSERT INTO assignments ... SELECT`` of the first open item, so no other
    session can take the same slot in between (see the module docstring).
    """
    now = now or utcnow()
    lock_project_queue(session, project_id)
    overlap = overlap_of(project_or_fail(session, project_id))
    resumed = _resume(session, user_id, project_id, overlap, now, lease)
    if resumed is not None:
        return resumed
    params = {
        "project_id": project_id,
        "user_id": user_id,
        "overlap": overlap,
        "now": now,
        "expires_at": now + lease,
    }
    current = latest_round(session, project_id)
    if current is not None:
        row = session.execute(_claim_candidate(overlap == 1), {**params, "round_id": current.id}).first()
        if row is not None:
            return Claim(row.id, row.item_id, current.id, now + lease, False)
    row = session.execute(_claim_in_import_order(overlap == 1), params).first()
    return None if row is None else Claim(row.id, row.item_id, None, now + lease, False)


def candidate_for(session: Session, round_id: int | None, item_id: int) -> Candidate | None:
    """Why the round chose the item (sampler, score, reason); None for a fallback item."""
    if round_id is None:
        return None
    return session.scalar(
        select(Candidate).where(Candidate.round_id == round_id, Candidate.item_id == item_id)
    )


def _assignment(session: Session, item_id: int, user_id: int) -> Assignment | None:
    return session.scalar(
        select(Assignment).where(Assignment.item_id == item_id, Assignment.user_id == user_id)
    )


def _item(session: Session, project_id: int, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None or item.project_id != project_id:
        raise LabelingError(f"item {item_id} is not in project {project_id}")
    return item


def _finish(assignment: Assignment | None, status: str, now: datetime) -> dict[str, Any]:
    """Close the lease (if there is one) and return what undo needs to reopen it."""
    if assignment is None:
        return {"assignment_id": None}
    before = {"assignment_id": assignment.id, "assignment_status": assignment.status}
    assignment.status = status
    assignment.completed_at = now
    return before


def save_label(
    session: Session,
    project_id: int,
    user_id: int,
    item_id: int,
    label: str,
    *,
    seconds_spent: float = 0.0,
    comment: str = "",
    now: datetime | None = None,
) -> SavedLabel:
    """Save the user's label for an item, exactly once.

    A repeat of the same label (double click, a second tab) changes nothing. A different label
    becomes a new revision of the user's annotation; every revision is kept. The user's lease on
    the item, if any, is marked labeled; the annotation records the round the lease came from.

    Raises
    ------
    LabelingError
        If the label is not in the project's schema, or the item or user does not exist.
    """
    now = now or utcnow()
    lock_project_queue(session, project_id)
    project = project_or_fail(session, project_id)
    if label not in project.label_names:
        raise LabelingError(
            f"unknown label {label!r}; the project's labels are: {', '.join(project.label_names)}"
        )
    user = active_user(session, user_id)
    _item(session, project_id, item_id)
    annotation = session.scalar(
        select(Annotation).where(Annotation.item_id == item_id, Annotation.user_id == user_id)
    )
    if annotation is not None and annotation.label == label:
        return SavedLabel(annotation.id, label, annotation.revision, "unchanged")

    if annotation is None:
        assignment = _assignment(session, item_id, user_id)
        annotation = Annotation(
            project_id=project_id,
            item_id=item_id,
            user_id=user_id,
            label=label,
            comment=comment,
            seconds_spent=seconds_spent,
            revision=1,
            round_id=assignment.round_id if assignment is not None else None,
            created_at=now,
            updated_at=now,
        )
        session.add(annotation)
        session.flush()
        undo = _finish(assignment, "labeled", now)
        action, before = "label.add", None
        outcome = "added"
    else:
        before = {"label": annotation.label, "revision": annotation.revision}
        annotation.label = label
        annotation.comment = comment
        annotation.seconds_spent += seconds_spent
        annotation.revision += 1
        annotation.updated_at = now
        undo, action, outcome = {}, "label.change", "changed"
    session.add(
        AnnotationRevision(
            annotation_id=annotation.id,
            revision=annotation.revision,
            label=label,
            comment=comment,
            seconds_spent=seconds_spent,
            created_at=now,
        )
    )
    audit.record(
        session,
        actor=user.username,
        user_id=user_id,
        project_id=project_id,
        action=action,
        entity="item",
        entity_id=item_id,
        before=before,
        after={
            "label": label,
            "annotation_id": annotation.id,
            "revision": annotation.revision,
            "seconds_spent": seconds_spent,
            **undo,
        },
    )
    return SavedLabel(annotation.id, label, annotation.revision, outcome)


def skip(
    session: Session, project_id: int, user_id: int, item_id: int, *, now: datetime | None = None
) -> None:
    """Give the item back without a label; others may still get it, this user never again.

    Raises
    ------
    LabelingError
        If the user holds no lease on the item.
    """
    now = now or utcnow()
    user = active_user(session, user_id)
    assignment = _assignment(session, item_id, user_id)
    if assignment is None or assignment.status != "leased" or assignment.project_id != project_id:
        raise LabelingError(f"item {item_id} is not leased to {user.username}")
    undo = _finish(assignment, "skipped", now)
    audit.record(
        session,
        actor=user.username,
        user_id=user_id,
        project_id=project_id,
        action="label.skip",
        entity="item",
        entity_id=item_id,
        after=undo,
    )


def flag(
    session: Session,
    project_id: int,
    user_id: int,
    item_id: int,
    reason: str,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> NoiseFlag:
    """Flag the item as problematic for the lead's review (a ``noise_flags`` row from detector
    ``annotator_flag``) and give back the user's lease on it without a label.

    Raises
    ------
    LabelingError
        If ``reason`` is not one of ``FLAG_REASONS``.
    """
    if reason not in FLAG_REASONS:
        raise LabelingError(f"unknown flag reason {reason!r}; choose one of: {', '.join(FLAG_REASONS)}")
    now = now or utcnow()
    user = active_user(session, user_id)
    _item(session, project_id, item_id)
    assignment = _assignment(session, item_id, user_id)
    noise_flag = NoiseFlag(
        project_id=project_id,
        item_id=item_id,
        detector=ANNOTATOR_FLAG,
        severity=ANNOTATOR_FLAG_SEVERITY,
        evidence={"reason": reason, "comment": comment.strip(), "by": user.username},
        user_id=user_id,
        round_id=assignment.round_id if assignment is not None else None,
        created_at=now,
    )
    session.add(noise_flag)
    session.flush()
    open_lease = assignment if assignment is not None and assignment.status == "leased" else None
    undo = _finish(open_lease, "skipped", now)
    audit.record(
        session,
        actor=user.username,
        user_id=user_id,
        project_id=project_id,
        action="label.flag",
        entity="item",
        entity_id=item_id,
        after={"flag_id": noise_flag.id, "reason": reason, "comment": comment.strip(), **undo},
    )
    return noise_flag


def current_sample(session: Session, item: Item) -> tuple[dict[str, Any], ItemRevision | None]:
    """The item's sample as last corrected (with that revision), else the imported one."""
    revision = session.scalar(
        select(ItemRevision)
        .where(ItemRevision.item_id == item.id)
        .order_by(ItemRevision.revision.desc())
        .limit(1)
    )
    return (item.sample, None) if revision is None else (revision.sample, revision)


def new_response_revision(
    session: Session, item: Item, user_id: int, response: str, reason: str = "", *, now: datetime
) -> ItemRevision:
    """Add the item's next revision with ``response`` as its response (no audit entry: callers
    record the action they took, a correction or a lead's edit).

    Raises
    ------
    LabelingError
        If the response is empty or unchanged, or the sample has no response to correct.
    """
    sample, latest = current_sample(session, item)
    if not response.strip():
        raise LabelingError("the corrected response is empty")
    try:
        shaped = reshape(item.shape, with_response(sample, response))
    except ValueError as error:
        raise LabelingError(f"item {item.id}: {error}") from None
    if shaped.sample == sample:
        raise LabelingError("the response is unchanged")
    revision = ItemRevision(
        item_id=item.id,
        revision=(latest.revision if latest else 0) + 1,
        user_id=user_id,
        sample=shaped.sample,
        text=shaped.text,
        content_hash=content_hash(shaped.text),
        reason=reason.strip() or "corrected response",
        created_at=now,
    )
    session.add(revision)
    session.flush()
    return revision


def correct_response(
    session: Session,
    project_id: int,
    user_id: int,
    item_id: int,
    response: str,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> ItemRevision:
    """Store a corrected response as a new revision of the item; the imported sample is kept.

    Raises
    ------
    LabelingError
        If the response is empty or unchanged, or the sample has no response to correct.
    """
    now = now or utcnow()
    user = active_user(session, user_id)
    item = _item(session, project_id, item_id)
    revision = new_response_revision(session, item, user_id, response, reason, now=now)
    audit.record(
        session,
        actor=user.username,
        user_id=user_id,
        project_id=project_id,
        action="label.correct",
        entity="item",
        entity_id=item_id,
        after={"item_revision_id": revision.id, "revision": revision.revision},
    )
    return revision
