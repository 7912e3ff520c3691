"""Is the labeling effort paying off? The Learning page's numbers, per round of a project.

``learning_report(session, project_id)`` reads the rounds, their candidates and only the
predictions it needs, and returns:

- **the curve**: per round its number of training labels, cross-validated accuracy and macro-F1
  (``rounds.metrics["cv"]``) with the spread across folds (``metrics["cv_folds"]``; rounds from
  before it was stored have no spread), and the training label distribution;
- **held-out control accuracy**: the accuracy of round r's predictions on the labeled
  ``random_control`` items that round r did not train on, i.e. the control items selected in
  round r or later (all unlabeled when round r was trained). Why these and not out-of-fold
  predictions: the control items were drawn uniformly from the unlabeled pool, not chosen by the
  active sampler, so a model that never saw them is tested on a fair sample of the items it has
  to label; the round's stored predictions are exactly such a model, and reading them costs
  nothing, while out-of-fold predictions are not stored and would need every round refitted.
  (Items drawn in a later round r' were uniform over what was unlabeled at r', which lacks the
  items labeled between r and r', a small bias towards easier items; it buys a sample several
  times larger than round r's own few control picks.) The cross-validated figures, in contrast,
  are measured on actively chosen items, which are harder than the pool: they run low;
- **the random-sampling estimate**: what random sampling would have reached with each round's
  number of labels. The labeled control items are a random sample, so the scorer's learning
  curve on random subsets of them (``scorer.learning_curve``: train on a subset, test on the
  rest, fit ``acc(n) = a - b * n ** -c``) is random sampling's curve; each round measures it
  while its embeddings are in memory and stores it in ``metrics["random_curve"]``, and the
  latest round's fit is read at every round's label count, once it rests on
  ``MIN_ESTIMATE_LABELS`` control labels and up to ``MAX_EXTRAPOLATION`` times the largest measured
  size (``random_extrapolated`` beyond the measured sizes); on fewer labels the fit is too noisy
  to extrapolate (see the figures at ``MIN_ESTIMATE_LABELS``), and ``random_estimate_message`` says
  how many are needed. The measured points themselves exist from ``scorer.MIN_CURVE_LABELS``;
- **batches**: per round and sampler, the candidates it picked, how many got a human label, how
  many of those before the next round began (so the next round trained on them), and how many of
  those **changed the model's mind**: ``changed`` = the next round predicts a different label for
  the item than this round did; ``disagreed`` = the item's gold label differs from this round's
  prediction (the label told the model something it did not know). Both count over ``compared``:
  the items labeled before the next round that both rounds predicted and that have a gold label.
  The next round measures them when it is trained (``mind_changes``, stored in
  ``metrics["mind_changes"]``, with the gold labels of that moment); for older rounds the report
  reads the candidates' predicted labels;
- **stability and a stopping verdict** (Bloodgood & Vijay-Shanker 2009, "A method for stopping
  active learning based on stabilizing predictions"): Cohen's kappa between consecutive rounds'
  predicted labels on a fixed stop set of unlabeled items (``STOP_SET_SIZE`` items without a
  human label, chosen by a hash of the item id so the set barely moves as items are added). Each
  round measures it against the previous round while its predictions are in memory
  (``rounds.stop_set_kappa``, stored in ``metrics["stability"]``); for older rounds without it the
  report reads the stop set's predicted labels;
  stopping is suggested once kappa >= ``STABLE_KAPPA`` for ``STABLE_PAIRS`` consecutive pairs and the
  cross-validated accuracy of the last ``SLOPE_ROUNDS`` rounds rises by at most ``FLAT_SLOPE`` per
  100 labels.

Gold labels here are human ones (annotators' agreement or the lead's relabel); imported labels
do not count as labeled. Control items the scorer trained on through an imported label (when the
project trains on imported labels) are left out of the held-out accuracy.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.samplers import CONTROL_SAMPLER
from workbench.scorer import LearningCurve
from workbench.store.gold import gold_labels
from workbench.store.schema import Annotation, Candidate, Decision, Item, Prediction, Project, Round

#: Unlabeled items whose predictions are compared between rounds, whatever the pool size: at kappa
#: 0.99 the standard error of kappa on 2,000 items is about 0.002 (77 classes) to 0.005 (2 classes).
STOP_SET_SIZE = 2000
STABLE_KAPPA = 0.99
STABLE_PAIRS = 3
#: Rounds the slope of the curve is fitted over, and the rise per 100 labels below which it is flat.
SLOPE_ROUNDS = 3
FLAT_SLOPE = 0.005
#: The random-sampling fit is read at the rounds' label counts once it rests on this many labeled
#: control items, up to ``MAX_EXTRAPOLATION`` times its largest measured training size. Measured
#: (3 random control draws each, against random sampling's real test-split accuracy): on 64 control
#: labels the fit was off by -11 points on sst2 already at 1.5x (its tests use 13 items) and by
#: -16 on banking77 at 12x; on 200 control labels it stayed within 1-4 points up to 6x on both
#: (banking77 at 960 labels: 0.80 vs 0.84; sst2: 0.81 vs 0.79) and within 4 at 12x.
MIN_ESTIMATE_LABELS = 150
MAX_EXTRAPOLATION = 6.0
#: Rows per IN (...) list: well under SQLite's bound-parameter limit.
IN_CHUNK = 5000


@dataclass(frozen=True)
class Spread:
    """A figure's spread across cross-validation folds."""

    mean: float
    std: float
    low: float
    high: float


@dataclass(frozen=True)
class HeldOut:
    """Accuracy on labeled control items, with a 95% Wilson interval."""

    correct: int
    n: int
    accuracy: float
    low: float
    high: float


@dataclass(frozen=True)
class KappaPair:
    """Agreement of two consecutive rounds' predictions on the stop set."""

    from_round: int
    to_round: int
    kappa: float
    n_items: int
    changed: int  # stop-set items whose predicted label differs


@dataclass(frozen=True)
class RoundPoint:
    """One round on the curve.

    ``accuracy`` and ``macro_f1`` are the cross-validated figures (None for a round without a
    scorer, e.g. the cold start); ``*_spread`` None for rounds stored before fold figures were kept.
    """

    round_id: int
    number: int
    n_labels: int
    created_at: datetime
    trigger: str
    has_predictions: bool
    accuracy: float | None
    macro_f1: float | None
    accuracy_spread: Spread | None
    macro_f1_spread: Spread | None
    label_counts: dict[str, int]
    #: Kappa with the previous round, as measured by the worker when this round was trained.
    stability: KappaPair | None = None
    #: The previous round's batch as this round found it (``metrics["mind_changes"]``): ``{"round":
    #: number, "samplers": {sampler: {"labeled_before_next", "compared", "changed", "disagreed"}}}``.
    mind_changes: dict[str, Any] | None = None
    held_out: HeldOut | None = None
    random_estimate: float | None = None
    random_extrapolated: bool = False


@dataclass(frozen=True)
class SamplerBatch:
    """What one sampler's picks in one round became (see the module docstring for the counts)."""

    round_number: int
    sampler: str
    picked: int
    labeled: int
    labeled_before_next: int
    compared: int
    changed: int
    disagreed: int


@dataclass(frozen=True)
class Verdict:
    """The stopping suggestion: ``status`` is "stop", "continue" or "too early"."""

    status: str
    reason: str
    slope_per_100: float | None


@dataclass(frozen=True)
class LearningReport:
    rounds: list[RoundPoint]
    batches: list[SamplerBatch]
    random_curve: LearningCurve
    #: The round that measured ``random_curve`` (None if no round has).
    random_curve_round: int | None
    #: Why rounds have no random-sampling estimate ("" when they have one where it reaches).
    random_estimate_message: str
    stability: list[KappaPair]
    verdict: Verdict
    #: Seconds each part took (rounds, labels, candidates, predictions, batches and held-out, stability).
    timings: dict[str, float]


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``correct / n`` (sound for small n)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _spread(figure: dict[str, Any] | None) -> Spread | None:
    if not figure:
        return None
    return Spread(figure["mean"], figure["std"], figure["min"], figure["max"])


def round_points(session: Session, project_id: int) -> tuple[list[RoundPoint], LearningCurve, int | None]:
    """The project's finished rounds, oldest first, with their stored figures, and the random-sampling
    curve of the latest round that measured one (with that round's number)."""
    rows = session.execute(
        select(Round.id, Round.number, Round.n_labels, Round.created_at, Round.trigger, Round.classes, Round.metrics)
        .where(Round.project_id == project_id, Round.status == "done")
        .order_by(Round.number)
    )
    points = []
    curve, curve_round = LearningCurve(0, message="no round has measured it yet; the next round will"), None
    for round_id, number, n_labels, created_at, trigger, classes, metrics in rows:
        metrics = metrics or {}
        if metrics.get("random_curve"):
            curve, curve_round = LearningCurve(**metrics["random_curve"]), number
        cv = metrics.get("cv") or {}
        folds = metrics.get("cv_folds") or {}
        points.append(
            RoundPoint(
                round_id=round_id,
                number=number,
                n_labels=n_labels,
                created_at=created_at,
                trigger=trigger,
                has_predictions=bool(classes),
                accuracy=cv.get("accuracy"),
                macro_f1=cv.get("macro_f1"),
                accuracy_spread=_spread(folds.get("accuracy")),
                macro_f1_spread=_spread(folds.get("macro_f1")),
                label_counts=dict(metrics.get("label_counts") or {}),
                stability=KappaPair(**metrics["stability"]) if metrics.get("stability") else None,
                mind_changes=metrics.get("mind_changes"),
            )
        )
    return points, curve, curve_round


@dataclass(frozen=True)
class HumanLabels:
    """Items with a human label: when first labeled, and the gold label (absent on an annotator tie)."""

    first_at: dict[int, datetime]
    gold: dict[int, str]


def human_labels(session: Session, project_id: int, item_ids: Collection[int]) -> HumanLabels:
    """When each item first got a human label (annotation or lead relabel), and the gold label of
    ``item_ids`` (only those: the gold of every item would read the whole project)."""
    first_at: dict[int, datetime] = {}
    annotated = select(Annotation.item_id, func.min(Annotation.created_at)).where(
        Annotation.project_id == project_id
    ).group_by(Annotation.item_id)
    relabeled = select(Decision.item_id, func.min(Decision.created_at)).where(
        Decision.project_id == project_id, Decision.action == "relabel"
    ).group_by(Decision.item_id)
    for query in (annotated, relabeled):
        for item_id, at in session.execute(query):
            if item_id not in first_at or at < first_at[item_id]:
                first_at[item_id] = at
    wanted = sorted(set(item_ids) & first_at.keys())
    gold = {}
    for chunk in _chunks(wanted):
        found = gold_labels(session, project_id, include_imported=False, item_ids=chunk)
        gold.update((item_id, g.label) for item_id, g in found.items())
    return HumanLabels(first_at, gold)


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def predicted_labels(session: Session, wanted: dict[int, Collection[int]]) -> dict[int, dict[int, str]]:
    """``{round_id: {item_id: predicted label}}`` for just the items wanted of each round.

    Reads the ``predicted_label`` column through the (round_id, item_id) primary key, never the
    probability bytes: on a 100,000-item, 77-class project that is a few thousand short rows per
    round instead of 30 MB.
    """
    out: dict[int, dict[int, str]] = {}
    for round_id, item_ids in wanted.items():
        found = out.setdefault(round_id, {})
        for chunk in _chunks(sorted(item_ids)):
            rows = session.execute(
                select(Prediction.item_id, Prediction.predicted_label).where(
                    Prediction.round_id == round_id, Prediction.item_id.in_(chunk)
                )
            )
            found.update((item_id, label) for item_id, label in rows)
    return out


def mind_changes(
    items: Iterable[int],
    labels: HumanLabels,
    here: Mapping[int, str],
    there: Mapping[int, str],
    next_started: datetime,
) -> dict[str, int]:
    """How one sampler's picks in round r changed the model's mind by round r + 1.

    Parameters
    ----------
    items : the sampler's picks in round r
    here, there : predicted labels of round r and of round r + 1 (at least for ``items``)
    next_started : when round r + 1 took its snapshot: labels before it trained that round

    Returns
    -------
    dict
        ``labeled_before_next``; ``compared`` (of those, predicted by both rounds and with a gold
        label); ``changed`` (round r + 1 predicts another label than round r) and ``disagreed`` (the
        gold label is not round r's prediction), both among ``compared``.
    """
    in_time = [item for item in items if item in labels.first_at and labels.first_at[item] < next_started]
    compared = [item for item in in_time if item in here and item in there and item in labels.gold]
    return {
        "labeled_before_next": len(in_time),
        "compared": len(compared),
        "changed": sum(there[item] != here[item] for item in compared),
        "disagreed": sum(labels.gold[item] != here[item] for item in compared),
    }


def _batches_by_round(candidates: list[tuple[int, int, str]]) -> dict[int, dict[str, list[int]]]:
    by_round: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for round_id, item_id, sampler in candidates:
        by_round[round_id][sampler].append(item_id)
    return by_round


def _stored_mind_changes(point: RoundPoint, following: RoundPoint | None) -> dict[str, dict[str, int]] | None:
    """What round ``following`` measured about ``point``'s batch (``metrics["mind_changes"]``)."""
    stored = following.mind_changes if following is not None else None
    if stored is None or stored.get("round") != point.number:
        return None
    return stored["samplers"]


def sampler_batches(
    points: list[RoundPoint],
    candidates: list[tuple[int, int, str]],
    labels: HumanLabels,
    predictions: dict[int, dict[int, str]],
) -> list[SamplerBatch]:
    """Per round and sampler: picked, labeled, labeled before the next round, and mind changes.

    Mind changes are the next round's own measurement when it stored one, else computed from
    ``predictions``.

    Parameters
    ----------
    candidates : list of (round_id, item_id, sampler)
    predictions : ``predicted_labels`` of the rounds, for (at least) the candidate items of rounds
        whose mind changes were not stored.
    """
    by_round = _batches_by_round(candidates)
    batches = []
    for i, point in enumerate(points):
        following = points[i + 1] if i + 1 < len(points) else None
        stored = _stored_mind_changes(point, following) or {}
        for sampler, items in sorted(by_round.get(point.round_id, {}).items()):
            labeled = sum(item in labels.first_at for item in items)
            if following is None:
                counts = {"labeled_before_next": 0, "compared": 0, "changed": 0, "disagreed": 0}
            else:
                counts = mind_changes(
                    items, labels, predictions.get(point.round_id, {}), predictions.get(following.round_id, {}),
                    following.created_at,
                )
                counts.update({k: v for k, v in stored.get(sampler, {}).items() if k != "labeled_before_next"})
            batches.append(SamplerBatch(point.number, sampler, len(items), labeled, **counts))
    return batches


def rounds_needing_candidates(points: list[RoundPoint]) -> dict[int, set[int]]:
    """Round id -> ids of the rounds whose candidates' predictions it must give: a round and its
    next one, for every batch whose mind changes the next round did not store (older rounds)."""
    needed: dict[int, set[int]] = defaultdict(set)
    for i, point in enumerate(points[:-1]):
        following = points[i + 1]
        if _stored_mind_changes(point, following) is None:
            needed[point.round_id].add(point.round_id)
            needed[following.round_id].add(point.round_id)
    return needed


def held_out_accuracy(
    points: list[RoundPoint],
    control: dict[int, int],
    labels: HumanLabels,
    predictions: dict[int, dict[int, str]],
    trained_on_import: Collection[int] = (),
) -> dict[int, HeldOut]:
    """Per round id: accuracy of its predictions on the labeled control items it did not train on.

    Parameters
    ----------
    control : dict of item id to the number of the round that selected it as a control item
    trained_on_import : item ids the scorer trained on through an imported label (left out)
    """
    out = {}
    for point in points:
        here = predictions.get(point.round_id, {})
        items = [
            item
            for item, picked_in in control.items()
            if picked_in >= point.number and item in labels.gold and item in here and item not in trained_on_import
        ]
        if items:
            correct = sum(here[item] == labels.gold[item] for item in items)
            low, high = wilson(correct, len(items))
            out[point.round_id] = HeldOut(correct, len(items), correct / len(items), low, high)
    return out


def stop_set(item_ids: np.ndarray, size: int = STOP_SET_SIZE) -> np.ndarray:
    """A fixed pseudo-random subset of ``item_ids``: the ``size`` smallest multiplicative hashes.

    Deterministic and stable: adding or labeling other items never reshuffles the rest.
    """
    item_ids = np.asarray(item_ids, dtype=np.int64)
    keys = (item_ids.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    if len(item_ids) <= size:
        return np.sort(item_ids)
    return np.sort(item_ids[np.argpartition(keys, size)[:size]])


def cohen_kappa(first: np.ndarray, second: np.ndarray) -> float:
    """Cohen's kappa of two label arrays of shape (n,): agreement beyond what chance gives.

    The same figure as ``sklearn.metrics.cohen_kappa_score``, from one ``bincount`` without its
    input validation and label re-encoding. Identical constant arrays, where kappa is 0/0, agree
    completely: 1.
    """
    labels, codes = np.unique(np.concatenate([first, second]), return_inverse=True)
    k, n = len(labels), len(first)
    confusion = np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k) / n
    observed = float(np.trace(confusion))
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0))
    if expected >= 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)


def compare_predictions(
    before: int, after: int, first: Mapping[int, str], second: Mapping[int, str], stop_items: Iterable[int]
) -> KappaPair | None:
    """Kappa of round ``before``'s and round ``after``'s predicted labels on the stop-set items both
    predicted (None if there is none)."""
    common = [int(i) for i in stop_items if int(i) in first and int(i) in second]
    if not common:
        return None
    a = np.array([first[i] for i in common])
    b = np.array([second[i] for i in common])
    return KappaPair(before, after, cohen_kappa(a, b), len(common), int((a != b).sum()))


def stability(
    points: list[RoundPoint], predictions: dict[int, dict[int, str]], stop_items: Iterable[int]
) -> list[KappaPair]:
    """Kappa between each pair of consecutive rounds with predictions: as the later round stored it
    (``metrics["stability"]``, measured by the worker), else from ``predictions`` on ``stop_items``."""
    stop_items = list(stop_items)
    predicted = [p for p in points if p.has_predictions]
    pairs = []
    for before, after in zip(predicted, predicted[1:]):
        stored = after.stability
        if stored is not None and stored.from_round == before.number:
            pairs.append(stored)
            continue
        pair = compare_predictions(
            before.number, after.number, predictions.get(before.round_id, {}), predictions.get(after.round_id, {}),
            stop_items,
        )
        if pair is not None:
            pairs.append(pair)
    return pairs


def rounds_needing_stop_set(points: list[RoundPoint]) -> set[int]:
    """Ids of the rounds whose stop-set predictions must be read: both sides of every consecutive
    pair the later round did not measure (rounds from before the worker stored it)."""
    predicted = [p for p in points if p.has_predictions]
    needed = set()
    for before, after in zip(predicted, predicted[1:]):
        if after.stability is None or after.stability.from_round != before.number:
            needed |= {before.round_id, after.round_id}
    return needed


def curve_slope(points: list[RoundPoint], rounds: int = SLOPE_ROUNDS) -> float | None:
    """Least-squares rise of cross-validated accuracy per 100 labels over the last ``rounds`` rounds."""
    scored = [p for p in points if p.accuracy is not None][-rounds:]
    n = np.array([p.n_labels for p in scored], dtype=np.float64)
    if len(scored) < 2 or np.ptp(n) == 0:
        return None
    return float(np.polyfit(n, [p.accuracy for p in scored], 1)[0] * 100)


def stopping_verdict(pairs: list[KappaPair], slope_per_100: float | None) -> Verdict:
    """Suggest stopping when predictions have stabilized and the curve has flattened."""
    if len(pairs) < STABLE_PAIRS:
        have = f"{len(pairs)} comparison{'s' if len(pairs) != 1 else ''}"
        return Verdict(
            "too early",
            f"Too early to tell: stopping is judged from {STABLE_PAIRS} consecutive comparisons of rounds' "
            f"predictions, and there {'is' if len(pairs) == 1 else 'are'} {have} so far. Keep labeling.",
            slope_per_100,
        )
    last = pairs[-STABLE_PAIRS:]
    kappas = ", ".join(f"{p.kappa:.3f}" for p in last)
    rounds = f"rounds {last[0].from_round}-{last[-1].to_round}"
    slope = "" if slope_per_100 is None else f"{slope_per_100 * 100:+.1f} accuracy points per 100 labels"
    if all(p.kappa >= STABLE_KAPPA for p in last):
        if slope_per_100 is not None and slope_per_100 > FLAT_SLOPE:
            return Verdict(
                "continue",
                f"Predictions have stabilized (kappa {kappas} across {rounds}), but the curve still rises "
                f"({slope} over the last rounds): more labels still pay a little.",
                slope_per_100,
            )
        flat = f" and the curve is flat ({slope} over the last rounds)" if slope else ""
        return Verdict(
            "stop",
            f"Consider stopping: the model's predictions on {last[-1].n_items:,} unlabeled items have stopped "
            f"changing (kappa between consecutive rounds {kappas} across {rounds}, all >= {STABLE_KAPPA}){flat}. "
            f"More labels are unlikely to change the model much.",
            slope_per_100,
        )
    latest = pairs[-1]
    return Verdict(
        "continue",
        f"Keep labeling: the model still changes its mind. Between rounds {latest.from_round} and "
        f"{latest.to_round}, {latest.changed:,} of {latest.n_items:,} unlabeled items got a different "
        f"prediction (kappa {latest.kappa:.3f}; stopping is suggested at >= {STABLE_KAPPA} for {STABLE_PAIRS} "
        f"rounds in a row)" + (f"; the curve moves {slope} over the last rounds." if slope else "."),
        slope_per_100,
    )


def learning_report(session: Session, project_id: int) -> LearningReport:
    """Everything the Learning page shows for one project (see the module docstring)."""
    timings: dict[str, float] = {}

    def lap(part: str, started: float) -> float:
        now = time.perf_counter()
        timings[part] = round(now - started, 4)
        return now

    started = time.perf_counter()
    project = session.get(Project, project_id)
    points, curve, curve_round = round_points(session, project_id)
    started = lap("rounds", started)
    candidates: list[tuple[int, int, str]] = []
    for chunk in _chunks([p.round_id for p in points]):
        candidates += session.execute(
            select(Candidate.round_id, Candidate.item_id, Candidate.sampler).where(Candidate.round_id.in_(chunk))
        ).all()
    number_of = {p.round_id: p.number for p in points}
    picked: dict[int, set[int]] = defaultdict(set)
    control: dict[int, int] = {}
    for round_id, item_id, sampler in candidates:
        picked[round_id].add(item_id)
        if sampler == CONTROL_SAMPLER:
            control[item_id] = number_of[round_id]
    started = lap("candidates", started)
    labels = human_labels(session, project_id, {item_id for _, item_id, _ in candidates})
    started = lap("labels", started)

    # The stop set is read only for rounds whose kappa the worker did not store (older rounds).
    stop_rounds = rounds_needing_stop_set(points)
    stop_items: set[int] = set()
    if stop_rounds:
        active = np.fromiter(
            session.scalars(select(Item.id).where(Item.project_id == project_id, Item.status == "active")),
            dtype=np.int64,
        )
        labeled = np.fromiter(labels.first_at, dtype=np.int64, count=len(labels.first_at))
        stop_items = {int(i) for i in stop_set(active[~np.isin(active, labeled)])}
    predictions = predicted_labels(session, _predictions_needed(points, picked, control, stop_items, stop_rounds))
    started = lap("predictions", started)

    batches = sampler_batches(points, candidates, labels, predictions)
    imported: set[int] = set()
    if (project.settings or {}).get("train_on_imported_labels", True):
        for chunk in _chunks(sorted(control)):
            imported.update(
                session.scalars(select(Item.id).where(Item.id.in_(chunk), Item.imported_label.is_not(None)))
            )
    held_out = held_out_accuracy(points, control, labels, predictions, imported)
    started = lap("batches and held-out", started)

    pairs = stability(points, predictions, sorted(stop_items))
    verdict = stopping_verdict(pairs, curve_slope(points))
    lap("stability", started)

    points, estimate_message = _with_estimates(points, held_out, curve)
    return LearningReport(points, batches, curve, curve_round, estimate_message, pairs, verdict, timings)


def _predictions_needed(
    points: list[RoundPoint],
    picked: dict[int, set[int]],
    control: dict[int, int],
    stop_items: set[int],
    stop_rounds: set[int],
) -> dict[int, set[int]]:
    """Per round with predictions, the items whose predicted labels the report reads: the control
    items it did not train on (held-out accuracy), the candidates of batches whose mind changes
    were not stored, and the stop set for rounds whose kappa was not stored."""
    candidate_rounds = rounds_needing_candidates(points)
    wanted = {}
    for point in points:
        if point.has_predictions:
            stop = stop_items if point.round_id in stop_rounds else set()
            held_out_items = {item for item, picked_in in control.items() if picked_in >= point.number}
            batch_items = set().union(*(picked[r] for r in candidate_rounds.get(point.round_id, ())))
            wanted[point.round_id] = stop | held_out_items | batch_items
    return wanted


def _with_estimates(
    points: list[RoundPoint], held_out: dict[int, HeldOut], curve: LearningCurve
) -> tuple[list[RoundPoint], str]:
    """The points with their held-out accuracy and random-sampling estimate, and why rounds have
    no estimate ("" when the curve is reliable enough to read)."""
    reliable = curve.params is not None and curve.n_labels >= MIN_ESTIMATE_LABELS
    reach = MAX_EXTRAPOLATION * curve.largest_size if reliable else 0
    if curve.params is None:
        message = curve.message
    elif not reliable:
        message = f"not enough control labels yet ({curve.n_labels} of {MIN_ESTIMATE_LABELS} needed)"
    else:
        message = ""
    points = [
        replace(
            p,
            held_out=held_out.get(p.round_id),
            random_estimate=curve.at(p.n_labels) if p.n_labels <= reach else None,
            random_extrapolated=curve.params is not None and curve.largest_size < p.n_labels <= reach,
        )
        for p in points
    ]
    return points, message
