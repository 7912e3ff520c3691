"""The review queue: open noise flags grouped per item, most severe first, filtered and paginated.

One row per active item with open flags, holding all of them. Rows are sorted by severity (the
highest of the item's flags that match the filter), then by how many detectors flagged it, then
by id. Filters: detectors, flag severity, the item's gold label (``workbench.store.gold``, imported
labels included), its embedding-map cluster (``workbench.insight.clusters``), an annotator who
labeled it, and words of its text.

Filtering, grouping and sorting are one aggregate query over the open flags (about 20,000 on a
100,000-item project); the label and cluster filters and the page cut happen on its rows (one per
item) in Python; only the page's items, their flags and the items their evidence names are loaded
in full (``benchmarks/review_queue.py`` measures it).
Functions take a Session and never write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from workbench.export.duplicates import NEAR_DUPLICATE_DETECTOR
from workbench.insight.clusters import item_clusters
from workbench.noise.responses import prompt_and_response
from workbench.review.evidence import Explanation, Votes, explain
from workbench.store.gold import GoldLabel, gold_labels
from workbench.store.schema import Annotation, Decision, Item, ItemRevision, NoiseFlag, User

DEFAULT_PAGE_SIZE = 10
# Ids per IN (...) list: well below SQLite's and PostgreSQL's bind parameter limits.
_CHUNK = 5000


class QueueError(ValueError):
    """A queue request that cannot be answered (bad page, unknown annotator); the message says why."""


@dataclass(frozen=True)
class QueueFilter:
    """Which flagged items the queue shows.

    Attributes
    ----------
    detectors : tuple of str
        Only flags of these detectors (empty = every detector).
    min_severity, max_severity : float, optional
        Only flags with a severity in this range (inclusive).
    label : str, optional
        Only items whose gold label (imported labels included) is this one.
    cluster : int, optional
        Only items in this cluster of the project's embedding map.
    annotator : str, optional
        Only items this user (a username) labeled.
    search : str
        Case-insensitive words of the item's text (as imported); blank matches everything.
    """

    detectors: tuple[str, ...] = ()
    min_severity: float | None = None
    max_severity: float | None = None
    label: str | None = None
    cluster: int | None = None
    annotator: str | None = None
    search: str = ""


@dataclass(frozen=True)
class Match:
    """A matching item and its sort key: the highest severity of its matching flags, and how many
    detectors flagged it."""

    item_id: int
    severity: float
    n_detectors: int


@dataclass(frozen=True)
class FlagView:
    """One open flag as the lead reads it."""

    id: int
    detector: str
    severity: float
    explanation: Explanation


@dataclass(frozen=True)
class RelatedItem:
    """An item a flag's evidence names, as shown beside the flagged one."""

    id: int
    status: str
    label: GoldLabel | None
    prompt: str
    response: str | None


@dataclass(frozen=True)
class QueueRow:
    """A flagged item with everything the lead needs to decide.

    Attributes
    ----------
    item : Item
        Detached; ``item.sample`` is the imported sample.
    sample : dict
        The sample as last edited (the imported one if never edited).
    edited : bool
    label : GoldLabel or None
        Its gold label, imported labels included.
    severity : float
        The sort key: the highest severity of its matching flags.
    flags : list of FlagView
        All its open flags, most severe first.
    votes : list of (username, label)
    related : dict of int to RelatedItem
        The items its flags' evidence names.
    group : str or None
        Its near-duplicate group, when it has an open ``near_duplicate`` flag.
    """

    item: Item
    sample: dict[str, Any]
    edited: bool
    label: GoldLabel | None
    severity: float
    flags: list[FlagView]
    votes: list[tuple[str, str]]
    related: dict[int, RelatedItem]
    group: str | None

    @property
    def suggested_label(self) -> str | None:
        """The label the most severe flag that suggests one points to (None if none does)."""
        return next(
            (f.explanation.suggested_label for f in self.flags if f.explanation.suggested_label), None
        )


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    n_pages: int


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _conditions(session: Session, project_id: int, queue_filter: QueueFilter) -> list[ColumnElement[bool]]:
    # A subquery of the (few) dropped items: cheaper than joining every flag to its item.
    dropped = select(Item.id).where(Item.project_id == project_id, Item.status == "dropped")
    conditions: list[ColumnElement[bool]] = [
        NoiseFlag.project_id == project_id,
        NoiseFlag.status == "open",
        NoiseFlag.item_id.not_in(dropped),
    ]
    if queue_filter.detectors:
        conditions.append(NoiseFlag.detector.in_(list(queue_filter.detectors)))
    if queue_filter.min_severity is not None:
        conditions.append(NoiseFlag.severity >= queue_filter.min_severity)
    if queue_filter.max_severity is not None:
        conditions.append(NoiseFlag.severity <= queue_filter.max_severity)
    if queue_filter.annotator:
        user_id = session.scalar(select(User.id).where(User.username == queue_filter.annotator))
        if user_id is None:
            raise QueueError(f"no user named {queue_filter.annotator!r}")
        conditions.append(
            exists().where(Annotation.item_id == NoiseFlag.item_id, Annotation.user_id == user_id)
        )
    search = queue_filter.search.strip()
    if search:
        # autoescape: a typed % or _ is matched literally, not as a wildcard.
        # Correlated: only the flagged items' texts are read, not the whole project's.
        conditions.append(
            exists().where(Item.id == NoiseFlag.item_id, Item.text.icontains(search, autoescape=True))
        )
    if queue_filter.label is not None:
        # Only items that could have the label as gold label (imported, voted or relabeled so);
        # the exact gold label of these few is worked out afterwards.
        label = queue_filter.label
        conditions.append(
            or_(
                NoiseFlag.item_id.in_(
                    select(Item.id).where(Item.project_id == project_id, Item.imported_label == label)
                ),
                exists().where(Annotation.item_id == NoiseFlag.item_id, Annotation.label == label),
                exists().where(
                    Decision.item_id == NoiseFlag.item_id,
                    Decision.action == "relabel",
                    Decision.label == label,
                ),
            )
        )
    return conditions


def matching(session: Session, project_id: int, queue_filter: QueueFilter = QueueFilter()) -> list[Match]:
    """Every item the filter matches, in queue order.

    Raises
    ------
    QueueError
        For an annotator who does not exist.
    """
    severity = func.max(NoiseFlag.severity)
    n_detectors = func.count(func.distinct(NoiseFlag.detector))
    rows = session.execute(
        select(NoiseFlag.item_id, severity, n_detectors)
        .where(*_conditions(session, project_id, queue_filter))
        .group_by(NoiseFlag.item_id)
        .order_by(severity.desc(), n_detectors.desc(), NoiseFlag.item_id)
    ).all()
    keep = _python_filter(session, project_id, queue_filter, [row[0] for row in rows])
    return [Match(*row) for row in rows if keep is None or row[0] in keep]


def matching_flags(
    session: Session, project_id: int, queue_filter: QueueFilter = QueueFilter()
) -> dict[int, list[int]]:
    """The open flags the filter matches, per matching item (most severe first), in queue order.

    Raises
    ------
    QueueError
        For an annotator who does not exist.
    """
    flags: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(NoiseFlag.item_id, NoiseFlag.id)
        .where(*_conditions(session, project_id, queue_filter))
        .order_by(NoiseFlag.severity.desc(), NoiseFlag.id)
    )
    for item_id, flag_id in rows:
        flags[item_id].append(flag_id)
    return {m.item_id: flags[m.item_id] for m in matching(session, project_id, queue_filter)}


def _python_filter(
    session: Session, project_id: int, queue_filter: QueueFilter, item_ids: list[int]
) -> set[int] | None:
    """The items passing the label and cluster filters (None when neither is set)."""
    keep: set[int] | None = None
    if queue_filter.label is not None:
        keep = set()
        for chunk in _chunks(sorted(item_ids)):
            gold = gold_labels(session, project_id, include_imported=True, item_ids=chunk)
            keep.update(item_id for item_id, label in gold.items() if label.label == queue_filter.label)
    if queue_filter.cluster is not None:
        clusters = item_clusters(session, project_id)
        in_cluster = {item_id for item_id in item_ids if clusters.get(item_id) == queue_filter.cluster}
        keep = in_cluster if keep is None else keep & in_cluster
    return keep


def page_count(total: int, page_size: int) -> int:
    """Pages needed for ``total`` rows (at least 1, so an empty queue still has a page)."""
    return max(1, -(-total // page_size))


def queue_page(
    session: Session,
    project_id: int,
    queue_filter: QueueFilter = QueueFilter(),
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> QueuePage:
    """The ``page``-th (1-based) run of ``page_size`` rows; a page past the end is the last page.

    Raises
    ------
    QueueError
        If ``page`` or ``page_size`` is below 1, or for an unknown annotator.
    """
    if page < 1 or page_size < 1:
        raise QueueError(f"page and page_size must be at least 1, got {page} and {page_size}")
    matches = matching(session, project_id, queue_filter)
    n_pages = page_count(len(matches), page_size)
    page = min(page, n_pages)
    chosen = matches[(page - 1) * page_size : page * page_size]
    return QueuePage(load_rows(session, project_id, chosen), len(matches), page, n_pages)


def _current_samples(session: Session, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        select(ItemRevision.item_id, ItemRevision.sample)
        .where(ItemRevision.item_id.in_(item_ids))
        .order_by(ItemRevision.item_id, ItemRevision.revision)
    )
    return {item_id: sample for item_id, sample in rows}  # later revisions overwrite earlier ones


def _votes(session: Session, item_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    rows = session.execute(
        select(Annotation.item_id, User.username, Annotation.label)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id.in_(item_ids))
        .order_by(User.username)
    )
    votes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for item_id, username, label in rows:
        votes[item_id].append((username, label))
    return votes


def _prompt_and_response(item: Item, sample: dict[str, Any]) -> tuple[str, str | None]:
    parts = prompt_and_response(item.shape, sample)
    return (item.text, None) if parts is None else parts


def load_rows(session: Session, project_id: int, matches: Sequence[Match]) -> list[QueueRow]:
    """The full rows of ``matches`` (a page of them), in their order."""
    ids = [m.item_id for m in matches]
    if not ids:
        return []
    flags: dict[int, list[NoiseFlag]] = defaultdict(list)
    query = (
        select(NoiseFlag)
        .where(NoiseFlag.item_id.in_(ids), NoiseFlag.status == "open")
        .order_by(NoiseFlag.severity.desc(), NoiseFlag.id)
    )
    for flag in session.scalars(query):
        flags[flag.item_id].append(flag)
    votes = _votes(session, ids)
    explained = {
        item_id: [
            (flag, explain(flag.detector, flag.evidence, Votes(votes.get(item_id, [])))) for flag in found
        ]
        for item_id, found in flags.items()
    }
    related_ids = {r for found in explained.values() for _, e in found for r in e.related}
    every = sorted(set(ids) | related_ids)
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(every)))}
    samples = _current_samples(session, every)
    gold = gold_labels(session, project_id, include_imported=True, item_ids=every)
    related = {}
    for item_id in related_ids:
        item = items.get(item_id)
        if item is None or item.project_id != project_id:
            continue
        prompt, response = _prompt_and_response(item, samples.get(item_id, item.sample))
        related[item_id] = RelatedItem(item_id, item.status, gold.get(item_id), prompt, response)
    rows = []
    for match in matches:
        item = items[match.item_id]
        views = [FlagView(f.id, f.detector, f.severity, e) for f, e in explained.get(match.item_id, [])]
        near = [f for f, _ in explained.get(match.item_id, []) if f.detector == NEAR_DUPLICATE_DETECTOR]
        group = str(near[0].evidence.get("group")) if near else None
        mine = [r for view in views for r in view.explanation.related if r != item.id]
        rows.append(
            QueueRow(
                item=item,
                sample=samples.get(item.id, item.sample),
                edited=item.id in samples,
                label=gold.get(item.id),
                severity=match.severity,
                flags=views,
                votes=votes.get(item.id, []),
                related={r: related[r] for r in dict.fromkeys(mine) if r in related},  # evidence order
                group=group,
            )
        )
    return rows


def filter_choices(session: Session, project_id: int) -> dict[str, list[Any]]:
    """What the filters can offer: ``annotators`` (usernames who labeled in the project) and
    ``clusters`` (cluster numbers of the project's map; empty while no map was computed)."""
    annotators = list(
        session.scalars(
            select(User.username)
            .where(exists().where(Annotation.user_id == User.id, Annotation.project_id == project_id))
            .order_by(User.username)
        )
    )
    clusters = sorted(set(item_clusters(session, project_id).values()))
    return {"annotators": annotators, "clusters": clusters}


def open_counts(session: Session, project_id: int) -> dict[str, tuple[int, int]]:
    """``{detector: (open flags, items)}`` of the project's active items, most flags first."""
    rows = session.execute(
        select(NoiseFlag.detector, func.count(), func.count(func.distinct(NoiseFlag.item_id)))
        .where(*_conditions(session, project_id, QueueFilter()))
        .group_by(NoiseFlag.detector)
    )
    return dict(sorted(((d, (n, items)) for d, n, items in rows), key=lambda kv: (-kv[1][0], kv[0])))
