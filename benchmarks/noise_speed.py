"""Noise detection over 100,000 items in at most 60 s on 2 cores (issue 5).

Items: banking77's cached embeddings tiled to ``--items`` rows, each copy turned by a small random
rotation-like jitter (so copies are near-duplicates, not exact ones), plus planted exact copies.
Labels: banking77's, so the label detectors do real work. Timed: the label-issue, duplicate and
label-conflict detectors (what ``find-noise`` runs), each detector apart and in total, and the
recall of the planted near-duplicate pairs. Run from the repository root::

    PYTHONPATH=. python benchmarks/noise_speed.py [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_info

from benchmarks.noise_common import DATA
from workbench.cli.app import database
from workbench.config import Settings
from workbench.embed import embed_texts
from workbench.noise import NoiseData, NoiseSettings, run_detectors
from workbench.noise.duplicates import duplicate_pairs
from workbench.noise.file_report import FILE_DETECTORS
from workbench.store.migrate import upgrade

#: Jitter added to each tiled copy: cosine about 0.97-0.99 to its original.
JITTER = 0.15


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = [json.loads(line) for line in (DATA / "banking77" / "banking77.jsonl").open(encoding="utf-8")]
    db = database()
    upgrade(db)
    base = embed_texts(db, [r["text"] for r in rows], model=Settings.from_env().embedding_model)
    base_labels = np.array([r["label"] for r in rows])
    rng = np.random.default_rng(args.seed)
    source = np.arange(args.items) % len(base)
    X = base[source].copy()
    copies = np.flatnonzero(np.arange(args.items) >= len(base))
    noise = rng.normal(size=(len(copies), base.shape[1])).astype(np.float32)
    X[copies] += JITTER * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = base_labels[source].tolist()
    hashes = [f"h{i}" for i in range(args.items)]
    for i in rng.choice(args.items, args.items // 100, replace=False):  # 1% exact copies of another item
        hashes[i] = hashes[(i + 1) % args.items]
    data = NoiseData(list(range(args.items)), labels=labels, embeddings=X, content_hashes=hashes)
    blas = {(info["internal_api"], info["num_threads"]) for info in threadpool_info()}
    print(f"{args.items} items, {X.shape[1]} dimensions, {len(base)} distinct texts; BLAS {sorted(blas)}")

    settings = NoiseSettings()
    started = time.perf_counter()
    cpu_started = time.process_time()
    counts = {}
    for name in FILE_DETECTORS:
        t = time.perf_counter()
        counts[name] = len(run_detectors(data, [name], settings))
        print(f"  {name:<16} {time.perf_counter() - t:6.1f} s  {counts[name]:>7} findings")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    first, second, sim = duplicate_pairs(data, settings)
    found = set(zip(first.tolist(), second.tolist()))
    # Planted: each copy with its original (and copies of one original with each other).
    planted = {(int(source[c]), int(c)) for c in copies if source[c] != c}
    cos = np.einsum("ij,ij->i", X[[a for a, _ in planted]], X[[b for _, b in planted]])
    above = {pair for pair, c in zip(planted, cos) if c >= settings.near_duplicate_threshold}
    recall = len(above & found) / max(len(above), 1)
    verdict = "PASS" if seconds <= 60 else "FAIL"
    print(f"total {seconds:.1f} s wall, {cpu:.1f} s CPU (limit 60 s on 2 cores): {verdict}")
    print(
        f"near-duplicate pairs found {len(first)}; recall of planted copy pairs above the threshold "
        f"{recall:.3f} ({len(above & found)}/{len(above)})"
    )


if __name__ == "__main__":
    main()
