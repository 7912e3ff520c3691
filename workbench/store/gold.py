"""An item's gold label: what the scorer trains on and what gets exported.

Precedence: the lead's latest standing relabel decision, else the label the item's annotators
agree on (a strict plurality of their current labels), else, when asked, the label it was imported
with. Dropped items have no gold label. A tie between annotators leaves the item without an agreed
label until the lead adjudicates it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from workbench.store.schema import Annotation, Decision, Item

SOURCES = ("lead", "agreed", "imported")


@dataclass(frozen=True)
class GoldLabel:
    label: str
    source: str  # one of SOURCES


def human_votes(
    session: Session, project_id: int, *, item_ids: Collection[int] | None = None
) -> dict[int, Counter[str]]:
    """Current annotation labels per item: ``{item_id: Counter({label: n_annotators})}``
    (of ``item_ids`` only, when given)."""
    query = select(Annotation.item_id, Annotation.label, func.count()).where(Annotation.project_id == project_id)
    if item_ids is not None:
        query = query.where(Annotation.item_id.in_(list(item_ids)))
    rows = session.execute(query.group_by(Annotation.item_id, Annotation.label))
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    for item_id, label, n in rows:
        votes[item_id][label] = n
    return votes


def agreed_label(votes: Counter[str]) -> str | None:
    """The label with strictly the most votes, or None on a tie."""
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def undone_decision_ids(project_id: int) -> Select[tuple[int | None]]:
    """A subquery of the ids of the project's decisions that an undo reverted.

    A decision stands while its id is not in it; every reader of the lead's decisions (gold
    labels, export's duplicate groups, the review) filters with it.
    """
    return select(Decision.undoes_id).where(Decision.project_id == project_id, Decision.undoes_id.is_not(None))


def lead_relabels(
    session: Session, project_id: int, *, item_ids: Collection[int] | None = None
) -> dict[int, str]:
    """The label of each item's latest relabel decision that no undo reverted (of ``item_ids``
    only, when given)."""
    query = select(Decision.item_id, Decision.label).where(
        Decision.project_id == project_id,
        Decision.action == "relabel",
        Decision.id.not_in(undone_decision_ids(project_id)),
    )
    if item_ids is not None:
        query = query.where(Decision.item_id.in_(list(item_ids)))
    rows = session.execute(query.order_by(Decision.id))
    return {item_id: label for item_id, label in rows}  # later decisions overwrite earlier ones


def gold_labels(
    session: Session,
    project_id: int,
    *,
    include_imported: bool = False,
    item_ids: Collection[int] | None = None,
) -> dict[int, GoldLabel]:
    """Gold labels of the project's active items (of ``item_ids`` only, when given), keyed by item id."""
    query = select(Item.id, Item.imported_label).where(Item.project_id == project_id, Item.status == "active")
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    active = dict(session.execute(query).all())
    gold: dict[int, GoldLabel] = {}
    if include_imported:
        gold.update(
            (item_id, GoldLabel(label, "imported")) for item_id, label in active.items() if label is not None
        )
    for item_id, votes in human_votes(session, project_id, item_ids=item_ids).items():
        label = agreed_label(votes)
        if label is not None and item_id in active:
            gold[item_id] = GoldLabel(label, "agreed")
    for item_id, label in lead_relabels(session, project_id, item_ids=item_ids).items():
        if item_id in active:
            gold[item_id] = GoldLabel(label, "lead")
    return gold
