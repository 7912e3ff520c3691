"""Export speed (issue 6: "exporting 100,000 items takes at most 20 s").

Fills a new SQLite database with N Alpaca items from ``/work/shared/data/alpaca`` (cycled with a
variant prefix so every item is distinct), imported labels over three classes, a scorer round
with a prediction per item, some near-duplicate flags and text edits; then times ``plan_export``
(reading the database and deciding everything) and ``write_export`` (files, card, manifest) for
each requested format, with a label mixture, a size, a validation split and quality down-sampling.

    python benchmarks/export_speed.py                       # 100,000 items, every format
    python benchmarks/export_speed.py --items 20000 --formats alpaca parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from workbench.export import FORMATS, ExportSettings, parse_mixture, plan_export, write_export  # noqa: E402
from workbench.store import migrate, projects  # noqa: E402
from workbench.store.engine import Database  # noqa: E402
from workbench.store.schema import Item, ItemRevision, NoiseFlag, Prediction, Round  # noqa: E402
from workbench.text import content_hash, normalize_text  # noqa: E402

ALPACA = Path("/work/shared/data/alpaca/alpaca_data.jsonl")
LABELS = ["math", "code", "chat"]


def fill(db: Database, n_items: int, rng: np.random.Generator) -> int:
    """A project with ``n_items`` labeled Alpaca items and a round; returns the project id."""
    source = [json.loads(line) for line in ALPACA.open(encoding="utf-8")]
    with db.write() as session:
        project = projects.create_project(
            session, "bench", labels=projects.make_label_schema(LABELS), embedding_model="bench"
        )
        project_id = project.id
        labels = rng.choice(LABELS, size=n_items, p=[0.1, 0.2, 0.7])
        rows = []
        for i in range(n_items):
            record = source[i % len(source)]
            sample = {
                "instruction": f"(variant {i // len(source)}) {record['instruction']}",
                "input": record["input"],
                "output": record["output"],
            }
            text = normalize_text("\n\n".join(sample.values()))
            rows.append(
                {
                    "project_id": project_id,
                    "shape": "alpaca",
                    "sample": sample,
                    "text": text,
                    "content_hash": content_hash(text),
                    "source_file": "alpaca_data.jsonl",
                    "source_line": i + 1,
                    "meta": {"source": "alpaca" if i % 3 else "dolly"},
                    "imported_label": str(labels[i]),
                    "status": "active",
                }
            )
        session.execute(insert(Item), rows)
        ids = np.array(
            sorted(
                session.scalars(
                    Item.__table__.select().with_only_columns(Item.id).where(Item.project_id == project_id)
                )
            )
        )
        round_ = Round(project_id=project_id, number=1, classes=LABELS)
        session.add(round_)
        session.flush()
        probas = rng.dirichlet(np.ones(len(LABELS)), size=n_items).astype(np.float32)
        session.execute(
            insert(Prediction),
            [
                {
                    "round_id": round_.id,
                    "item_id": int(item_id),
                    "predicted_label": LABELS[int(p.argmax())],
                    "confidence": float(p.max()),
                    "probabilities": p.tobytes(),
                }
                for item_id, p in zip(ids, probas, strict=True)
            ],
        )
        flagged = ids[: n_items // 20]  # 5% of the items in near-duplicate pairs
        session.execute(
            insert(NoiseFlag),
            [
                {
                    "project_id": project_id,
                    "item_id": int(item_id),
                    "detector": "near_duplicate",
                    "severity": 0.5,
                    "evidence": {"group": k // 2},
                    "status": "open",
                }
                for k, item_id in enumerate(flagged)
            ],
        )
        edited = ids[n_items // 20 : n_items // 10]
        session.execute(
            insert(ItemRevision),
            [
                {
                    "item_id": int(item_id),
                    "revision": 1,
                    "sample": {"instruction": "edited", "input": "", "output": "x"},
                    "text": "edited",
                    "content_hash": content_hash(f"edited {item_id}"),
                    "reason": "",
                }
                for item_id in edited
            ],
        )
    return project_id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite")
        migrate.upgrade(db)
        started = time.perf_counter()
        project_id = fill(db, args.items, np.random.default_rng(0))
        print(f"filled {args.items:,} items in {time.perf_counter() - started:.1f} s")
        settings = dict(
            mixture=(parse_mixture("label=math:0.2,code:0.2,chat:0.6"),),
            size=args.items,
            val_fraction=0.05,
            seed=1,
            downsample="quality",
            max_repeats=3,
        )
        for fmt in args.formats:
            started = time.perf_counter()
            with db.read() as session:
                plan = plan_export(session, project_id, ExportSettings(format=fmt, **settings))
            planned = time.perf_counter() - started
            manifest = write_export(plan, Path(tmp) / fmt)
            total = time.perf_counter() - started
            n_records = sum(info.get("records", 0) for info in manifest["files"].values())
            verdict = "ok" if total <= 20 else "OVER the 20 s budget"
            print(
                f"{fmt:<9} {n_records:>8,} records  plan {planned:5.1f} s  total {total:5.1f} s  ({verdict})"
            )
        db.dispose()


if __name__ == "__main__":
    main()
