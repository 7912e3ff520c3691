"""Active-learning rounds in the app: retrain the scorer, rescore the pool, select the next batch.

A round reads the project's embeddings and gold labels, computes everything in memory, saves the
scorer artefact (atomically), and then writes the round, every item's prediction and the selected
candidates in one transaction. A worker killed anywhere before that commit leaves no trace in the
database; the job is retried. The worker also schedules rounds: when enough labels arrived since
the last round, or when a project has embeddings but no round yet (the cold start).

Besides the cross-validated evaluation, a round stores in ``metrics`` what the Learning page
(``workbench.insight.learning``) would otherwise recompute on every view: each fold's figures
(``cv_folds``), random sampling's learning curve on the labeled random control items
(``random_curve``), the kappa of its predictions with the previous round's on the stop set
(``stability``), and how the previous batch's labeled picks changed its mind (``mind_changes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from workbench.embed import TextEncoder, embed_project, load_embeddings
# The Learning page's stability and mind-change figures; computed here, where the new predictions are.
from workbench.insight.learning import (
    HumanLabels,
    compare_predictions,
    human_labels,
    mind_changes,
    predicted_labels,
    stop_set,
)
from workbench.samplers import (
    CONTROL_SAMPLER,
    DEFAULT_BUDGET,
    DEFAULT_CONTROL_SHARE,
    DEFAULT_SAMPLER,
    EmptyPoolError,
    SamplerContext,
    Selection,
    pool_errors,
    sampler_spec,
    with_control,
)
from workbench.scorer import (
    LearningCurve,
    Scorer,
    cv_folds,
    evaluate,
    fold_spread,
    learning_curve,
    out_of_fold_probas,
    save_scorer,
)
from workbench.store import jobs
from workbench.store.engine import Database
from workbench.store.gold import gold_labels
from workbench.store.schema import (
    Annotation,
    Candidate,
    Decision,
    Embedding,
    Item,
    Job,
    Prediction,
    Project,
    Round,
    utcnow,
)
from workbench.store.scored_rounds import latest_scored_round

ROUND_JOB = "round"
#: Cross-validation folds of each round's evaluation (``metrics["cv"]`` and ``metrics["cv_folds"]``).
CV_FOLDS = 5
#: Metadata fields whose values become error-rate slices when items carry them.
DEFAULT_SLICE_FIELDS = ("source", "language")


class RoundSettingsError(ValueError):
    """A project's round settings that cannot work; the message names the setting."""


@dataclass(frozen=True)
class RoundSettings:
    """A project's active-learning knobs (``projects.settings``), with defaults.

    Attributes
    ----------
    sampler : str
        Registered sampler choosing each batch (default ``hybrid``).
    batch_size : int
        Candidates a round puts in the labeling queue.
    round_threshold : int
        New or changed human labels since the last round that start the next one.
    budget : mapping of str to float, optional
        The hybrid sampler's split, e.g. ``{"diverse_margin_wide": 0.8, "error_rate": 0.2}`` (the default).
    control_share : float
        Share of each hybrid batch kept for uniformly random picks (sampler ``random_control``,
        at least one in a batch of 10 or more), from 0 (off) to 0.5: the unbiased sample the
        Learning page estimates random sampling and the scorer's accuracy from.
    train_on_imported_labels : bool
        Whether labels that came with the import train the scorer where no human label exists.
    slice_fields : tuple of str
        Metadata fields the error-rate sampler groups by.
    seed : int
        Base seed; round n uses ``seed + n`` so rounds differ but replays are identical.
    """

    sampler: str = DEFAULT_SAMPLER
    batch_size: int = 50
    round_threshold: int = 20
    budget: Mapping[str, float] | None = None
    control_share: float = DEFAULT_CONTROL_SHARE
    train_on_imported_labels: bool = True
    slice_fields: tuple[str, ...] = DEFAULT_SLICE_FIELDS
    seed: int = 0

    @classmethod
    def of(cls, project: Project) -> RoundSettings:
        raw = project.settings or {}
        settings = cls(
            sampler=raw.get("sampler", cls.sampler),
            batch_size=int(raw.get("batch_size", cls.batch_size)),
            round_threshold=int(raw.get("round_threshold", cls.round_threshold)),
            budget=raw.get("budget"),
            control_share=raw.get("control_share", cls.control_share),
            train_on_imported_labels=bool(raw.get("train_on_imported_labels", cls.train_on_imported_labels)),
            slice_fields=tuple(raw.get("slice_fields", DEFAULT_SLICE_FIELDS)),
            seed=int(raw.get("seed", cls.seed)),
        )
        try:
            sampler_spec(settings.sampler)
        except KeyError as exc:
            raise RoundSettingsError(f"project {project.name!r}: setting 'sampler': {exc}") from None
        if settings.batch_size < 1 or settings.round_threshold < 1:
            raise RoundSettingsError(
                f"project {project.name!r}: 'batch_size' and 'round_threshold' must be at least 1"
            )
        try:
            settings.sampler_budget()
        except ValueError as exc:
            raise RoundSettingsError(f"project {project.name!r}: setting 'control_share': {exc}") from None
        return settings

    def sampler_budget(self) -> dict[str, float]:
        """The hybrid's budget with the random control slice (``control_share``) added.

        Raises
        ------
        ValueError
            For a control share out of range or not a number.
        """
        return with_control(self.budget or DEFAULT_BUDGET, self.control_share)


@dataclass(frozen=True)
class PoolSnapshot:
    """What a round learns from, read in one transaction.

    Attributes
    ----------
    item_ids : np.ndarray, shape (n,), int64
        Active items with a cached embedding, ascending.
    embeddings : np.ndarray, shape (n, d), float32
    gold : np.ndarray, shape (n,), object
        Gold label per item, None where there is none.
    reviewed : np.ndarray, shape (n,), bool
        Items a person already labeled or decided on: never selected again.
    slices : dict of str to np.ndarray of shape (n,)
        Metadata values per slice field (None where absent).
    control : np.ndarray, shape (n,), bool, optional
        Items an earlier round picked as random control items (a uniform sample of the pool).
    """

    item_ids: np.ndarray
    embeddings: np.ndarray
    gold: np.ndarray
    reviewed: np.ndarray
    slices: dict[str, np.ndarray]
    control: np.ndarray | None = None


@dataclass(frozen=True)
class RoundOutcome:
    round_id: int
    number: int
    n_labels: int
    n_candidates: int
    sampler: str
    metrics: dict[str, Any]


def read_pool(session: Session, project: Project, settings: RoundSettings) -> PoolSnapshot:
    """The project's embedded active items with their gold labels, review state and slices."""
    item_ids, embeddings = load_embeddings(session, project.id, project.embedding_model)
    position = {int(item_id): i for i, item_id in enumerate(item_ids)}
    gold = np.full(len(item_ids), None, dtype=object)
    for item_id, label in gold_labels(
        session, project.id, include_imported=settings.train_on_imported_labels
    ).items():
        if item_id in position:
            gold[position[item_id]] = label.label
    reviewed = np.zeros(len(item_ids), dtype=bool)
    touched = select(Annotation.item_id).where(Annotation.project_id == project.id).union(
        select(Decision.item_id).where(Decision.project_id == project.id)
    )
    for item_id in session.scalars(touched):
        if item_id in position:
            reviewed[position[item_id]] = True
    slices = {field: np.full(len(item_ids), None, dtype=object) for field in settings.slice_fields}
    if slices:
        active = (Item.project_id == project.id) & (Item.status == "active")
        rows = session.execute(select(Item.id, Item.meta).where(active))
        for item_id, meta in rows:
            at = position.get(item_id)
            if at is not None and meta:
                for field, values in slices.items():
                    value = meta.get(field)
                    values[at] = None if value is None else str(value)
    slices = {field: values for field, values in slices.items() if any(v is not None for v in values)}
    control = np.isin(item_ids, np.fromiter(session.scalars(
        select(Candidate.item_id).join(Round, Round.id == Candidate.round_id)
        .where(Round.project_id == project.id, Candidate.sampler == CONTROL_SAMPLER)
    ), dtype=np.int64))
    return PoolSnapshot(item_ids, embeddings, gold, reviewed, slices, control)


@dataclass(frozen=True)
class TrainedRound:
    """A round computed in memory: what gets written if all goes well."""

    scorer: Scorer | None
    probas: np.ndarray | None  # (n, n_classes) float32, columns in scorer.classes_ order
    metrics: dict[str, Any]
    sampler: str
    selection: Selection | None


def train_and_select(
    pool: PoolSnapshot, settings: RoundSettings, *, seed: int, template: Scorer | None = None
) -> TrainedRound:
    """Fit the scorer on the gold labels, evaluate it out of fold, score the pool, pick the batch.

    With fewer than two labeled classes there is no scorer: the sampler gets no probabilities and
    falls back to diversity (the cold start).
    """
    template = template if template is not None else Scorer()
    spec = sampler_spec(settings.sampler)
    trained = np.flatnonzero(pool.gold != None)  # noqa: E711  (elementwise on an object array)
    y = pool.gold[trained].astype(str)
    classes, counts = np.unique(y, return_counts=True)
    metrics: dict[str, Any] = {
        "n_train": int(len(trained)),
        "label_counts": {str(c): int(n) for c, n in zip(classes, counts)},
        "n_pool": int(len(pool.item_ids)),
        "n_unreviewed": int((~pool.reviewed).sum()),
    }
    scorer = probas = None
    budget = settings.sampler_budget()
    context = SamplerContext(slices=pool.slices, budget=budget)
    started = time.perf_counter()
    if len(classes) >= 2:
        X_train = pool.embeddings[trained]
        scorer = sklearn.clone(template).fit(X_train, y)
        oof = out_of_fold_probas(template, X_train, y, n_folds=CV_FOLDS, seed=seed)
        metrics["cv"] = evaluate(y, oof, scorer.classes_).to_dict()
        metrics["cv_folds"] = fold_spread(y, oof, scorer.classes_, cv_folds(y, CV_FOLDS, seed))
        probas = scorer.predict_proba(pool.embeddings)
        context = SamplerContext(
            oof_error=pool_errors(len(pool.item_ids), trained, oof, scorer.classes_, y),
            slices=pool.slices,
            budget=budget,
        )
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    metrics["random_curve"] = random_sampling_curve(pool, template, seed).to_dict()
    metrics["curve_seconds"] = round(time.perf_counter() - started, 3)
    selection = None
    started = time.perf_counter()
    try:
        selection = spec.fn(
            probas, pool.embeddings, pool.reviewed, settings.batch_size,
            rng=np.random.default_rng(seed), context=context,
        )
    except EmptyPoolError:
        pass  # everything is reviewed: the round still records the retrained scorer
    metrics["select_seconds"] = round(time.perf_counter() - started, 3)
    return TrainedRound(scorer, probas, metrics, settings.sampler, selection)


def random_sampling_curve(pool: PoolSnapshot, template: Scorer, seed: int) -> LearningCurve:
    """What random sampling reaches with n labels, measured on the labeled random control items.

    Computed here, where the embeddings are in memory already, and stored in the round's metrics,
    so the Learning page reads it instead of refitting the scorer a dozen times per view.
    """
    labeled_control = np.flatnonzero(
        (pool.control if pool.control is not None else np.zeros(len(pool.gold), bool)) & (pool.gold != None)  # noqa: E711
    )
    return learning_curve(
        pool.embeddings[labeled_control], pool.gold[labeled_control].astype(str), seed=seed, template=template
    )


@dataclass(frozen=True)
class StopSetPredictions:
    """The latest earlier round's predicted labels on the stop set (see ``insight.learning``)."""

    number: int
    labels: dict[int, str]
    item_ids: np.ndarray  # (STOP_SET_SIZE,) int64, ascending


def previous_stop_set_predictions(session: Session, project_id: int, pool: PoolSnapshot) -> StopSetPredictions | None:
    """What the latest round with a scorer predicted for the stop set: the ``STOP_SET_SIZE``
    hash-chosen items nobody has labeled yet (None before the first scored round)."""
    latest = latest_scored_round(session, project_id)
    if latest is None:
        return None
    item_ids = stop_set(pool.item_ids[~pool.reviewed])
    labels = predicted_labels(session, {latest[0]: item_ids.tolist()})[latest[0]]
    return StopSetPredictions(latest[1], labels, item_ids)


def stop_set_kappa(
    previous: StopSetPredictions | None, pool: PoolSnapshot, result: TrainedRound, number: int
) -> dict[str, Any] | None:
    """Kappa between the previous scored round's and this round's predictions on the stop set.

    Measured here, while this round's probabilities are in memory, and stored in the round's
    metrics, so the Learning page need not read 2,000 predictions of every round on every view.
    """
    if previous is None or result.probas is None or result.scorer is None:
        return None
    positions = np.searchsorted(pool.item_ids, previous.item_ids)
    predicted = result.scorer.classes_[result.probas[positions].argmax(axis=1)]
    now = {int(item_id): str(label) for item_id, label in zip(previous.item_ids, predicted)}
    pair = compare_predictions(previous.number, number, previous.labels, now, previous.item_ids)
    return None if pair is None else asdict(pair)


@dataclass(frozen=True)
class PreviousBatch:
    """The latest round's candidates, with that round's predictions for them and their labels."""

    number: int
    items: dict[str, list[int]]  # sampler -> picked item ids
    predicted: dict[int, str]  # empty when that round had no scorer
    labels: HumanLabels


def previous_batch(session: Session, project_id: int) -> PreviousBatch | None:
    """The latest round's batch, to measure which picks changed the model's mind (None at first)."""
    latest = session.execute(
        select(Round.id, Round.number).where(Round.project_id == project_id).order_by(Round.number.desc()).limit(1)
    ).first()
    if latest is None:
        return None
    items: dict[str, list[int]] = {}
    for item_id, sampler in session.execute(
        select(Candidate.item_id, Candidate.sampler).where(Candidate.round_id == latest.id)
    ):
        items.setdefault(sampler, []).append(item_id)
    picked = [item for group in items.values() for item in group]
    predicted = predicted_labels(session, {latest.id: picked})[latest.id]
    return PreviousBatch(latest.number, items, predicted, human_labels(session, project_id, picked))


def batch_mind_changes(
    batch: PreviousBatch | None, pool: PoolSnapshot, result: TrainedRound, snapshot_at: datetime
) -> dict[str, Any] | None:
    """Per sampler of the previous batch: how its labeled picks changed this round's predictions.

    Measured here, with this round's predictions in memory, and stored in the round's metrics so
    the Learning page need not read every batch's predictions in two rounds on every view (see
    ``insight.learning.mind_changes`` for the counts).
    """
    if batch is None or not batch.predicted or result.probas is None or result.scorer is None:
        return None
    picked = np.array(sorted(batch.predicted), dtype=np.int64)
    picked = picked[np.isin(picked, pool.item_ids)]  # dropped since: no prediction now
    predicted = result.scorer.classes_[result.probas[np.searchsorted(pool.item_ids, picked)].argmax(axis=1)]
    now = {int(item_id): str(label) for item_id, label in zip(picked, predicted)}
    return {
        "round": batch.number,
        "samplers": {
            sampler: mind_changes(items, batch.labels, batch.predicted, now, snapshot_at)
            for sampler, items in batch.items.items()
        },
    }


def _next_number(session: Session, project_id: int) -> int:
    return (session.scalar(select(func.max(Round.number)).where(Round.project_id == project_id)) or 0) + 1


def write_round(
    session: Session,
    project: Project,
    pool: PoolSnapshot,
    result: TrainedRound,
    *,
    number: int,
    trigger: str,
    artefact: Path | None,
    job_id: int | None,
    snapshot_at: datetime,
) -> Round:
    """Insert the round, a prediction per pool item and the candidates (caller owns the transaction)."""
    classes = [] if result.scorer is None else [str(c) for c in result.scorer.classes_]
    round_ = Round(
        project_id=project.id,
        number=number,
        trigger=trigger,
        n_labels=result.metrics["n_train"],
        classes=classes,
        metrics={**result.metrics, "sampler": result.sampler},
        artefact_path=None if artefact is None else str(artefact),
        job_id=job_id,
        # Labels saved while the round computed count towards the next round.
        created_at=snapshot_at,
        finished_at=utcnow(),
    )
    session.add(round_)
    session.flush()
    if result.probas is not None:
        best = result.probas.argmax(axis=1)
        confidence = result.probas[np.arange(len(best)), best]
        session.execute(
            insert(Prediction),
            [
                {
                    "round_id": round_.id,
                    "item_id": int(item_id),
                    "predicted_label": classes[b],
                    "confidence": float(c),
                    "probabilities": row.astype(np.float32).tobytes(),
                }
                for item_id, b, c, row in zip(pool.item_ids, best, confidence, result.probas)
            ],
        )
    if result.selection is not None and len(result.selection):
        selection = result.selection
        session.execute(
            insert(Candidate),
            [
                {
                    "round_id": round_.id,
                    "item_id": int(pool.item_ids[index]),
                    "sampler": sampler,
                    "score": float(score),
                    "rank": rank,
                    "reason": reason,
                }
                for rank, (index, score, reason, sampler) in enumerate(
                    zip(selection.indices, selection.scores, selection.reasons, selection.samplers)
                )
            ],
        )
    return round_


def run_round(
    db: Database,
    project_id: int,
    *,
    models_dir: Path,
    trigger: str = "lead",
    job_id: int | None = None,
    progress: Callable[[float], None] | None = None,
    embedder: TextEncoder | None = None,
) -> RoundOutcome:
    """Embed what is missing, retrain, rescore, select, and record the round in one transaction.

    ``embedder`` defaults to the project's model (tests pass a fake).
    """
    report = progress or (lambda fraction: None)
    embed_project(
        db, project_id, embedder=embedder, progress=lambda done, total: report(0.3 * done / max(total, 1))
    )
    snapshot_at = utcnow()
    with db.read() as session:
        project = session.get(Project, project_id)
        settings = RoundSettings.of(project)
        pool = read_pool(session, project, settings)
        number = _next_number(session, project_id)
        previous = previous_stop_set_predictions(session, project_id, pool)
        batch = previous_batch(session, project_id)
    report(0.4)
    result = train_and_select(pool, settings, seed=settings.seed + number)
    stability = stop_set_kappa(previous, pool, result, number)
    if stability is not None:
        result.metrics["stability"] = stability
    changes = batch_mind_changes(batch, pool, result, snapshot_at)
    if changes is not None:
        result.metrics["mind_changes"] = changes
    report(0.8)
    artefact = None
    if result.scorer is not None:
        artefact = save_scorer(result.scorer, models_dir / f"project-{project_id}" / f"round-{number}.joblib")
    with db.write() as session:
        project = session.get(Project, project_id)
        round_ = write_round(
            session, project, pool, result, number=number, trigger=trigger, artefact=artefact, job_id=job_id,
            snapshot_at=snapshot_at,
        )
        outcome = RoundOutcome(
            round_id=round_.id,
            number=number,
            n_labels=result.metrics["n_train"],
            n_candidates=0 if result.selection is None else len(result.selection),
            sampler=result.sampler,
            metrics=round_.metrics,
        )
    report(1.0)
    return outcome


def request_round(session: Session, project_id: int, *, trigger: str = "lead", user_id: int | None = None) -> Job:
    """Queue a round for the project (or return the one already queued or running)."""
    return jobs.enqueue(session, ROUND_JOB, project_id=project_id, payload={"trigger": trigger}, created_by=user_id)


#: Lead decisions that change what the scorer trains on (a relabel, a drop, or undoing one).
TRAINING_DECISIONS = ("relabel", "drop", "undo")


def labels_since_last_round(session: Session, project_id: int) -> int:
    """Human labels given or changed, plus the lead's relabels, drops and undos, since the
    project's latest round began (all, if none)."""
    last = session.scalar(
        select(Round.created_at).where(Round.project_id == project_id).order_by(Round.number.desc()).limit(1)
    )
    labels = select(func.count()).select_from(Annotation).where(Annotation.project_id == project_id)
    decisions = select(func.count()).select_from(Decision).where(
        Decision.project_id == project_id, Decision.action.in_(TRAINING_DECISIONS)
    )
    if last is not None:
        labels = labels.where(Annotation.updated_at > last)
        decisions = decisions.where(Decision.created_at > last)
    return (session.scalar(labels) or 0) + (session.scalar(decisions) or 0)


def schedule_due_rounds(session: Session) -> list[Job]:
    """Queue a round for every project that is due and not already busy.

    Due means: ``round_threshold`` labels arrived since the last round, or no round exists yet
    while some items are embedded (so annotators get a first, diversity-chosen queue).
    """
    busy = set(session.scalars(select(Job.project_id).where(Job.status.in_(jobs.ACTIVE))))
    queued = []
    for project in session.scalars(select(Project).order_by(Project.id)):
        if project.id in busy or _last_round_failed_since_labels(session, project.id):
            continue
        has_round = session.scalar(select(func.count()).select_from(Round).where(Round.project_id == project.id))
        if has_round:
            try:
                threshold = RoundSettings.of(project).round_threshold
            except RoundSettingsError:
                continue  # shown when the lead asks for a round; never loop on it here
            if labels_since_last_round(session, project.id) >= threshold:
                queued.append(request_round(session, project.id, trigger="threshold"))
        elif _has_embedded_items(session, project):
            queued.append(request_round(session, project.id, trigger="initial"))
    return queued


def _last_round_failed_since_labels(session: Session, project_id: int) -> bool:
    """Whether the project's latest round job failed and no label arrived since.

    Retrying then would fail the same way, forever; new labels or a lead's request try again.
    """
    last = session.scalars(
        select(Job).where(Job.project_id == project_id, Job.kind == ROUND_JOB).order_by(Job.id.desc()).limit(1)
    ).first()
    if last is None or last.status != "failed":
        return False
    newer = select(Annotation.id).where(Annotation.project_id == project_id, Annotation.updated_at > last.finished_at)
    return session.scalar(newer.limit(1)) is None


def _has_embedded_items(session: Session, project: Project) -> bool:
    cached = (Embedding.content_hash == Item.content_hash) & (Embedding.model == project.embedding_model)
    first = select(Item.id).join(Embedding, cached).where(Item.project_id == project.id, Item.status == "active")
    return session.scalar(first.limit(1)) is not None
