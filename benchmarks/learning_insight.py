"""The Learning page's computations on a large project: seconds per part of ``learning_report``.

Builds (once; reused from ``--db`` when it exists) a synthetic project of N items and 77 classes
with R rounds written straight into the tables: round 1 is the cold start, every later round has a
prediction per item and (as the worker stores them) its kappa with the previous round on the stop
set and the previous batch's mind changes (label, confidence and 77 float32 probabilities, as the app stores them) that
grows more accurate and more stable round by round, a batch of 500 candidates (5% random control,
the rest hybrid parts), and an annotation for every candidate but the last round's. Candidates
get embeddings (384-d, class centre plus noise), and each round stores the random-sampling curve
fitted on the control items labeled before it, as the worker does (its cost is printed too).

It then times ``learning_report`` (the page's data; target under 2 s) and, for comparison,
reading every round's full ``predicted_label`` column, which the report avoids. Run by hand:

    PYTHONPATH=. python benchmarks/learning_insight.py [--items 100000] [--rounds 10] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from workbench.insight.learning import (
    HumanLabels,
    compare_predictions,
    learning_report,
    mind_changes,
    predicted_labels,
    stop_set,
)
from workbench.samplers import CONTROL_SAMPLER
from workbench.scorer import learning_curve
from workbench.store import migrate, projects, users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Candidate, Embedding, Item, Prediction, Project, Round

N_CLASSES = 77
DIM = 384
BATCH = 500
CONTROL = 25  # 5% of the batch
MODEL = "bench-model"
CHUNK = 20_000
#: Seconds the round-time random-sampling curve took in each built round.
CURVE_SECONDS: list[float] = []


def _rows(session, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start : start + CHUNK])


def build(db: Database, n_items: int, n_rounds: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    classes = [f"class_{c:02d}" for c in range(N_CLASSES)]
    truth = rng.integers(0, N_CLASSES, n_items)
    centres = rng.normal(size=(N_CLASSES, DIM)).astype(np.float32)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        project = projects.create_project(session, "learning-bench", labels=projects.make_label_schema(classes),
                                          embedding_model=MODEL, settings={"batch_size": BATCH})
        project_id = project.id
        user_id = users.add_user(session, "bench-annotator", "bench-password-1", "annotator").id
        _rows(session, Item, [
            {"project_id": project_id, "shape": "text", "sample": {"text": f"item {i}"}, "text": f"item {i}",
             "content_hash": f"bench-{i:08d}", "meta": {}, "status": "active", "source_file": "bench"}
            for i in range(n_items)
        ])
    with db.read() as session:
        item_ids = np.array(session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)).all())
    unlabeled = np.ones(n_items, dtype=bool)
    predicted = rng.integers(0, N_CLASSES, n_items)
    control_X: list[np.ndarray] = []
    control_y: list[int] = []
    stop_positions = np.searchsorted(item_ids, stop_set(item_ids))
    previous: tuple[int, dict[int, str]] | None = None
    last_batch: tuple[int, dict[str, list[int]], dict[int, str]] | None = None
    for number in range(1, n_rounds + 1):
        created = start + timedelta(hours=number)
        picked = rng.choice(np.flatnonzero(unlabeled), BATCH, replace=False)
        samplers = [CONTROL_SAMPLER] * CONTROL + ["diverse_margin_wide"] * 380 + ["error_rate"] * (BATCH - CONTROL - 380)
        if number == 1:
            samplers = ["diversity"] * BATCH
        n_labels = int((~unlabeled).sum())
        # What the worker measures each round: random sampling's curve on the labeled control items.
        started = time.perf_counter()
        curve = learning_curve(np.array(control_X).reshape(-1, DIM), np.array(classes)[control_y]).to_dict()
        CURVE_SECONDS.append(time.perf_counter() - started)
        has_scorer = number > 1
        if has_scorer:
            # Predictions grow more accurate and more stable: fewer items change each round.
            accuracy, stay = min(0.93, 0.4 + 0.06 * number), min(0.999, 0.6 + 0.045 * number)
            fresh = np.where(rng.random(n_items) < accuracy, truth, rng.integers(0, N_CLASSES, n_items))
            predicted = np.where(rng.random(n_items) < stay, predicted, fresh)
        metrics = _metrics(rng, number, n_labels, truth[~unlabeled], classes) if has_scorer else {
            "n_train": 0, "label_counts": {}}
        if has_scorer:
            # The worker's kappa with the previous scored round on the stop set.
            now = {int(item_ids[i]): classes[predicted[i]] for i in stop_positions}
            if previous is not None:
                pair = compare_predictions(previous[0], number, previous[1], now, now)
                metrics["stability"] = asdict(pair)
            previous = (number, now)
            if last_batch is not None and last_batch[2]:
                # The worker's mind changes of the previous batch (labeled 30 min into its round).
                before_number, groups, before = last_batch
                labeled_at = created - timedelta(minutes=30)
                labels = HumanLabels({item: labeled_at for item in before}, {
                    int(item_ids[i]): classes[truth[i]] for i in np.searchsorted(item_ids, list(before))})
                after = {item: classes[predicted[i]] for item, i in zip(before, np.searchsorted(item_ids, list(before)))}
                metrics["mind_changes"] = {"round": before_number, "samplers": {
                    sampler: mind_changes(items, labels, before, after, created) for sampler, items in groups.items()}}
        groups: dict[str, list[int]] = {}
        for i, sampler in zip(picked, samplers):
            groups.setdefault(sampler, []).append(int(item_ids[i]))
        last_batch = (number, groups, {int(item_ids[i]): classes[predicted[i]] for i in picked} if has_scorer else {})
        with db.write() as session:
            round_ = Round(project_id=project_id, number=number, trigger="threshold", n_labels=n_labels,
                           classes=classes if has_scorer else [], created_at=created, finished_at=created,
                           metrics={**metrics, "random_curve": curve})
            session.add(round_)
            session.flush()
            if has_scorer:
                blobs = rng.random((n_items, N_CLASSES), dtype=np.float32)
                _rows(session, Prediction, [
                    {"round_id": round_.id, "item_id": int(item_ids[i]), "predicted_label": classes[predicted[i]],
                     "confidence": 0.5, "probabilities": blobs[i].tobytes()}
                    for i in range(n_items)
                ])
            _rows(session, Candidate, [
                {"round_id": round_.id, "item_id": int(item_ids[i]), "sampler": s, "score": 0.0, "rank": rank,
                 "reason": "bench"} for rank, (i, s) in enumerate(zip(picked, samplers))
            ])
            vectors = centres[truth[picked]] + 1.5 * rng.normal(size=(BATCH, DIM)).astype(np.float32)
            if number < n_rounds:  # labeled before the next round
                is_control = np.array(samplers) == CONTROL_SAMPLER
                control_X.extend(vectors[is_control])
                control_y.extend(truth[picked[is_control]].tolist())
            _rows(session, Embedding, [
                {"model": MODEL, "content_hash": f"bench-{i:08d}", "dim": DIM, "vector": v.astype(np.float32).tobytes()}
                for i, v in zip(picked, vectors)
            ])
            if number < n_rounds:
                labeled_at = created + timedelta(minutes=30)
                _rows(session, Annotation, [
                    {"project_id": project_id, "item_id": int(item_ids[i]), "user_id": user_id,
                     "label": classes[truth[i]], "created_at": labeled_at, "updated_at": labeled_at}
                    for i in picked
                ])
        unlabeled[picked] = False
        print(f"  built round {number}", flush=True)
    return project_id


def _metrics(rng, number: int, n_labels: int, labels: np.ndarray, classes: list[str]) -> dict:
    accuracy = min(0.9, 0.3 + 0.06 * number)
    folds = np.clip(accuracy + rng.normal(0, 0.03, 5), 0, 1)
    spread = {"mean": float(folds.mean()), "std": float(folds.std()), "min": float(folds.min()),
              "max": float(folds.max()), "per_fold": folds.tolist()}
    counts = np.bincount(labels, minlength=len(classes))
    return {
        "n_train": n_labels,
        "label_counts": {classes[c]: int(n) for c, n in enumerate(counts) if n},
        "cv": {"n_labels": n_labels, "accuracy": accuracy, "macro_f1": accuracy - 0.03, "per_class": {}},
        "cv_folds": {"n_folds": 5, "accuracy": spread, "macro_f1": {**spread, "mean": spread["mean"] - 0.03}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "wb_learning_bench.sqlite",
                        help="SQLite file to build (or reuse); or set WORKBENCH_BENCH_DB_URL for PostgreSQL.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    url = os.environ.get("WORKBENCH_BENCH_DB_URL") or f"sqlite:///{args.db}"
    db = Database(url)
    migrate.upgrade(db)
    with db.read() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "learning-bench"))
    if project_id is None:
        started = time.perf_counter()
        print(f"building {args.items:,} items x {args.rounds} rounds in {url}", flush=True)
        project_id = build(db, args.items, args.rounds, args.seed)
        print(f"built in {time.perf_counter() - started:.0f} s; the random-sampling curve a round measures took "
              f"{CURVE_SECONDS[-1]:.2f} s in the last round ({max(CURVE_SECONDS):.2f} s at most)")

    with db.read() as session:  # warm-up: a page's server process has compiled its queries already
        learning_report(session, project_id)
    totals, parts = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        with db.read() as session:
            report = learning_report(session, project_id)
        totals.append(time.perf_counter() - started)
        parts.append(report.timings)
    print(f"\nlearning_report on {args.items:,} items, {len(report.rounds)} rounds "
          f"(median of {args.repeats} after a warm-up; load average {os.getloadavg()[0]:.1f}):")
    for part in parts[0]:
        print(f"  {part:<22} {statistics.median(p[part] for p in parts):7.3f} s")
    print(f"  {'total':<22} {statistics.median(totals):7.3f} s  (target < 2 s)")
    print(f"  control labels {report.random_curve.n_labels}, random curve sizes {report.random_curve.sizes}, "
          f"verdict: {report.verdict.status}")

    with db.read() as session:
        round_ids = session.scalars(select(Round.id).where(Round.project_id == project_id)).all()
        items = np.array(session.scalars(select(Item.id).where(Item.project_id == project_id)).all())
        started = time.perf_counter()
        candidates = session.execute(
            select(Candidate.round_id, Candidate.item_id).where(Candidate.round_id.in_(round_ids))
        ).all()
        wanted = {round_id: set(stop_set(items).tolist()) for round_id in round_ids}
        for round_id, item_id in candidates:  # a batch's predictions in its round and the next
            wanted[round_id].add(item_id)
            wanted.get(round_id + 1, set()).add(item_id)
        predicted_labels(session, wanted)
    print(f"\nrounds stored before the worker measured kappa and mind changes: reading their stop-set and "
          f"candidate predictions adds {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    with db.read() as session:
        n_rows = sum(1 for _ in session.execute(
            select(Prediction.predicted_label).where(Prediction.round_id.in_(round_ids))))
    naive = time.perf_counter() - started
    print(f"for comparison, reading every round's full predicted_label column ({n_rows:,} rows): {naive:.2f} s")
    db.dispose()


if __name__ == "__main__":
    main()
