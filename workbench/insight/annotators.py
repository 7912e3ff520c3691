"""The lead's view of the annotators: throughput, time per item, agreement, and the lead's overturns.

Everything is computed from one read of the project's current annotations (``annotations``,
one per item and user) plus three small queries (the lead's relabels, skipped leases, annotator
flags); the arithmetic is numpy over those arrays.

Definitions (UTC throughout):

- **labels / today / this week**: the user's annotations, counted at the time they were first
  saved; today starts at 00:00 UTC, the week on Monday 00:00 UTC.
- **active hours**: an annotator's save times, sorted, split into work sessions wherever
  more than ``SESSION_GAP`` (15 min) passes between two saves. A session lasts from its first to
  its last save, plus the time the first item of the session took (its ``seconds_spent``, at most
  ``SESSION_GAP``), since work on it began before it was saved. Breaks longer than 15 min never
  count. **labels per active hour** = labels / active hours.
- **time per item**: median and 90th percentile of ``annotations.seconds_spent`` (summed over an
  annotation's revisions), ignoring zeros (time not measured, e.g. labels from a script).
- **skips**: leases the user gave back without a label, not counting those given back by
  flagging the item; **flags**: the user's ``annotator_flag`` noise flags.
- **agreement with the reference**: share of the user's labels on overlapped items (items another
  annotator labeled too) equal to the item's reference label. The reference is the lead's
  standing relabel decision (``gold.lead_relabels``) if there is one, else the strict plurality
  (``gold.agreed_label``) of the OTHER annotators' labels on the item: the user's own vote never
  counts toward their reference. Items without a reference (a tie among the others and no lead
  decision) are left out; ``agreement_n`` says how many counted. Items nobody else labeled are
  left out even when the lead relabeled them: the lead reviews the items the detectors flagged,
  so those relabels are mostly corrections and would make agreement look worse the more the
  lead reviews; they count in **overturned** instead.
- Items the lead dropped count too: a label given before the drop still says how the annotator
  worked.
- **overturned**: of the user's items with a standing lead relabel decision (``decided``), those
  where the lead's label differs from the user's. Keep, drop and edit decisions choose no label
  and do not count.
- **pairwise Cohen's kappa** over the items both annotators labeled, and **Fleiss' kappa** and
  **Krippendorff's alpha** over every item with two or more annotations (``overlapped_items``);
  see ``workbench.insight.agreement``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from workbench.insight.agreement import MISSING, Score, cohen_kappa_codes, fleiss_kappa, krippendorff_alpha
from workbench.store.gold import lead_relabels
from workbench.store.labeling import ANNOTATOR_FLAG, overlap_of
from workbench.store.schema import Annotation, Assignment, Item, NoiseFlag, Project, User

#: A pause longer than this between two saves ends a work session.
SESSION_GAP = timedelta(minutes=15)
HOUR = 3600
DAY = 24 * HOUR
#: Bootstrap resamples for the confidence intervals of Fleiss' kappa and alpha.
N_BOOT = 1000


@dataclass(frozen=True)
class AnnotationTable:
    """A project's current annotations as arrays; row i is one (item, user) annotation.

    Attributes
    ----------
    item_ids, user_ids : ndarray of int64, shape (n,)
    labels : ndarray of int64, shape (n,)
        Positions in ``categories``.
    categories : list of str
        The labels, the project's schema first, then any other label found (e.g. a label since
        removed from the schema, or one only the lead's relabels use).
    seconds : ndarray of float64, shape (n,)
        ``seconds_spent`` (0 when not measured).
    saved_at : ndarray of float64, shape (n,)
        When the annotation was first saved, POSIX seconds (UTC).
    """

    item_ids: np.ndarray
    user_ids: np.ndarray
    labels: np.ndarray
    categories: list[str]
    seconds: np.ndarray
    saved_at: np.ndarray


@dataclass(frozen=True)
class AnnotatorStats:
    """One annotator's figures in a project (definitions in the module docstring)."""

    user_id: int
    username: str
    labels: int
    labels_today: int
    labels_this_week: int
    sessions: int
    active_hours: float
    labels_per_hour: float | None  # None without active time
    median_seconds: float | None  # None without a measured item
    p90_seconds: float | None
    skips: int
    flags: int
    agreement: float | None  # None when no label has a reference
    agreement_n: int
    overturned: int
    decided: int

    @property
    def overturn_rate(self) -> float | None:
        """overturned / decided; None when the lead decided none of their items."""
        return self.overturned / self.decided if self.decided else None


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators over the items both labeled (``kappa.n_items``): Cohen's kappa, and
    ``observed``, the share of those items they gave the same label (None without any)."""

    user_a: str
    user_b: str
    kappa: Score
    observed: float | None


@dataclass(frozen=True)
class TimeBin:
    """Labels an annotator saved in the hour or day starting at ``start`` (UTC)."""

    username: str
    start: datetime
    labels: int


@dataclass(frozen=True)
class AgreementBin:
    """Of an annotator's labels saved on the day starting at ``start`` (UTC) that had a reference,
    ``n``, ``agreed`` matched it."""

    username: str
    start: datetime
    agreed: int
    n: int

    @property
    def share(self) -> float:
        return self.agreed / self.n


@dataclass(frozen=True)
class AnnotatorReport:
    """Everything the Annotators page and the ``agreement`` command show for one project.

    Attributes
    ----------
    overlap : int
        Annotations the project asks for per item (``projects.settings["overlap"]``).
    overlapped_items : int
        Items with two or more annotations: what Fleiss' kappa and alpha are computed on.
    categories : list of str
        The label order of ``confusion``.
    confusion : dict of str to ndarray of int, shape (n_categories, n_categories)
        Per annotator: ``[given, reference]`` counts over their labels that had a reference.
    seconds_per_item : dict of str to ndarray
        Each annotator's measured seconds per item (zeros left out), for a distribution chart.
    per_hour, per_day : list of TimeBin
        Labels per annotator and hour / day (bins with labels only).
    agreement_per_day : list of AgreementBin
        Agreement with the reference per annotator and day (days with a reference only).
    """

    project_id: int
    now: datetime
    overlap: int
    annotators: list[AnnotatorStats]
    pairs: list[PairAgreement]
    overlapped_items: int
    fleiss: Score
    alpha: Score
    categories: list[str] = field(repr=False)
    confusion: dict[str, np.ndarray] = field(repr=False)
    seconds_per_item: dict[str, np.ndarray] = field(repr=False)
    per_hour: list[TimeBin] = field(repr=False)
    per_day: list[TimeBin] = field(repr=False)
    agreement_per_day: list[AgreementBin] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the figures (with each annotator's top confusions) without the chart series."""
        return {
            "project_id": self.project_id,
            "now": self.now.isoformat(),
            "overlap": self.overlap,
            "overlapped_items": self.overlapped_items,
            "fleiss_kappa": asdict(self.fleiss),
            "krippendorff_alpha": asdict(self.alpha),
            "annotators": [
                {
                    **asdict(stats),
                    "overturn_rate": stats.overturn_rate,
                    "top_confusions": [asdict(c) for c in top_confusions(self, stats.username)],
                }
                for stats in self.annotators
            ],
            "pairs": [
                {
                    "user_a": pair.user_a,
                    "user_b": pair.user_b,
                    "observed": pair.observed,
                    **asdict(pair.kappa),
                }
                for pair in self.pairs
            ],
        }


@dataclass(frozen=True)
class Confusion:
    """An annotator gave ``given`` where the reference label was ``reference``, ``n`` times."""

    given: str
    reference: str
    n: int


def top_confusions(report: AnnotatorReport, username: str, k: int = 5) -> list[Confusion]:
    """The annotator's ``k`` most frequent disagreements with the reference, most frequent first
    (ties in label order)."""
    matrix = report.confusion[username].copy()
    np.fill_diagonal(matrix, 0)
    order = np.argsort(-matrix, axis=None, kind="stable")[:k]
    given, reference = np.unravel_index(order, matrix.shape)
    return [
        Confusion(report.categories[g], report.categories[r], int(matrix[g, r]))
        for g, r in zip(given.tolist(), reference.tolist(), strict=True)
        if matrix[g, r] > 0
    ]


def table_rows(report: AnnotatorReport) -> list[dict[str, Any]]:
    """The per-annotator table, one dict per annotator with display column names (in order) and
    raw values (None where undefined); the page and the command show the same columns."""
    return [
        {
            "annotator": stats.username,
            "labels": stats.labels,
            "today": stats.labels_today,
            "this week": stats.labels_this_week,
            "per active hour": stats.labels_per_hour,
            "active h": stats.active_hours,
            "median s": stats.median_seconds,
            "p90 s": stats.p90_seconds,
            "skips": stats.skips,
            "flags": stats.flags,
            "agreement": stats.agreement,
            "agreement n": stats.agreement_n,
            "overturned": stats.overturned,
            "lead decided": stats.decided,
            "overturn rate": stats.overturn_rate,
        }
        for stats in report.annotators
    ]


def load_annotations(
    session: Session, project: Project, extra_labels: Collection[str] = ()
) -> AnnotationTable:
    """The project's current annotations, ordered by user and save time; ``extra_labels`` joins
    the categories (e.g. the labels of the lead's relabels)."""
    rows = session.execute(
        select(
            Annotation.item_id,
            Annotation.user_id,
            Annotation.label,
            Annotation.seconds_spent,
            Annotation.created_at,
        )
        .where(Annotation.project_id == project.id)
        .order_by(Annotation.user_id, Annotation.created_at, Annotation.id)
    ).all()
    item_ids, user_ids, labels, seconds, saved = zip(*rows) if rows else ((), (), (), (), ())
    categories = list(project.label_names)
    known = set(categories)
    categories += sorted({label for label in (*labels, *extra_labels) if label not in known})
    position = {label: code for code, label in enumerate(categories)}
    return AnnotationTable(
        item_ids=np.array(item_ids, dtype=np.int64),
        user_ids=np.array(user_ids, dtype=np.int64),
        labels=np.array([position[label] for label in labels], dtype=np.int64),
        categories=categories,
        seconds=np.array(seconds, dtype=np.float64),
        saved_at=np.array([moment.timestamp() for moment in saved], dtype=np.float64),
    )


def work_sessions(
    user_ids: np.ndarray, saved_at: np.ndarray, seconds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Work sessions and active seconds per annotation row's user (rule in the module docstring).

    Parameters
    ----------
    user_ids, saved_at, seconds : ndarray, shape (n,)
        Sorted by user, then save time.

    Returns
    -------
    starts : ndarray of bool, shape (n,)
        True where a row opens a new session.
    active : ndarray of float64, shape (n,)
        The active seconds each row adds: the gap since the previous save within a session, or
        the item's own time (capped at ``SESSION_GAP``) for a session's first row. Summed per
        user this is their active time.
    """
    gap = SESSION_GAP.total_seconds()
    since_previous = np.diff(saved_at, prepend=-np.inf)
    starts = np.ones(len(user_ids), dtype=bool)
    starts[1:] = (user_ids[1:] != user_ids[:-1]) | (since_previous[1:] > gap)
    active = np.where(starts, np.minimum(seconds, gap), since_previous)
    return starts, active


def reference_labels(table: AnnotationTable, relabels: dict[int, str]) -> tuple[np.ndarray, np.ndarray]:
    """Each annotation's reference label (see the module docstring) and the lead's label.

    Returns
    -------
    reference : ndarray of int64, shape (n,)
        Category codes, ``MISSING`` where the annotation has no reference (nobody else labeled
        the item, or the others tie and the lead did not decide).
    lead : ndarray of int64, shape (n,)
        The code of the item's standing lead relabel, ``MISSING`` where there is none.
    """
    if not len(table.labels):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n_categories = len(table.categories)
    position = {label: code for code, label in enumerate(table.categories)}
    items, row_item = np.unique(table.item_ids, return_inverse=True)
    votes = np.bincount(row_item * n_categories + table.labels, minlength=len(items) * n_categories)
    others = votes.reshape(len(items), n_categories)[row_item]
    others[np.arange(len(table.labels)), table.labels] -= 1  # leave the annotator's own vote out
    top = others.argmax(axis=1)
    top_votes = others.max(axis=1, initial=0)
    # gold.agreed_label's rule: strictly the most votes, no tie.
    strict = (top_votes > 0) & ((others == top_votes[:, None]).sum(axis=1) == 1)
    overlapped = others.sum(axis=1) > 0
    lead_of_item = np.array(
        [position[relabels[item]] if item in relabels else MISSING for item in items.tolist()], dtype=np.int64
    )
    lead = lead_of_item[row_item]
    adjudicated = np.where(lead != MISSING, lead, np.where(strict, top, MISSING))
    reference = np.where(overlapped, adjudicated, MISSING)
    return reference, lead


def item_rater_matrix(table: AnnotationTable, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the overlapped items (two or more annotations) by annotator, and their counts.

    Returns
    -------
    codes : ndarray of int64, shape (n_overlapped, len(users))
        ``MISSING`` where the user did not label the item.
    counts : ndarray of int64, shape (n_overlapped, n_categories)
    """
    items, row_item, per_item = np.unique(table.item_ids, return_inverse=True, return_counts=True)
    overlapped = per_item >= 2
    keep = overlapped[row_item]
    dense = np.cumsum(overlapped) - 1  # item position -> overlapped row
    rows = dense[row_item[keep]]
    columns = np.searchsorted(users, table.user_ids[keep])
    codes = np.full((int(overlapped.sum()), len(users)), MISSING, dtype=np.int64)
    codes[rows, columns] = table.labels[keep]
    n_categories = len(table.categories)
    counts = np.bincount(
        rows * n_categories + table.labels[keep], minlength=len(codes) * n_categories
    ).reshape(len(codes), n_categories)
    return codes, counts


def _per_user_counts(session: Session, project_id: int) -> tuple[dict[int, int], dict[int, int]]:
    """Skips (not counting leases given back by a flag) and annotator flags per user id."""
    flagged_it = exists().where(
        NoiseFlag.item_id == Assignment.item_id,
        NoiseFlag.user_id == Assignment.user_id,
        NoiseFlag.detector == ANNOTATOR_FLAG,
    )
    skips = session.execute(
        select(Assignment.user_id, func.count())
        .where(Assignment.project_id == project_id, Assignment.status == "skipped", ~flagged_it)
        .group_by(Assignment.user_id)
    ).all()
    flags = session.execute(
        select(NoiseFlag.user_id, func.count())
        .where(and_(NoiseFlag.project_id == project_id, NoiseFlag.detector == ANNOTATOR_FLAG))
        .where(NoiseFlag.user_id.is_not(None))
        .group_by(NoiseFlag.user_id)
    ).all()
    return dict(skips), dict(flags)


def _binned(
    user_ids: np.ndarray, saved_at: np.ndarray, width: int, weights: np.ndarray | None = None
) -> list[tuple[int, datetime, int, float]]:
    """Rows per (user, time bin of ``width`` seconds): user id, bin start, rows, sum of weights."""
    users, user_position = np.unique(user_ids, return_inverse=True)
    n_users = max(len(users), 1)
    # One integer key per (bin, user): a 1-d unique is far faster than unique rows.
    keys, position, counts = np.unique(
        np.floor(saved_at / width).astype(np.int64) * n_users + user_position,
        return_inverse=True,
        return_counts=True,
    )
    sums = np.bincount(position, weights=weights, minlength=len(keys))
    return [
        (int(users[key % n_users]), datetime.fromtimestamp(key // n_users * width, UTC), n, total)
        for key, n, total in zip(keys.tolist(), counts.tolist(), sums.tolist(), strict=True)
    ]


def _time_bins(table: AnnotationTable, names: dict[int, str], width: int) -> list[TimeBin]:
    bins = _binned(table.user_ids, table.saved_at, width)
    return [TimeBin(names[user], start, n) for user, start, n, _ in bins]


def _agreement_bins(
    table: AnnotationTable, names: dict[int, str], reference: np.ndarray
) -> list[AgreementBin]:
    counted = reference != MISSING
    matches = (reference[counted] == table.labels[counted]).astype(np.float64)
    return [
        AgreementBin(names[user], start, int(agreed), n)
        for user, start, n, agreed in _binned(table.user_ids[counted], table.saved_at[counted], DAY, matches)
    ]


def _pair(name_a: str, name_b: str, a: np.ndarray, b: np.ndarray, n_categories: int) -> PairAgreement:
    both = (a != MISSING) & (b != MISSING)
    observed = float(np.mean(a[both] == b[both])) if both.any() else None
    return PairAgreement(name_a, name_b, cohen_kappa_codes(a, b, n_categories), observed)


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _annotator_stats(
    table: AnnotationTable,
    user_ids: np.ndarray,
    names: dict[int, str],
    reference: np.ndarray,
    lead: np.ndarray,
    seconds_per_item: dict[str, np.ndarray],
    skips: dict[int, int],
    flags: dict[int, int],
    now: datetime,
) -> list[AnnotatorStats]:
    """One row per user in ``user_ids`` (sorted); sums over each user's annotation rows."""
    row_user = np.searchsorted(user_ids, table.user_ids)

    def per_user(values: np.ndarray) -> np.ndarray:
        return np.bincount(row_user, weights=np.asarray(values, dtype=np.float64), minlength=len(user_ids))

    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    labels = per_user(np.ones(len(row_user)))
    labels_today = per_user(table.saved_at >= today.timestamp())
    labels_week = per_user(table.saved_at >= week.timestamp())
    starts, active = work_sessions(table.user_ids, table.saved_at, table.seconds)
    sessions, active_seconds = per_user(starts), per_user(active)
    has_reference = reference != MISSING
    agreement_n = per_user(has_reference)
    agreed = per_user(has_reference & (reference == table.labels))
    decided = per_user(lead != MISSING)
    overturned = per_user((lead != MISSING) & (lead != table.labels))

    rows = []
    for index, user in enumerate(user_ids.tolist()):
        hours = active_seconds[index] / HOUR
        spent = seconds_per_item[names[user]]
        rows.append(
            AnnotatorStats(
                user_id=user,
                username=names[user],
                labels=int(labels[index]),
                labels_today=int(labels_today[index]),
                labels_this_week=int(labels_week[index]),
                sessions=int(sessions[index]),
                active_hours=float(hours),
                labels_per_hour=float(labels[index] / hours) if hours > 0 else None,
                median_seconds=_percentile(spent, 50),
                p90_seconds=_percentile(spent, 90),
                skips=int(skips.get(user, 0)),
                flags=int(flags.get(user, 0)),
                agreement=float(agreed[index] / agreement_n[index]) if agreement_n[index] else None,
                agreement_n=int(agreement_n[index]),
                overturned=int(overturned[index]),
                decided=int(decided[index]),
            )
        )
    return rows


def _confusions(
    table: AnnotationTable, user_ids: np.ndarray, names: dict[int, str], reference: np.ndarray
) -> dict[str, np.ndarray]:
    """Per user, ``[given, reference]`` counts, shape (n_categories, n_categories)."""
    n_categories = len(table.categories)
    confusion = {}
    for user in user_ids.tolist():
        mine = (reference != MISSING) & (table.user_ids == user)
        cells = np.bincount(table.labels[mine] * n_categories + reference[mine], minlength=n_categories**2)
        confusion[names[user]] = cells.reshape(n_categories, n_categories)
    return confusion


def annotator_report(
    session: Session, project_id: int, *, now: datetime | None = None, n_boot: int = N_BOOT, seed: int = 0
) -> AnnotatorReport:
    """Per-annotator figures, pairwise Cohen's kappa and the project's Fleiss' kappa and alpha.

    Parameters
    ----------
    session : Session
        Read only; nothing is written.
    project_id : int
    now : datetime, optional
        The moment "today" and "this week" are relative to (default: now, UTC).
    n_boot : int
        Bootstrap resamples for the intervals of Fleiss' kappa and alpha (0: no interval).
    seed : int
        Seeds the bootstrap.

    Raises
    ------
    ValueError
        If there is no such project.
    """
    project = session.get(Project, project_id)
    if project is None:
        raise ValueError(f"no project with id {project_id}")
    now = now or datetime.now(UTC)
    relabels = lead_relabels(session, project_id)
    table = load_annotations(session, project, set(relabels.values()))
    skips, flags = _per_user_counts(session, project_id)

    user_ids = np.unique(np.concatenate([table.user_ids, list(skips), list(flags)]).astype(np.int64))
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids.tolist()))).all())
    reference, lead = reference_labels(table, relabels)
    measured = table.seconds > 0
    seconds_per_item = {
        names[user]: table.seconds[measured & (table.user_ids == user)] for user in user_ids.tolist()
    }
    annotators = _annotator_stats(
        table, user_ids, names, reference, lead, seconds_per_item, skips, flags, now
    )
    codes, counts = item_rater_matrix(table, user_ids)
    pairs = [
        _pair(names[user_ids[a]], names[user_ids[b]], codes[:, a], codes[:, b], len(table.categories))
        for a, b in combinations(range(len(user_ids)), 2)
    ]
    return AnnotatorReport(
        project_id=project_id,
        now=now,
        overlap=overlap_of(project),
        annotators=annotators,
        pairs=pairs,
        overlapped_items=len(counts),
        fleiss=fleiss_kappa(counts, n_boot=n_boot, seed=seed),
        alpha=krippendorff_alpha(counts, n_boot=n_boot, seed=seed),
        categories=table.categories,
        confusion=_confusions(table, user_ids, names, reference),
        seconds_per_item=seconds_per_item,
        per_hour=_time_bins(table, names, HOUR),
        per_day=_time_bins(table, names, DAY),
        agreement_per_day=_agreement_bins(table, names, reference),
    )


@dataclass(frozen=True)
class PairDisagreement:
    """An item two annotators labeled differently, with the lead's standing relabel if any."""

    item_id: int
    text: str
    label_a: str
    label_b: str
    lead_label: str | None


def pair_disagreements(
    session: Session, project_id: int, user_a: int, user_b: int, *, limit: int = 100
) -> tuple[int, list[PairDisagreement]]:
    """The items ``user_a`` and ``user_b`` both labeled, differently: how many, and the newest
    ``limit`` of them (by the later of their two saves)."""
    a, b = aliased(Annotation), aliased(Annotation)
    differ = (
        select(
            a.item_id,
            a.label.label("label_a"),
            b.label.label("label_b"),
            case((a.created_at > b.created_at, a.created_at), else_=b.created_at).label("latest"),
        )
        .join(b, and_(b.item_id == a.item_id, b.user_id == user_b))
        .where(a.project_id == project_id, a.user_id == user_a, a.label != b.label)
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(differ))
    rows = session.execute(
        select(Item.id, Item.text, differ.c.label_a, differ.c.label_b)
        .join(differ, differ.c.item_id == Item.id)
        .order_by(differ.c.latest.desc(), Item.id.desc())
        .limit(limit)
    ).all()
    relabels = lead_relabels(session, project_id)
    return total or 0, [
        PairDisagreement(item_id, text, label_a, label_b, relabels.get(item_id))
        for item_id, text, label_a, label_b in rows
    ]
