"""Cleaning decisions: what the lead does about an item, one at a time or in bulk, and undo.

Actions (each a small registered function, ``ACTIONS``):

- ``keep``: the item is fine; its flags are resolved and nothing else changes. On a
  ``near_duplicate`` flag it means "not a duplicate" (``workbench.export.duplicates`` then lets the
  item stand on its own).
- ``relabel``: the lead's label, one of the project's; it becomes the item's gold label
  (``workbench.store.gold``), so the next round trains on it.
- ``drop``: ``items.status = "dropped"``: out of the export, the pool and the labeling queue.
- ``edit``: a new response, stored as the item's next ``ItemRevision`` (the newest revision is
  what gets exported).
- ``keep_one``: keep this item of its near-duplicate group; the export leaves the other members
  out; the group's ``near_duplicate`` flags are resolved.

Every decision is a ``decisions`` row with the state before and after, resolves the flags it
answers (``after["flags"]``) and writes an audit entry, all in the caller's transaction. A bulk
decision (``decide_many``) is all or nothing (a savepoint) and its decisions share
``after["batch"]``, so one undo reverts them together. An undo is itself a decision (``undo``,
naming the decision in ``undoes_id``) that restores the state before exactly: the status, the
standing label, the newest revision and the flags. Undoing twice, or undoing a decision a later
decision on the same item superseded, is refused with a ``DecisionError``.

Storage functions: they take a Session and never commit.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from workbench.export.duplicates import NEAR_DUPLICATE_DETECTOR, kept_by_lead, near_duplicate_groups
from workbench.responses import response_of
from workbench.store import audit
from workbench.store.gold import GoldLabel, gold_labels, undone_decision_ids
from workbench.store.labeling import LabelingError, current_sample, new_response_revision
from workbench.store.schema import (
    Assignment,
    Decision,
    Item,
    ItemRevision,
    NoiseFlag,
    Project,
    User,
    utcnow,
)

UNDO = "undo"
#: Actions that a bulk decision may apply to many items (an edit needs each item's own text).
BULK_ACTIONS = ("keep", "relabel", "drop", "keep_one")
# Key space of the per-project PostgreSQL advisory lock ("WBRV") that serializes decisions.
_LOCK_SPACE = 0x57425256 << 32
# Ids per IN (...) list: well below SQLite's and PostgreSQL's bind parameter limits.
_CHUNK = 5000


class DecisionError(ValueError):
    """A decision or undo that cannot be done as asked; the message says why. Nothing changed."""


@dataclass(frozen=True)
class DecisionRequest:
    """One decision asked for.

    Attributes
    ----------
    item_id : int
    action : str
        A key of ``ACTIONS``.
    label : str, optional
        The new label (``relabel``).
    response : str, optional
        The new response (``edit``).
    flag_ids : tuple of int, optional
        The open flags of the item this decision answers; None = all of them (``keep_one``
        always answers its group's ``near_duplicate`` flags).
    reason : str
        Why, in the lead's words (optional).
    """

    item_id: int
    action: str
    label: str | None = None
    response: str | None = None
    flag_ids: tuple[int, ...] | None = None
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a call did: the decisions written (in order) and the batch they share, if any."""

    decisions: list[Decision]
    batch: str | None = None

    @property
    def item_ids(self) -> list[int]:
        return [decision.item_id for decision in self.decisions]


@dataclass
class _Change:
    """What an action did to an item: the state before and after, and the flags it answers."""

    before: dict[str, Any]
    after: dict[str, Any]
    flags: list[NoiseFlag]
    flag_id: int | None = None


@dataclass
class _Context:
    """One call's session, project, lead and clock, with what it loaded for many items at once."""

    session: Session
    project: Project
    user: User
    now: datetime
    open_flags: dict[int, list[NoiseFlag]] = field(default_factory=dict)
    gold: dict[int, GoldLabel] = field(default_factory=dict)
    _groups: dict[int, str] | None = None

    def flags_of(self, item_id: int) -> list[NoiseFlag]:
        if item_id not in self.open_flags:
            self.load_flags([item_id])
        return self.open_flags[item_id]

    def load_flags(self, item_ids: Iterable[int]) -> None:
        missing = [item_id for item_id in item_ids if item_id not in self.open_flags]
        for item_id in missing:
            self.open_flags[item_id] = []
        for chunk in _chunks(missing):
            flags = self.session.scalars(
                select(NoiseFlag)
                .where(NoiseFlag.item_id.in_(chunk), NoiseFlag.status == "open")
                .order_by(NoiseFlag.severity.desc(), NoiseFlag.id)
            )
            for flag in flags:
                self.open_flags[flag.item_id].append(flag)

    def groups(self) -> dict[int, str]:
        """``{item_id: near-duplicate group}`` as the export reads them."""
        if self._groups is None:
            self._groups = near_duplicate_groups(self.session, self.project.id)
        return self._groups


Apply = Callable[[_Context, Item, DecisionRequest], _Change]
Revert = Callable[[Session, Decision], None]


@dataclass(frozen=True)
class ActionSpec:
    """A registered action: how to apply it and how to revert it (flags are handled by the caller)."""

    name: str
    description: str
    apply: Apply
    revert: Revert


ACTIONS: dict[str, ActionSpec] = {}


def _nothing_to_revert(session: Session, decision: Decision) -> None:
    """For actions whose effect is read from the standing decisions (keep, relabel, keep_one)."""


def action(name: str, description: str, revert: Revert = _nothing_to_revert) -> Callable[[Apply], Apply]:
    """Register ``apply`` as action ``name``."""

    def decorate(apply: Apply) -> Apply:
        ACTIONS[name] = ActionSpec(name, description, apply, revert)
        return apply

    return decorate


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    values = list(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _require_active(item: Item) -> None:
    if item.status != "active":
        raise DecisionError(f"item {item.id} is {item.status}; undo the drop first")


def _answered(ctx: _Context, item: Item, request: DecisionRequest) -> list[NoiseFlag]:
    """The open flags of the item that the request answers."""
    flags = ctx.flags_of(item.id)
    if request.flag_ids is None:
        return list(flags)
    by_id = {flag.id: flag for flag in flags}
    unknown = [flag_id for flag_id in request.flag_ids if flag_id not in by_id]
    if unknown:
        raise DecisionError(f"flag {unknown[0]} is not an open flag of item {item.id}")
    return [by_id[flag_id] for flag_id in request.flag_ids]


@action("keep", "Nothing wrong (for a near-duplicate: not a duplicate); the flags are resolved.")
def _keep(ctx: _Context, item: Item, request: DecisionRequest) -> _Change:
    _require_active(item)
    flags = _answered(ctx, item, request)
    if not flags:
        raise DecisionError(f"item {item.id} has no open flag to keep")
    return _Change({"status": item.status}, {"status": item.status}, flags)


@action("relabel", "The lead's label becomes the item's gold label.")
def _relabel(ctx: _Context, item: Item, request: DecisionRequest) -> _Change:
    _require_active(item)
    names = ctx.project.label_names
    if request.label not in names:
        raise DecisionError(
            f"unknown label {request.label!r}; the project's labels are: {', '.join(names) or '(none)'}"
        )
    current = ctx.gold.get(item.id)
    if current is not None and current.source == "lead" and current.label == request.label:
        raise DecisionError(f"item {item.id} already has the lead's label {request.label!r}")
    before = (
        {"label": None, "source": None}
        if current is None
        else {"label": current.label, "source": current.source}
    )
    return _Change(before, {"label": request.label, "source": "lead"}, _answered(ctx, item, request))


def _undrop(session: Session, decision: Decision) -> None:
    item = session.get(Item, decision.item_id)
    item.status = decision.before["status"]
    leases = decision.before.get("leases", [])
    if leases:  # handed back as they were; one whose time ran out meanwhile lapses as usual
        session.execute(
            update(Assignment)
            .where(Assignment.id.in_(leases), Assignment.status == "expired")
            .values(status="leased")
        )


@action("drop", "Left out of the export, the pool and the labeling queue.", revert=_undrop)
def _drop(ctx: _Context, item: Item, request: DecisionRequest) -> _Change:
    _require_active(item)
    item.status = "dropped"
    # An annotator who holds the item would otherwise still be shown it (leases resume).
    leases = list(
        ctx.session.scalars(
            select(Assignment.id).where(Assignment.item_id == item.id, Assignment.status == "leased")
        )
    )
    if leases:
        ctx.session.execute(update(Assignment).where(Assignment.id.in_(leases)).values(status="expired"))
    return _Change(
        {"status": "active", "leases": leases}, {"status": "dropped"}, _answered(ctx, item, request)
    )


def _unedit(session: Session, decision: Decision) -> None:
    revision = session.get(ItemRevision, decision.after["item_revision_id"])
    if revision is None:
        raise DecisionError(f"the revision of decision {decision.id} no longer exists")
    newest = session.scalar(
        select(func.max(ItemRevision.revision)).where(ItemRevision.item_id == decision.item_id)
    )
    if newest != revision.revision:
        raise DecisionError(
            f"item {decision.item_id} was edited again since decision {decision.id} "
            f"(revision {newest}); undo that edit first"
        )
    session.delete(revision)


@action("edit", "A new response, stored as the item's next revision.", revert=_unedit)
def _edit(ctx: _Context, item: Item, request: DecisionRequest) -> _Change:
    _require_active(item)
    if request.response is None:
        raise DecisionError("an edit needs the new response text")
    sample, latest = current_sample(ctx.session, item)
    try:
        revision = new_response_revision(
            ctx.session,
            item,
            ctx.user.id,
            request.response,
            request.reason or "edited in review",
            now=ctx.now,
        )
    except LabelingError as error:
        raise DecisionError(f"item {item.id}: {error}") from None
    return _Change(
        {"revision": latest.revision if latest else 0, "response": response_of(sample)},
        {
            "revision": revision.revision,
            "item_revision_id": revision.id,
            "response": response_of(revision.sample),
        },
        _answered(ctx, item, request),
    )


@action("keep_one", "Keep this item of its near-duplicate group; the export leaves the others out.")
def _keep_one(ctx: _Context, item: Item, request: DecisionRequest) -> _Change:
    _require_active(item)
    groups = ctx.groups()
    group = groups.get(item.id)
    if group is None:
        raise DecisionError(f"item {item.id} is in no near-duplicate group")
    members = sorted(member for member, key in groups.items() if key == group)
    already = sorted(kept_by_lead(ctx.session, ctx.project.id) & set(members))
    if already:
        raise DecisionError(
            f"item {already[0]} is already the one kept of this group; undo that decision first"
        )
    ctx.load_flags(members)
    flags = [
        flag
        for member in members
        for flag in ctx.flags_of(member)
        if flag.detector == NEAR_DUPLICATE_DETECTOR
    ]
    own = next((flag.id for flag in flags if flag.item_id == item.id), None)
    return _Change(
        {"group": group, "members": members, "kept": None},
        {"group": group, "members": members, "kept": item.id},
        flags,
        flag_id=own,
    )


def lock_project_decisions(session: Session, project_id: int) -> None:
    """Serialize this transaction's decisions with other sessions' on PostgreSQL (until it ends).

    SQLite needs nothing: its write transactions are serialized by ``BEGIN IMMEDIATE``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(func.pg_advisory_xact_lock(cast(literal(_LOCK_SPACE | project_id), BigInteger)))
        )


def _context(session: Session, project_id: int, user_id: int, now: datetime | None) -> _Context:
    project = session.get(Project, project_id)
    if project is None:
        raise DecisionError(f"no project with id {project_id}")
    user = session.get(User, user_id)
    if user is None or not user.active or user.role != "lead":
        raise DecisionError("only an active lead can take review decisions")
    lock_project_decisions(session, project_id)
    return _Context(session, project, user, now or utcnow())


def _record(
    ctx: _Context, item: Item, request: DecisionRequest, change: _Change, batch: str | None
) -> Decision:
    for flag in change.flags:
        flag.status = "resolved"
        flag.resolved_at = ctx.now
    flag_ids = [flag.id for flag in change.flags]
    primary = change.flag_id
    if primary is None and change.flags:
        # export.duplicates reads a keep's flag_id: the near-duplicate flag matters most.
        primary = next((f.id for f in change.flags if f.detector == NEAR_DUPLICATE_DETECTOR), flag_ids[0])
    after = {**change.after, "flags": flag_ids}
    if batch is not None:
        after["batch"] = batch
    reason = request.reason.strip()
    decision = Decision(
        project_id=ctx.project.id,
        item_id=item.id,
        flag_id=primary,
        user_id=ctx.user.id,
        action=request.action,
        label=request.label if request.action == "relabel" else None,
        reason=reason,
        before=change.before,
        after=after,
        created_at=ctx.now,
    )
    ctx.session.add(decision)
    return decision


def _audit(ctx: _Context, decisions: Sequence[Decision]) -> None:
    """One audit entry per decision (flushed first, so each entry names its decision's id)."""
    ctx.session.flush()
    for decision in decisions:
        extra = {"undoes": decision.undoes_id} if decision.undoes_id is not None else {}
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            user_id=ctx.user.id,
            project_id=ctx.project.id,
            action=f"decision.{decision.action}",
            entity="item",
            entity_id=decision.item_id,
            before=decision.before,
            after={**decision.after, "decision_id": decision.id, "reason": decision.reason, **extra},
        )


def _apply_all(ctx: _Context, requests: Sequence[DecisionRequest], batch: str | None) -> list[Decision]:
    unknown = sorted({r.action for r in requests} - set(ACTIONS))
    if unknown:
        raise DecisionError(f"unknown action {unknown[0]!r}; valid actions: {', '.join(ACTIONS)}")
    ids = [r.item_id for r in requests]
    if len(set(ids)) != len(ids):
        repeated = next(item_id for item_id in ids if ids.count(item_id) > 1)
        raise DecisionError(f"item {repeated} appears twice in one bulk decision")
    items: dict[int, Item] = {}
    for chunk in _chunks(ids):
        query = select(Item).where(Item.id.in_(chunk), Item.project_id == ctx.project.id)
        items.update((item.id, item) for item in ctx.session.scalars(query))
    missing = [item_id for item_id in ids if item_id not in items]
    if missing:
        raise DecisionError(f"item {missing[0]} is not in project {ctx.project.name!r}")
    ctx.load_flags(ids)
    if any(r.action == "relabel" for r in requests):
        for chunk in _chunks(ids):
            ctx.gold.update(gold_labels(ctx.session, ctx.project.id, include_imported=True, item_ids=chunk))
    decisions = []
    with ctx.session.begin_nested():  # all or nothing, even if the caller goes on after an error
        for request in requests:
            item = items[request.item_id]
            change = ACTIONS[request.action].apply(ctx, item, request)
            decisions.append(_record(ctx, item, request, change, batch))
        _audit(ctx, decisions)
    return decisions


def decide(
    session: Session, project_id: int, user_id: int, request: DecisionRequest, *, now: datetime | None = None
) -> Decision:
    """Apply one decision.

    Raises
    ------
    DecisionError
        For an unknown action, project or item, a user who is not an active lead, a label not in
        the project's schema, a dropped item, an edit without text, ...; nothing is changed.
    """
    ctx = _context(session, project_id, user_id, now)
    return _apply_all(ctx, [request], batch=None)[0]


def decide_many(
    session: Session,
    project_id: int,
    user_id: int,
    requests: Sequence[DecisionRequest],
    *,
    now: datetime | None = None,
) -> Outcome:
    """Apply many decisions (one per item) as one batch: all of them, or none if one fails.

    Raises
    ------
    DecisionError
        As ``decide``, naming the first request that failed (none is applied), or for an empty
        list or an item named twice.
    """
    if not requests:
        raise DecisionError("no items to decide on")
    ctx = _context(session, project_id, user_id, now)
    batch = uuid.uuid4().hex
    return Outcome(_apply_all(ctx, requests, batch), batch)


def _touched(decision: Decision) -> set[int]:
    """The items a decision changed: its own, plus the members of a kept group."""
    return {decision.item_id, *decision.after.get("members", [])}


def _check_undoable(session: Session, project_id: int, decisions: Sequence[Decision]) -> None:
    ids = {d.id for d in decisions}
    for decision in decisions:
        if decision.action == UNDO:
            raise DecisionError(f"decision {decision.id} is itself an undo; decide again instead")
    for chunk in _chunks(sorted(ids)):
        already = session.scalar(select(func.min(Decision.undoes_id)).where(Decision.undoes_id.in_(chunk)))
        if already is not None:
            raise DecisionError(f"decision {already} was already undone")
    by_item: dict[int, list[Decision]] = defaultdict(list)
    for decision in decisions:
        for item_id in _touched(decision):
            by_item[item_id].append(decision)
    first = min(ids)
    later: list[Decision] = []
    for chunk in _chunks(sorted(by_item)):
        later.extend(
            session.scalars(
                select(Decision).where(
                    Decision.project_id == project_id,
                    Decision.id > first,
                    Decision.action != UNDO,
                    Decision.id.not_in(undone_decision_ids(project_id)),
                    or_(Decision.item_id.in_(chunk), Decision.action == "keep_one"),
                )
            )
        )
    for newer in sorted({d.id: d for d in later if d.id not in ids}.values(), key=lambda d: d.id):
        for item_id in _touched(newer) & by_item.keys():
            older = next((d for d in by_item[item_id] if d.id < newer.id), None)
            if older is not None:
                raise DecisionError(
                    f"decision {older.id} ({older.action} of item {older.item_id}) was superseded by "
                    f"decision {newer.id} ({newer.action} of item {newer.item_id}); undo that one first"
                )


def _undo_all(ctx: _Context, decisions: Sequence[Decision], reason: str, batch: str | None) -> list[Decision]:
    _check_undoable(ctx.session, ctx.project.id, decisions)
    undos = []
    for chunk in _chunks(sorted({d.item_id for d in decisions})):
        ctx.session.scalars(select(Item).where(Item.id.in_(chunk))).all()  # one query, not one per revert
    with ctx.session.begin_nested():
        reopened = sorted({flag_id for d in decisions for flag_id in d.after.get("flags", [])})
        for chunk in _chunks(reopened):
            for flag in ctx.session.scalars(select(NoiseFlag).where(NoiseFlag.id.in_(chunk))):
                flag.status = "open"
                flag.resolved_at = None
        for decision in sorted(decisions, key=lambda d: d.id, reverse=True):
            ACTIONS[decision.action].revert(ctx.session, decision)
            after = {
                **decision.before,
                "flags": decision.after.get("flags", []),
                "undone_action": decision.action,
            }
            if batch is not None:
                after["undoes_batch"] = batch
            undo = Decision(
                project_id=ctx.project.id,
                item_id=decision.item_id,
                user_id=ctx.user.id,
                action=UNDO,
                reason=reason.strip(),
                before=decision.after,
                after=after,
                undoes_id=decision.id,
                created_at=ctx.now,
            )
            ctx.session.add(undo)
            undos.append(undo)
        _audit(ctx, undos)
    return undos


def undo(
    session: Session,
    project_id: int,
    user_id: int,
    decision_id: int,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Undo one decision, or, when it belongs to a batch, the whole batch.

    Raises
    ------
    DecisionError
        If the decision does not exist in the project, is an undo, was undone already, or a
        later decision on one of its items superseded it (that one must be undone first).
    """
    ctx = _context(session, project_id, user_id, now)
    decision = session.get(Decision, decision_id)
    if decision is None or decision.project_id != project_id:
        raise DecisionError(f"no decision {decision_id} in project {ctx.project.name!r}")
    batch = decision.after.get("batch")
    if batch is not None:
        return Outcome(_undo_all(ctx, _batch(session, project_id, batch), reason, batch), batch)
    return Outcome(_undo_all(ctx, [decision], reason, None))


def _batch(session: Session, project_id: int, batch: str) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.project_id == project_id, Decision.after["batch"].as_string() == batch)
            .order_by(Decision.id)
        )
    )


def undo_last(
    session: Session, project_id: int, user_id: int, *, reason: str = "", now: datetime | None = None
) -> Outcome | None:
    """Undo the lead's newest decision that stands (its whole batch, for a bulk decision); None
    when there is none.

    Raises
    ------
    DecisionError
        As ``undo`` (e.g. another lead's later decision on the same item superseded it).
    """
    last = session.scalar(
        select(Decision.id)
        .where(
            Decision.project_id == project_id,
            Decision.user_id == user_id,
            Decision.action != UNDO,
            Decision.id.not_in(undone_decision_ids(project_id)),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    )
    return None if last is None else undo(session, project_id, user_id, last, reason=reason, now=now)


@dataclass(frozen=True)
class DecisionSummary:
    """A decision as the recent-decisions list shows it; a bulk decision (or the undo of one) is
    one summary of its newest decision, with ``n_items`` its size."""

    id: int
    item_id: int
    action: str
    label: str | None
    reason: str
    username: str
    created_at: datetime
    batch: str | None  # the batch id; "undo:<batch id>" for the undo of a bulk decision
    undoes_id: int | None
    undone: bool
    n_items: int = 1


def recent_decisions(session: Session, project_id: int, *, limit: int = 20) -> list[DecisionSummary]:
    """The project's newest decisions (undos included), newest first, a batch as one entry."""
    undone = set(session.scalars(undone_decision_ids(project_id)))
    rows = session.execute(
        select(Decision, User.username)
        .join(User, User.id == Decision.user_id)
        .where(Decision.project_id == project_id)
        .order_by(Decision.id.desc())
        .execution_options(yield_per=500)
    )
    summaries: list[DecisionSummary] = []
    for d, username in rows:
        # A batch's decisions are consecutive: one transaction under the project's lock wrote them.
        undoes_batch = d.after.get("undoes_batch")
        group = d.after.get("batch") or (None if undoes_batch is None else f"undo:{undoes_batch}")
        if group is not None and summaries and summaries[-1].batch == group:
            summaries[-1] = replace(summaries[-1], n_items=summaries[-1].n_items + 1)
            continue
        if len(summaries) == limit:
            break
        summaries.append(
            DecisionSummary(
                id=d.id,
                item_id=d.item_id,
                action=d.action,
                label=d.label,
                reason=d.reason,
                username=username,
                created_at=d.created_at,
                batch=group,
                undoes_id=d.undoes_id,
                undone=d.id in undone,
            )
        )
    return summaries
