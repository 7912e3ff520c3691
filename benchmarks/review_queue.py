"""Review queue speed (issue 5: the queue page "well under 1 s" on 100,000 items, ~20,000 open flags).

Fills a new database (a temporary SQLite file, or ``--db-url`` for a fresh PostgreSQL database)
with N Alpaca-shaped items with imported labels, a few annotators' labels on 10% of them, and
open flags of every detector on ~20% (evidence shaped as the detectors write it, near-duplicate
groups of three), plus some resolved flags and decisions. Then times what the Review page does
on each script run (the counts per detector, one page of the queue with its evidence) for the
unfiltered queue and each filter, and a bulk decision with its undo.

    python benchmarks/review_queue.py                   # 100,000 items, 20,000 flags
    python benchmarks/review_queue.py --items 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from workbench.review.bulk import decide_filter  # noqa: E402
from workbench.review.decisions import undo  # noqa: E402
from workbench.review.queue import QueueFilter, open_counts, queue_page  # noqa: E402
from workbench.store import migrate, projects  # noqa: E402
from workbench.store.engine import Database  # noqa: E402
from workbench.store.schema import Annotation, Item, NoiseFlag, User  # noqa: E402
from workbench.text import content_hash, normalize_text  # noqa: E402

LABELS = ["billing", "bug", "account", "other"]
ANNOTATORS = ["ann1", "ann2", "ann3", "ann4", "ann5"]
HEURISTICS = {
    "short_output": lambda i: {"response_chars": 0},
    "truncated_output": lambda i: {"reason": "ends mid-sentence", "ending": "and then the"},
    "refusal": lambda i: {"phrase": "As an AI language model", "at_start": True, "response": "As an AI ..."},
    "repetition_loop": lambda i: {"distinct_ngram_share": 0.2, "most_repeated": "the the the", "times": 40},
}


def fill(db: Database, n_items: int, flag_share: float, rng: np.random.Generator) -> tuple[int, int]:
    """The project; returns its id and the lead's user id."""
    with db.write() as session:
        project = projects.create_project(
            session, "bench", labels=projects.make_label_schema(LABELS), embedding_model="bench"
        )
        project_id = project.id
        users = {}
        for name in [*ANNOTATORS, "lead"]:
            user = User(username=name, password_hash="x", role="lead" if name == "lead" else "annotator")
            session.add(user)
            session.flush()
            users[name] = user.id
        labels = rng.choice(LABELS, size=n_items)
        rows = []
        for i in range(n_items):
            sample = {
                "instruction": f"Customer question number {i} about {labels[i]}",
                "output": f"Answer {i}.",
            }
            text = normalize_text(f"{sample['instruction']}\n\n{sample['output']}")
            rows.append(
                {
                    "project_id": project_id,
                    "shape": "alpaca",
                    "sample": sample,
                    "text": text,
                    "content_hash": content_hash(text),
                    "imported_label": str(labels[i]),
                    "status": "active",
                    "source_file": "bench.jsonl",
                    "source_line": i + 1,
                }
            )
        session.execute(insert(Item), rows)
        ids = np.array(sorted(session.scalars(select(Item.id).where(Item.project_id == project_id))))
        annotated = rng.choice(ids, size=n_items // 10, replace=False)
        session.execute(
            insert(Annotation),
            [
                {
                    "project_id": project_id,
                    "item_id": int(item_id),
                    "user_id": users[ANNOTATORS[k % 5]],
                    "label": str(rng.choice(LABELS)),
                }
                for k, item_id in enumerate(annotated)
            ],
        )
        flagged = rng.choice(ids, size=int(n_items * flag_share), replace=False)
        flags = []
        for k, item_id in enumerate(flagged.tolist()):
            kind = k % 5
            if kind == 0:
                given, suggested = rng.choice(LABELS, size=2, replace=False)
                quality = float(rng.uniform(0, 0.3))
                flags.append(
                    (
                        "label_issue",
                        item_id,
                        1 - quality,
                        {
                            "given_label": str(given),
                            "suggested_label": str(suggested),
                            "label_quality": quality,
                            "p_given": quality,
                            "p_suggested": 0.8,
                        },
                    )
                )
            elif kind == 1 and k + 10 < len(flagged):
                group = [item_id, int(flagged[k + 5]), int(flagged[k + 10])]
                flags.append(
                    (
                        "near_duplicate",
                        item_id,
                        0.3,
                        {
                            "group": str(group[0]),
                            "group_size": 3,
                            "members": [str(m) for m in group],
                            "nearest": str(group[1]),
                            "similarity": 0.97,
                        },
                    )
                )
            elif kind == 2:
                flags.append(
                    (
                        "disagreement",
                        item_id,
                        0.5,
                        {
                            "votes": {"billing": 1, "bug": 1},
                            "n_annotators": 2,
                            "majority_label": None,
                            "needs_adjudication": True,
                        },
                    )
                )
            else:
                name = list(HEURISTICS)[k % len(HEURISTICS)]
                flags.append((name, item_id, float(rng.uniform(0.1, 0.9)), HEURISTICS[name](item_id)))
        resolved = set(rng.choice(len(flags), size=len(flags) // 10, replace=False).tolist())
        session.execute(
            insert(NoiseFlag),
            [
                {
                    "project_id": project_id,
                    "item_id": item_id,
                    "detector": detector,
                    "severity": severity,
                    "evidence": evidence,
                    "status": "resolved" if k in resolved else "open",
                }
                for k, (detector, item_id, severity, evidence) in enumerate(flags)
            ],
        )
    return project_id, users["lead"]


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds over ``repeats`` calls, and the last result.

    CPU seconds (this process's, database work included for SQLite) show the cost when the
    shared machine's other processes stretch the wall time.
    """
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--flag-share", type=float, default=0.2, help="share of items with a flag")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db-url", help="an empty database to fill (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.db_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        db = Database(url)
        migrate.upgrade(db)
        started = time.perf_counter()
        project_id, lead = fill(db, args.items, args.flag_share, np.random.default_rng(0))
        if db.dialect == "postgresql":  # what autovacuum does soon after a bulk load: planner statistics
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        print(f"filled {args.items:,} items in {time.perf_counter() - started:.1f} s ({db.dialect})")
        with db.read() as session:
            counts = open_counts(session, project_id)
        n_open = sum(n for n, _ in counts.values())
        print(f"{n_open:,} open flags on {args.items:,} items; load average {os.getloadavg()[0]:.1f}")

        cases = {
            "counts per detector": lambda s: open_counts(s, project_id),
            "page 1, no filter": lambda s: queue_page(s, project_id, page=1),
            "page 1,000, no filter": lambda s: queue_page(s, project_id, page=1000),
            "detector short_output": lambda s: queue_page(
                s, project_id, QueueFilter(detectors=("short_output",))
            ),
            "near_duplicate (related items)": lambda s: queue_page(
                s, project_id, QueueFilter(detectors=("near_duplicate",))
            ),
            "label billing (gold labels)": lambda s: queue_page(s, project_id, QueueFilter(label="billing")),
            "annotator ann3": lambda s: queue_page(s, project_id, QueueFilter(annotator="ann3")),
            "text search": lambda s: queue_page(s, project_id, QueueFilter(search="number 4")),
            "severity <= 0.3": lambda s: queue_page(s, project_id, QueueFilter(max_severity=0.3)),
        }
        print(f"\n{'what (median of ' + str(args.repeats) + ')':<34} {'wall s':>8} {'cpu s':>7} {'items':>7}")
        for name, case in cases.items():

            def run(case=case):
                with db.read() as session:
                    return case(session)

            wall, cpu, result = timed(run, args.repeats)
            rows = getattr(result, "total", len(result) if isinstance(result, dict) else "")
            print(f"{name:<34} {wall:>8.3f} {cpu:>7.3f} {rows:>7}")

        bulk_filter = QueueFilter(detectors=("short_output",), max_severity=0.5)
        started = time.perf_counter()
        with db.write() as session:
            outcome = decide_filter(session, project_id, lead, bulk_filter, "keep", reason="benchmark")
        decided = time.perf_counter() - started
        started = time.perf_counter()
        with db.write() as session:
            undo(session, project_id, lead, outcome.decisions[0].id)
        undone = time.perf_counter() - started
        n = len(outcome.decisions)
        print(f"\nbulk keep of {n:,} items: {decided:.2f} s; undo of the batch: {undone:.2f} s (wall)")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        db.dispose()


if __name__ == "__main__":
    main()
