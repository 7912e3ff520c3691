"""Server-side latency of labeling: claim (the page's whole read) + save, with concurrent annotators.

Target (issue 4): with 8 concurrent annotator sessions on a 100,000-item project, claim + save of a
label <= 50 ms p95 server-side. Sessions are threads sharing one ``Database``, as the Streamlit
server runs them; each reads an item for ``--think-ms`` on average (500 ms: a very fast annotator)
before pressing the key. Each iteration is what one key press costs: ``save_label`` of the item on screen,
then ``label_screen`` (claim or resume, progress, recent labels, why chosen, suggestion) for the
next. The project has a round with ``--candidates`` candidates and a prediction for every item, so
the queue starts in the round and then falls back to import order, as in real use. "save + claim
CPU" is the CPU time of the session's thread for both (it depends far less on how busy the machine
is than the wall-clock times).

Run from the repository root::

    PYTHONPATH=. python benchmarks/labeling_latency.py [--items 100000] [--sessions 8] \
        [--claims 100] [--think-ms 500]
    PYTHONPATH=. python benchmarks/labeling_latency.py --db-url postgresql+psycopg://.../empty_db
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from workbench.store import migrate, projects, users
from workbench.store.engine import Database
from workbench.store.labeling import save_label
from workbench.store.labeling_screen import label_screen
from workbench.store.schema import Candidate, Item, Prediction, Round, utcnow
from workbench.text import content_hash, normalize_text

CHUNK = 10_000
LABELS = ["positive", "negative", "neutral"]


def build(db: Database, n_items: int, n_sessions: int, n_candidates: int) -> tuple[int, list[int]]:
    """A project of ``n_items`` Alpaca items, a round with candidates and predictions, and annotators."""
    with db.write() as session:
        project = projects.create_project(
            session, "latency", labels=projects.make_label_schema(LABELS), embedding_model="bench"
        )
        annotators = [
            users.add_user(session, f"ann{i}", "benchmark-password", "annotator").id
            for i in range(n_sessions)
        ]
        project_id = project.id
    for start in range(0, n_items, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, n_items)):
            sample = {"instruction": f"Classify review {i}", "output": f"This product is fine, number {i}."}
            text = normalize_text("\n\n".join(sample.values()))
            rows.append(
                {
                    "project_id": project_id,
                    "shape": "alpaca",
                    "sample": sample,
                    "text": text,
                    "content_hash": content_hash(text),
                    "source_file": "bench.jsonl",
                    "source_line": i + 1,
                    "meta": {},
                    "status": "active",
                    "created_at": utcnow(),
                }
            )
        with db.write() as session:
            session.execute(insert(Item), rows)
    with db.write() as session:
        round_ = Round(project_id=project_id, number=1, classes=LABELS, created_at=utcnow())
        session.add(round_)
        session.flush()
        item_ids = np.array(session.scalars(Item.__table__.select().with_only_columns(Item.id)).all())
        rng = np.random.default_rng(0)
        chosen = rng.choice(item_ids, size=min(n_candidates, len(item_ids)), replace=False)
        session.execute(
            insert(Candidate),
            [
                {
                    "round_id": round_.id,
                    "item_id": int(item_id),
                    "sampler": "margin",
                    "score": 0.01,
                    "rank": rank,
                    "reason": "margin 0.01",
                }
                for rank, item_id in enumerate(chosen)
            ],
        )
        probabilities = np.array([0.5, 0.3, 0.2], dtype=np.float32).tobytes()
        for start in range(0, len(item_ids), CHUNK):
            session.execute(
                insert(Prediction),
                [
                    {
                        "round_id": round_.id,
                        "item_id": int(item_id),
                        "predicted_label": LABELS[0],
                        "confidence": 0.5,
                        "probabilities": probabilities,
                    }
                    for item_id in item_ids[start : start + CHUNK]
                ],
            )
    return project_id, annotators


def annotate(
    db: Database,
    project_id: int,
    user_id: int,
    n_claims: int,
    think_s: float,
    times: dict[str, list[float]],
    errors: list[str],
) -> None:
    """One annotator: show an item, read it for about ``think_s``, label it, show the next; records
    seconds per step."""
    rng = np.random.default_rng(user_id)  # jitter, so sessions do not press keys in lockstep
    try:
        with db.write() as session:
            screen = label_screen(session, project_id, user_id)
        for n in range(n_claims):
            if screen.claim is None:
                return
            time.sleep(think_s * rng.uniform(0.5, 1.5))
            t0, cpu0 = time.perf_counter(), time.thread_time()
            with db.write() as session:
                save_label(session, project_id, user_id, screen.claim.item_id, LABELS[n % len(LABELS)])
            t1 = time.perf_counter()
            with db.write() as session:
                screen = label_screen(session, project_id, user_id)
            t2, cpu2 = time.perf_counter(), time.thread_time()
            times["save"].append(t1 - t0)
            times["claim"].append(t2 - t1)
            times["save + claim"].append(t2 - t0)
            times["save + claim CPU"].append(cpu2 - cpu0)
    except Exception as error:  # noqa: BLE001 - reported at the end
        errors.append(f"{type(error).__name__}: {error}")


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.array(values) * 1000
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--claims", type=int, default=100, help="labels per session")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=500,
        help="mean reading time per item (0: every session labels flat out)",
    )
    parser.add_argument("--candidates", type=int, default=500, help="candidates in the round")
    parser.add_argument("--db-url", help="an empty database (default: a new SQLite file in a temp folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.db_url or f"sqlite:///{Path(folder) / 'latency.sqlite'}")
        migrate.upgrade(db)
        started = time.perf_counter()
        project_id, annotators = build(db, args.items, args.sessions, args.candidates)
        build_s = time.perf_counter() - started
        if db.dialect == "sqlite":
            # Fold the bulk load into the database file first, as after any import: otherwise the
            # first commits during the measurement pay for checkpointing a WAL of 100,000 rows.
            # (on the driver's connection: a checkpoint cannot run inside our BEGIN IMMEDIATE).
            connection = db.engine.raw_connection()
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()

        load_before = os.getloadavg()
        times: dict[str, list[float]] = {"save": [], "claim": [], "save + claim": [], "save + claim CPU": []}
        errors: list[str] = []
        threads = [
            threading.Thread(
                target=annotate,
                args=(db, project_id, user_id, args.claims, args.think_ms / 1000, times, errors),
            )
            for user_id in annotators
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall_s = time.perf_counter() - started
        load_after = os.getloadavg()
        db.dispose()

    labels = len(times["save"])
    print(
        json.dumps(
            {
                "dialect": db.dialect,
                "items": args.items,
                "sessions": args.sessions,
                "think_ms": args.think_ms,
                "candidates": args.candidates,
                "build_s": round(build_s, 1),
                "labels": labels,
                "labels_per_s": round(labels / wall_s, 1),
                "load_average_before": [round(load, 2) for load in load_before],
                "load_average_after": [round(load, 2) for load in load_after],
                "errors": errors[:5],
                **{name: percentiles(values) for name, values in times.items() if values},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
