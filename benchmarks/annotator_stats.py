"""Speed of the Annotators dashboard's figures (``workbench.insight.annotators.annotator_report``).

Target (issue 7): 100,000 items, 8 annotators, 30,000 annotations in well under 2 s. The project
is built like a real one with overlap 2 on part of the pool: 8 annotators label over two weeks in
work sessions (a few seconds per item), 10,000 items are labeled by two annotators and 10,000 by
one, the lead relabeled 1,000 items, and there are skips and annotator flags. Labels follow a
noisy truth (each annotator right ``--accuracy`` of the time), so the kappas are realistic.

The report is timed whole (cold: first run; warm: median of the rest), and split into the
database read and the arithmetic, with and without the bootstrap intervals. As a check of the
definitions, the kappas are printed beside the value the simulated accuracy implies, and the
labels per active hour beside the simulated pace (3600 / mean seconds per item).

Run from the repository root::

    PYTHONPATH=. python benchmarks/annotator_stats.py [--items 100000] [--annotators 8] \
        [--overlapped 10000] [--single 10000] [--repeats 5]
    PYTHONPATH=. python benchmarks/annotator_stats.py --db-url postgresql+psycopg://.../empty_db
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from workbench.insight import annotators as stats
from workbench.store import migrate, projects
from workbench.store.engine import Database
from workbench.store.gold import lead_relabels
from workbench.store.labeling import ANNOTATOR_FLAG
from workbench.store.schema import Annotation, Assignment, Decision, Item, NoiseFlag, Project, User
from workbench.text import content_hash

CHUNK = 10_000
LABELS = [f"intent_{i}" for i in range(20)]
START = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _insert(session, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start : start + CHUNK])


def build(db: Database, args: argparse.Namespace) -> int:
    """The project described in the module docstring; returns its id."""
    rng = np.random.default_rng(0)
    with db.write() as session:
        project = projects.create_project(
            session, "annotators-bench", labels=projects.make_label_schema(LABELS),
            embedding_model="bench", settings={"overlap": 2},
        )
        people = []
        for i in range(args.annotators + 1):
            name, role = (f"ann{i}", "annotator") if i else ("lead", "lead")
            user = User(username=name, password_hash="-", role=role)
            session.add(user)
            session.flush()
            people.append(user.id)
        lead, annotators = people[0], people[1:]
        project_id = project.id
        _insert(session, Item, [
            {"project_id": project_id, "shape": "text", "sample": {"text": f"t{i}"}, "text": f"t{i}",
             "content_hash": content_hash(f"t{i}")}
            for i in range(args.items)
        ])
        item_ids = np.array(
            session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)).all()
        )

    truth = rng.integers(0, len(LABELS), size=len(item_ids))
    labeled = rng.permutation(len(item_ids))[: args.overlapped + args.single]
    rows: list[tuple[int, int]] = []  # (item position, annotator)
    for position, item in enumerate(labeled):
        n = 2 if position < args.overlapped else 1
        rows += [(int(item), int(a)) for a in rng.choice(args.annotators, size=n, replace=False)]
    # Each annotator works through their items in sessions of ~1 h, 3-20 s per item, over two weeks.
    annotations, clock = [], {a: START for a in range(args.annotators)}
    for item, annotator in rows:
        seconds = float(rng.uniform(3, 20))
        clock[annotator] += timedelta(seconds=seconds)
        if rng.random() < 1 / 200:  # a break, or the night
            clock[annotator] += timedelta(hours=float(rng.choice([0.5, 14])))
        right = rng.random() < args.accuracy
        label = truth[item] if right else rng.integers(0, len(LABELS))
        annotations.append({
            "project_id": project_id, "item_id": int(item_ids[item]), "user_id": annotators[annotator],
            "label": LABELS[label], "seconds_spent": seconds, "created_at": clock[annotator],
            "updated_at": clock[annotator],
        })
    relabeled = rng.choice(labeled, size=args.relabels, replace=False)
    decisions = [
        {"project_id": project_id, "item_id": int(item_ids[item]), "user_id": lead, "action": "relabel",
         "label": LABELS[truth[item]]}
        for item in relabeled
    ]
    unlabeled = np.setdiff1d(np.arange(len(item_ids)), labeled)[: 2 * args.skips]
    skips = [
        {"project_id": project_id, "item_id": int(item_ids[item]), "user_id": annotators[i % args.annotators],
         "status": "skipped", "leased_at": START, "expires_at": START + timedelta(minutes=10)}
        for i, item in enumerate(unlabeled)
    ]
    flags = [
        {"project_id": project_id, "item_id": skip["item_id"], "user_id": skip["user_id"],
         "detector": ANNOTATOR_FLAG, "severity": 0.8, "evidence": {"reason": "unclear"}}
        for skip in skips[: args.skips]
    ]
    with db.write() as session:
        for table, table_rows in ((Annotation, annotations), (Decision, decisions),
                                  (Assignment, skips), (NoiseFlag, flags)):
            _insert(session, table, table_rows)
    return project_id


def _timed(function, repeats: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times[0], statistics.median(times[1:] or times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--overlapped", type=int, default=10_000, help="items labeled by two annotators")
    parser.add_argument("--single", type=int, default=10_000, help="items labeled by one annotator")
    parser.add_argument("--relabels", type=int, default=1_000)
    parser.add_argument("--skips", type=int, default=500)
    parser.add_argument("--accuracy", type=float, default=0.85)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db-url", help="an empty database to use (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.db_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        migrate.upgrade(db)
        started = time.perf_counter()
        project_id = build(db, args)
        print(f"built in {time.perf_counter() - started:.1f} s ({db.url.split(':')[0]})")

        def report(n_boot: int = stats.N_BOOT):
            with db.read() as session:
                return stats.annotator_report(session, project_id, n_boot=n_boot)

        def read_only():
            with db.read() as session:
                project = session.get(Project, project_id)
                relabels = lead_relabels(session, project_id)
                return stats.load_annotations(session, project, set(relabels.values()))

        cold, warm, result = _timed(report, args.repeats)
        _, read, table = _timed(read_only, args.repeats)
        _, no_boot, _ = _timed(lambda: report(0), args.repeats)
        print(f"{len(table.labels):,} annotations on {args.items:,} items, {args.annotators} annotators, "
              f"{result.overlapped_items:,} overlapped items")
        print(f"annotator_report: cold {cold:.3f} s, warm median {warm:.3f} s (target < 2 s)")
        print(f"  database read (annotations + relabels): {read:.3f} s")
        print(f"  without bootstrap intervals: {no_boot:.3f} s; the {stats.N_BOOT} resamples cost "
              f"{warm - no_boot:.3f} s")
        print(f"Fleiss' kappa {result.fleiss.value:.3f} [{result.fleiss.low:.3f}, {result.fleiss.high:.3f}], "
              f"Krippendorff's alpha {result.alpha.value:.3f} "
              f"[{result.alpha.low:.3f}, {result.alpha.high:.3f}]")
        # Each label is the truth with probability q, else uniform over the other classes, and
        # the classes are balanced: two annotators agree with q^2 + (1-q)^2/(K-1), by chance 1/K.
        k = len(LABELS)
        q = args.accuracy + (1 - args.accuracy) / k
        agree = q**2 + (1 - q) ** 2 / (k - 1)
        print(f"  expected from the simulated accuracy: {(agree - 1 / k) / (1 - 1 / k):.3f}")
        rates = [f"{a.username} {a.labels_per_hour:.0f}" for a in result.annotators if a.labels_per_hour]
        print("labels per active hour: " + ", ".join(rates))
        # The simulated annotators save one item every seconds_spent while at work, so the session
        # rule should find about 3600 / mean seconds per hour (breaks excluded).
        print(f"  expected from the simulated pace: {3600 / table.seconds.mean():.0f} per hour")
        print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        db.dispose()


if __name__ == "__main__":
    main()
