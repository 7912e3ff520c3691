"""Simulated active learning on a labeled file: the file's labels play the annotators.

``read_labeled_file`` reads the rows, ``pool_and_test`` splits them, ``simulate`` runs the rounds
(the same scorer and samplers as the app) and returns the learning curve, one point per round,
which ``write_curve`` saves as ``round,n_labeled,accuracy,macro_f1``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn

from workbench.ingest.errors import RowProblem
from workbench.ingest.fields import read_label
from workbench.ingest.readers import format_for
from workbench.samplers import SamplerContext, pool_errors, sampler_spec
from workbench.scorer import Scorer, evaluate, out_of_fold_probas

#: Share of the rows held out for testing when the file has no test split.
HOLDOUT_SHARE = 0.2

CURVE_COLUMNS = ("round", "n_labeled", "accuracy", "macro_f1")


class SimulationError(ValueError):
    """A file or settings the simulation cannot run on; the message says where and why."""


@dataclass(frozen=True)
class LabeledRows:
    """The rows of a labeled file.

    Attributes
    ----------
    texts : list of str, length n
    labels : np.ndarray, shape (n,), str
    splits : np.ndarray, shape (n,), str, or None
        The split of each row ("" where a row has none); None without a split field.
    """

    texts: list[str]
    labels: np.ndarray
    splits: np.ndarray | None


@dataclass(frozen=True)
class CurvePoint:
    """Test-set figures after one round (round 0 = the initial random labels)."""

    round: int
    n_labeled: int
    accuracy: float
    macro_f1: float


def _text(record: dict, field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RowProblem(f"field {field!r} must be a non-empty string, got {value!r}")
    return value


def read_labeled_file(
    path: str | os.PathLike[str], *, text_field: str, label_field: str, split_field: str | None = None
) -> LabeledRows:
    """Read every row of a JSONL/JSON/CSV/Parquet file (the import readers) with its label.

    Raises
    ------
    SimulationError
        At the first unusable row, as ``file:line: reason`` (every row needs a text and a label),
        or for an unsupported or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise SimulationError(f"{path}: no such file")
    try:
        reader = format_for(path).read
    except ValueError as exc:
        raise SimulationError(str(exc)) from None
    texts, labels, splits = [], [], []
    for row in reader(path):
        where = f"{path}:{row.line}" if row.line is not None else str(path)
        if row.error is not None:
            raise SimulationError(f"{where}: {row.error}")
        try:
            texts.append(_text(row.record, text_field))
            label = read_label(row.record, label_field)
            if label is None:
                raise RowProblem(f"no label in field {label_field!r}")
            labels.append(label)
            if split_field is not None:
                splits.append(str(row.record.get(split_field) or ""))
        except RowProblem as exc:
            raise SimulationError(f"{where}: {exc}") from None
    if not texts:
        raise SimulationError(f"{path}: no rows")
    return LabeledRows(texts, np.array(labels), np.array(splits) if split_field is not None else None)


def stratified_holdout(labels: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A bool mask (n,) holding out ``share`` of each class (rounded; a singleton stays in)."""
    held_out = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held_out[members[: int(round(share * len(members)))]] = True
    return held_out


def pool_and_test(rows: LabeledRows, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the pool and of the test set, each sorted.

    Pool = rows whose split is ``train`` (all non-``test`` rows if no row is ``train``); test =
    rows whose split is ``test``, else a stratified 20% of the pool fixed by ``seed``.
    """
    n = len(rows.labels)
    splits = rows.splits if rows.splits is not None else np.full(n, "")
    is_test = splits == "test"
    in_pool = splits == "train" if (splits == "train").any() else ~is_test
    if not is_test.any():
        candidates = np.flatnonzero(in_pool)
        held_out = stratified_holdout(rows.labels[candidates], HOLDOUT_SHARE, np.random.default_rng(seed))
        is_test = np.zeros(n, dtype=bool)
        is_test[candidates[held_out]] = True
        in_pool &= ~is_test
    return np.flatnonzero(in_pool), np.flatnonzero(is_test)


def _test_figures(
    scorer: Scorer | None, only_label: str, X_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float]:
    if scorer is None:  # one labeled class so far: every test row gets that label
        ev = evaluate(y_test, np.ones((len(y_test), 1), np.float32), np.array([only_label]))
    else:
        ev = evaluate(y_test, scorer.predict_proba(X_test), scorer.classes_)
    return ev.accuracy, ev.macro_f1


def simulate(
    embeddings: np.ndarray,
    labels: np.ndarray,
    pool: np.ndarray,
    test: np.ndarray,
    *,
    sampler: str,
    initial: int,
    batch: int,
    rounds: int,
    seed: int,
    scorer: Scorer | None = None,
    context: SamplerContext | None = None,
    on_round: Callable[[CurvePoint], None] | None = None,
) -> list[CurvePoint]:
    """Run ``rounds`` rounds of active learning with the labels as the oracle.

    Round 0 labels ``initial`` pool items drawn at random; each later round retrains the scorer,
    scores the pool and labels the ``batch`` items the sampler selects. Every round's scorer is
    evaluated on the test rows. Stops early when the pool is exhausted.

    Parameters
    ----------
    embeddings : np.ndarray, shape (n, d), float32
        One row per file row.
    labels : np.ndarray, shape (n,)
    pool, test : np.ndarray of int
        Row positions (``pool_and_test``).
    sampler : str
        A registered sampler name.
    initial, batch, rounds : int
    seed : int
        Fixes the initial draw and every sampler choice.
    scorer : Scorer, optional
        Parameters to train with (cloned each round); defaults to ``Scorer()``.
    context : SamplerContext, optional
        Slices and hybrid budget for the sampler; out-of-fold errors are filled in here.
    on_round : callable, optional
        Called with each curve point as soon as it is known.

    Returns
    -------
    list of CurvePoint, one per round including round 0
    """
    spec = sampler_spec(sampler)
    if initial < 1 or batch < 1 or rounds < 0:
        raise SimulationError(
            f"need initial >= 1, batch >= 1 and rounds >= 0, got {initial}, {batch}, {rounds}"
        )
    if initial > len(pool):
        raise SimulationError(f"initial {initial} is larger than the pool of {len(pool)} rows")
    if len(test) == 0:
        raise SimulationError("the test set is empty")
    template = scorer if scorer is not None else Scorer()
    X_pool = np.ascontiguousarray(embeddings[pool], dtype=np.float32)
    y_pool = np.asarray(labels)[pool]
    X_test, y_test = np.asarray(embeddings[test], dtype=np.float32), np.asarray(labels)[test]
    context = context if context is not None else SamplerContext()
    rng = np.random.default_rng(seed)

    labeled_mask = np.zeros(len(pool), dtype=bool)
    labeled_mask[rng.choice(len(pool), initial, replace=False)] = True
    curve: list[CurvePoint] = []
    for round_number in range(rounds + 1):
        labeled = np.flatnonzero(labeled_mask)
        y_labeled = y_pool[labeled]
        fitted = None
        if len(np.unique(y_labeled)) > 1:
            fitted = sklearn.clone(template).fit(X_pool[labeled], y_labeled)
        accuracy, macro_f1 = _test_figures(fitted, str(y_labeled[0]), X_test, y_test)
        point = CurvePoint(round_number, len(labeled), accuracy, macro_f1)
        curve.append(point)
        if on_round is not None:
            on_round(point)
        if round_number == rounds or labeled_mask.all():
            break
        probas = None if fitted is None else fitted.predict_proba(X_pool)
        round_context = context
        if spec.uses_out_of_fold and fitted is not None:
            oof = out_of_fold_probas(template, X_pool[labeled], y_labeled, seed=seed + round_number)
            errors = pool_errors(len(pool), labeled, oof, fitted.classes_, y_labeled)
            round_context = SamplerContext(oof_error=errors, slices=context.slices, budget=context.budget)
        selection = spec.fn(probas, X_pool, labeled_mask, batch, rng=rng, context=round_context)
        labeled_mask[selection.indices] = True
    return curve


def write_curve(curve: list[CurvePoint], path: str | os.PathLike[str]) -> None:
    """Write ``round,n_labeled,accuracy,macro_f1``, one row per curve point (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CURVE_COLUMNS)
        for point in curve:
            writer.writerow([point.round, point.n_labeled, f"{point.accuracy:.6f}", f"{point.macro_f1:.6f}"])
