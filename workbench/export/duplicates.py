"""One item per near-duplicate group.

Exact duplicates are stored once at import. Near-duplicate groups come from the noise detector's
flags (``noise_flags.detector == "near_duplicate"`` with ``evidence["group"]``); an item without
such a flag, or whose flag the lead answered with ``keep`` (not a duplicate), is its own group.
The kept item of a group is the one a standing ``keep_one`` decision of the lead names, else the
exportable member with the smallest id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.export.collect import ExportItem
from workbench.store.gold import undone_decision_ids
from workbench.store.schema import Decision, NoiseFlag

NEAR_DUPLICATE_DETECTOR = "near_duplicate"


def near_duplicate_groups(session: Session, project_id: int) -> dict[int, str]:
    """``{item_id: group key}`` for the items the near-duplicate detector grouped.

    The newest flag of an item wins (a later detector run regroups); a flag the lead answered with
    ``keep`` (not a duplicate) puts its item back on its own.
    """
    cleared = select(Decision.flag_id).where(
        Decision.project_id == project_id,
        Decision.action == "keep",
        Decision.flag_id.is_not(None),
        Decision.id.not_in(undone_decision_ids(project_id)),
    )
    rows = session.execute(
        select(NoiseFlag.item_id, NoiseFlag.evidence)
        .where(
            NoiseFlag.project_id == project_id,
            NoiseFlag.detector == NEAR_DUPLICATE_DETECTOR,
            NoiseFlag.id.not_in(cleared),
        )
        .order_by(NoiseFlag.id)
    )
    return {
        item_id: str(evidence["group"])
        for item_id, evidence in rows
        if isinstance(evidence, dict) and evidence.get("group") is not None
    }


def kept_by_lead(session: Session, project_id: int) -> set[int]:
    """Items named by a ``keep_one`` decision that no undo reverted."""
    return set(
        session.scalars(
            select(Decision.item_id).where(
                Decision.project_id == project_id,
                Decision.action == "keep_one",
                Decision.id.not_in(undone_decision_ids(project_id)),
            )
        )
    )


def one_per_group(
    items: Sequence[ExportItem], groups: dict[int, str], kept: set[int]
) -> tuple[list[ExportItem], list[int]]:
    """Keep one item of each group.

    Parameters
    ----------
    items : sequence of ExportItem
        Sorted by id.
    groups : dict
        ``{item_id: group key}``; items not in it are groups of their own.
    kept : set of int
        Items the lead chose to keep in their group.

    Returns
    -------
    kept_items : list of ExportItem
        In the order of ``items``.
    left_out : list of int
        Ids of the other members, ascending.
    """
    chosen: dict[str, int] = {}
    for item in items:  # ascending ids: the first member seen is the smallest
        group = groups.get(item.id)
        if group is not None and (group not in chosen or item.id in kept and chosen[group] not in kept):
            chosen[group] = item.id
    keep_ids = set(chosen.values())
    kept_items, left_out = [], []
    for item in items:
        if item.id in groups and item.id not in keep_ids:
            left_out.append(item.id)
        else:
            kept_items.append(item)
    return kept_items, left_out
