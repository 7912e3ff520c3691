"""Bulk decisions: one action for every item a queue filter matches, or for a duplicate group.

The requests are built here and applied by ``decisions.decide_many``: all or nothing, one batch,
undone together. A bulk ``keep`` answers only the flags the filter matched (keeping every
``short_output`` flag below 0.3 leaves an item's label issue open); the other actions answer all
of an item's open flags. A bulk ``keep_one`` keeps, in each near-duplicate group the filter
touches, its member with the smallest id (the one the export keeps anyway) and resolves the group.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from workbench.export.duplicates import near_duplicate_groups
from workbench.review.decisions import BULK_ACTIONS, DecisionError, DecisionRequest, Outcome, decide_many
from workbench.review.queue import QueueFilter, matching, matching_flags
from workbench.store.schema import Item, NoiseFlag


def _check(action: str) -> None:
    if action not in BULK_ACTIONS:
        raise DecisionError(f"{action!r} cannot be applied in bulk; bulk actions: {', '.join(BULK_ACTIONS)}")


def filter_requests(
    session: Session,
    project_id: int,
    queue_filter: QueueFilter,
    action: str,
    *,
    label: str | None = None,
    reason: str = "",
) -> list[DecisionRequest]:
    """The requests of a bulk ``action`` on every item ``queue_filter`` matches (queue order).

    Raises
    ------
    DecisionError
        For an action that cannot be applied in bulk, or when nothing matches.
    """
    _check(action)
    if action == "keep_one":
        groups = near_duplicate_groups(session, project_id)
        first: dict[str, int] = {}
        for match in matching(session, project_id, queue_filter):
            group = groups.get(match.item_id)
            if group is not None and (group not in first or match.item_id < first[group]):
                first[group] = match.item_id
        requests = [DecisionRequest(item_id, "keep_one", reason=reason) for item_id in sorted(first.values())]
    elif action == "keep":
        requests = [
            DecisionRequest(item_id, "keep", flag_ids=tuple(flag_ids), reason=reason)
            for item_id, flag_ids in matching_flags(session, project_id, queue_filter).items()
        ]
    else:
        requests = [
            DecisionRequest(m.item_id, action, label=label, reason=reason)
            for m in matching(session, project_id, queue_filter)
        ]
    if not requests:
        raise DecisionError(
            "no flagged item matches the filter"
            if action != "keep_one"
            else "no near-duplicate group matches the filter"
        )
    return requests


def group_requests(
    session: Session,
    project_id: int,
    item_id: int,
    action: str,
    *,
    label: str | None = None,
    reason: str = "",
) -> list[DecisionRequest]:
    """The requests of ``action`` on every member of the item's near-duplicate group.

    Members already dropped are left out, and for ``keep`` members without an open flag.

    Raises
    ------
    DecisionError
        If the item is in no group, or for ``keep_one`` (a decision on one item already) or an
        action that cannot be applied in bulk.
    """
    _check(action)
    if action == "keep_one":
        raise DecisionError("keep_one already decides for the whole group: use it on the member to keep")
    groups = near_duplicate_groups(session, project_id)
    if item_id not in groups:
        raise DecisionError(f"item {item_id} is in no near-duplicate group")
    members = [member for member, group in groups.items() if group == groups[item_id]]
    # Members dropped already, or (for keep) with no open flag left, have nothing to decide.
    query = select(Item.id).where(Item.id.in_(members), Item.status == "active")
    if action == "keep":
        query = query.where(exists().where(NoiseFlag.item_id == Item.id, NoiseFlag.status == "open"))
    return [
        DecisionRequest(member, action, label=label, reason=reason)
        for member in sorted(session.scalars(query))
    ]


def decide_filter(
    session: Session,
    project_id: int,
    user_id: int,
    queue_filter: QueueFilter,
    action: str,
    *,
    label: str | None = None,
    reason: str = "",
) -> Outcome:
    """Apply ``action`` to every item the filter matches, as one undoable batch."""
    requests = filter_requests(session, project_id, queue_filter, action, label=label, reason=reason)
    return decide_many(session, project_id, user_id, requests)


def decide_group(
    session: Session,
    project_id: int,
    user_id: int,
    item_id: int,
    action: str,
    *,
    label: str | None = None,
    reason: str = "",
) -> Outcome:
    """Apply ``action`` to every member of the item's near-duplicate group, as one batch."""
    requests = group_requests(session, project_id, item_id, action, label=label, reason=reason)
    return decide_many(session, project_id, user_id, requests)
