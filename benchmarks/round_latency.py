"""A whole app round on a large project: read the pool, retrain, rescore, select, write.

Builds a SQLite project of N items (banking77 texts repeated with distinct suffixes; vectors are
banking77 embeddings plus small noise, stored straight in the cache so nothing is encoded) with
2,000 imported labels, then times ``run_round`` by phase. Run by hand:

    PYTHONPATH=. python benchmarks/round_latency.py --items 100000 --labels 2000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from workbench import rounds
from workbench.config import BUNDLED_MODEL
from workbench.embed import embed_texts
from workbench.store import migrate, projects
from workbench.store.engine import Database
from workbench.store.schema import Embedding, Item, Project
from workbench.text import content_hash, normalize_text

BANKING = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "banking77.jsonl"


def build(db: Database, n_items: int, n_labels: int, seed: int) -> int:
    rows = [json.loads(line) for line in BANKING.open(encoding="utf-8")]
    base = embed_texts(Database(f"sqlite:///{Path(tempfile.gettempdir()) / 'wb_bench.sqlite'}"),
                       [r["text"] for r in rows], model=BUNDLED_MODEL)
    rng = np.random.default_rng(seed)
    with db.write() as session:
        project = projects.create_project(session, "big", labels=[], embedding_model=BUNDLED_MODEL,
                                          settings={"batch_size": 100})
        project_id = project.id
        labeled = set(rng.choice(n_items, n_labels, replace=False).tolist())
        items, vectors = [], []
        for i in range(n_items):
            row = rows[i % len(rows)]
            text = normalize_text(f"{row['text']} #{i}")
            digest = content_hash(text)
            items.append({"project_id": project_id, "shape": "text", "sample": {"text": text}, "text": text,
                          "content_hash": digest, "meta": {"source": f"s{i % 3}"}, "status": "active",
                          "imported_label": row["label"] if i in labeled else None, "source_file": "bench"})
            vector = base[i % len(rows)] + rng.normal(0, 0.02, base.shape[1]).astype(np.float32)
            vectors.append({"model": BUNDLED_MODEL, "content_hash": digest, "dim": base.shape[1],
                            "vector": (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()})
        session.execute(insert(Item), items)
        session.execute(insert(Embedding), vectors)
    return project_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'round.sqlite'}")
        migrate.upgrade(db)
        started = time.perf_counter()
        project_id = build(db, args.items, args.labels, args.seed)
        print(f"built {args.items:,} items with {args.labels:,} labels in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        with db.read() as session:
            project = session.get(Project, project_id)
            settings = rounds.RoundSettings.of(project)
            pool = rounds.read_pool(session, project, settings)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        result = rounds.train_and_select(pool, settings, seed=1)
        compute_s = time.perf_counter() - started
        started = time.perf_counter()
        with db.write() as session:
            rounds.write_round(session, session.get(Project, project_id), pool, result, number=1, trigger="lead",
                               artefact=None, job_id=None, snapshot_at=rounds.utcnow())
        write_s = time.perf_counter() - started
        print(f"read pool      {read_s:6.2f} s")
        print(f"train+select   {compute_s:6.2f} s  (fit + out-of-fold CV {result.metrics['train_seconds']:.2f} s, "
              f"select {result.metrics['select_seconds']:.2f} s)")
        print(f"write round    {write_s:6.2f} s  ({args.items:,} predictions, {len(result.selection)} candidates)")
        print(f"total          {read_s + compute_s + write_s:6.2f} s; CV accuracy {result.metrics['cv']['accuracy']:.3f}")


if __name__ == "__main__":
    main()
