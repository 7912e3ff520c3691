"""Read-only figures and item pages for the overview: counts, label distribution, imports, samples.

Every figure is one SQL aggregate and every page of items one ``LIMIT``/``OFFSET`` query, so the
overview stays fast on projects with 100,000 items. Functions take a Session and never write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from collections import Counter

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from workbench.store.gold import gold_labels
from workbench.store.schema import ITEM_STATUSES, Annotation, Embedding, ImportBatch, Item, Project


@dataclass(frozen=True)
class ItemCounts:
    """How many items a project holds, by status."""

    active: int = 0
    dropped: int = 0

    @property
    def total(self) -> int:
        return self.active + self.dropped


@dataclass(frozen=True)
class ProjectStats:
    """The headline figures of one project.

    Attributes
    ----------
    items : ItemCounts
        Items by status.
    annotations : int
        Human annotations (one per item and annotator).
    annotated_items : int
        Items with at least one human annotation.
    embedded : int
        Active items whose normalized text has a cached embedding for the project's model.
    """

    items: ItemCounts
    annotations: int
    annotated_items: int
    embedded: int

    @property
    def embedded_share(self) -> float:
        """Share of active items with a cached embedding, in [0, 1] (0 for an empty project)."""
        return self.embedded / self.items.active if self.items.active else 0.0


class LabelChoice(Enum):
    """Imported-label filters that are not a label name."""

    ANY = "any"
    UNLABELED = "unlabeled"


@dataclass(frozen=True)
class ItemFilter:
    """Which items the sample browser shows.

    Attributes
    ----------
    search : str
        Case-insensitive substring of the normalized text; blank matches everything.
    label : str or LabelChoice
        An imported label name, ``LabelChoice.UNLABELED`` for items without one, or ``ANY``.
    status : str or None
        One of ``ITEM_STATUSES``, or None for every status.
    """

    search: str = ""
    label: str | LabelChoice = LabelChoice.ANY
    status: str | None = "active"

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in ITEM_STATUSES:
            raise ValueError(
                f"unknown item status {self.status!r}; choose one of: {', '.join(ITEM_STATUSES)}"
            )


def item_counts(session: Session) -> dict[int, ItemCounts]:
    """Items by status for every project with items, keyed by project id (one grouped query)."""
    rows = session.execute(
        select(Item.project_id, Item.status, func.count()).group_by(Item.project_id, Item.status)
    )
    by_project: dict[int, dict[str, int]] = {}
    for project_id, status, n in rows:
        by_project.setdefault(project_id, {})[status] = n
    return {project_id: ItemCounts(**counts) for project_id, counts in by_project.items()}


def project_stats(session: Session, project: Project) -> ProjectStats:
    """Item counts, annotation counts and embedding coverage of ``project``."""
    counts = dict(
        session.execute(
            select(Item.status, func.count())
            .where(Item.project_id == project.id)
            .group_by(Item.status)
        ).all()
    )
    n_annotations, n_annotated = session.execute(
        select(func.count(), func.count(func.distinct(Annotation.item_id))).where(
            Annotation.project_id == project.id
        )
    ).one()
    # embeddings' primary key is (model, content_hash), so the join matches at most one row per item.
    n_embedded = session.scalar(
        select(func.count())
        .select_from(Item)
        .join(
            Embedding,
            and_(
                Embedding.model == project.embedding_model,
                Embedding.content_hash == Item.content_hash,
            ),
        )
        .where(Item.project_id == project.id, Item.status == "active")
    )
    return ProjectStats(
        items=ItemCounts(**counts),
        annotations=n_annotations,
        annotated_items=n_annotated,
        embedded=n_embedded or 0,
    )


def imported_label_counts(session: Session, project_id: int) -> list[tuple[str | None, int]]:
    """``(imported label or None, active items)`` pairs, most frequent first, ties by name."""
    n = func.count().label("n")
    rows = session.execute(
        select(Item.imported_label, n)
        .where(Item.project_id == project_id, Item.status == "active")
        .group_by(Item.imported_label)
        .order_by(n.desc(), Item.imported_label)
    )
    return [(label, count) for label, count in rows]


def gold_label_counts(session: Session, project_id: int) -> list[tuple[str, str, int]]:
    """``(label, source, active items)`` of the items' gold labels, most frequent label first.

    ``source`` is where the label comes from (``workbench.store.gold.SOURCES``: the lead, the
    annotators' agreement, or the import), so the overview shows how much of the set people
    labeled. Items without a gold label are not counted.
    """
    counts = Counter((gold.label, gold.source) for gold in gold_labels(session, project_id, include_imported=True).values())
    per_label = Counter()
    for (label, _), n in counts.items():
        per_label[label] += n
    return sorted(
        ((label, source, n) for (label, source), n in counts.items()),
        key=lambda row: (-per_label[row[0]], row[0], row[1]),
    )


def recent_imports(session: Session, project_id: int, limit: int = 5) -> list[ImportBatch]:
    """The project's newest ``limit`` imports, newest first."""
    return list(
        session.scalars(
            select(ImportBatch)
            .where(ImportBatch.project_id == project_id)
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
            .limit(limit)
        )
    )


def _conditions(project_id: int, item_filter: ItemFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Item.project_id == project_id]
    if item_filter.status is not None:
        conditions.append(Item.status == item_filter.status)
    if item_filter.label is LabelChoice.UNLABELED:
        conditions.append(Item.imported_label.is_(None))
    elif isinstance(item_filter.label, str):
        conditions.append(Item.imported_label == item_filter.label)
    search = item_filter.search.strip()
    if search:
        # autoescape: a typed % or _ is matched literally, not as a wildcard.
        conditions.append(Item.text.icontains(search, autoescape=True))
    return conditions


def count_items(session: Session, project_id: int, item_filter: ItemFilter) -> int:
    """How many items of the project match ``item_filter``."""
    return session.scalar(
        select(func.count()).select_from(Item).where(*_conditions(project_id, item_filter))
    ) or 0


def page_count(n_items: int, page_size: int) -> int:
    """Pages needed for ``n_items`` (at least 1, so an empty result still has a page)."""
    return max(1, -(-n_items // page_size))


def items_page(
    session: Session, project_id: int, item_filter: ItemFilter, *, page: int, page_size: int
) -> list[Item]:
    """The ``page``-th (1-based) run of ``page_size`` matching items, in import order.

    Raises
    ------
    ValueError
        If ``page`` or ``page_size`` is below 1.
    """
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be at least 1, got {page} and {page_size}")
    return list(
        session.scalars(
            select(Item)
            .where(*_conditions(project_id, item_filter))
            .order_by(Item.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
