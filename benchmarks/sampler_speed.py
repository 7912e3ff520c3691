"""Speed of a round: retrain + rescore + select on 100,000 items, and selection alone on 1,000,000.

Targets (issue 3, on 2 cores): retrain + rescore + select with 2,000 labels on a 100,000-item pool
in at most 10 s; selection alone on a 1,000,000-item pool in at most 5 s and 3 GB of memory.

The pools are banking77 embeddings (from the app's embedding cache, computed on first use)
tiled with Gaussian noise, with banking77's 77 labels, so clusters and class structure are
realistic. Run from the repository root::

    PYTHONPATH=. python benchmarks/sampler_speed.py [--sampler hybrid] [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from workbench.cli.app import database
from workbench.config import REPO_ROOT, Settings
from workbench.embed import embed_texts
from workbench.samplers import SamplerContext, pool_errors, sampler_spec
from workbench.scorer import Scorer, out_of_fold_probas
from workbench.store.migrate import upgrade

BANKING77 = REPO_ROOT.parent / "shared" / "data" / "banking77" / "banking77.jsonl"
NOISE = 0.02  # per-dimension noise on unit vectors: copies stay near their original (cosine ~0.9)
CHUNK = 50_000


def peak_rss_gb() -> float:
    """Peak resident memory since the last ``reset_peak_rss`` (``VmHWM``), else of the whole process."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS counter, so the selection's own peak (with its inputs
    resident) is measured rather than that of building the synthetic pool."""
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")


def _texts_and_labels(path: Path) -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    return [r["text"] for r in rows], np.array([r["label"] for r in rows])


def _embed(path: Path) -> np.ndarray:
    db = database()
    upgrade(db)
    return embed_texts(db, _texts_and_labels(path)[0], model=Settings.from_env().embedding_model)


def banking77(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (13083, 384) float32 through the app's cache, and the labels.

    Missing vectors are computed in a child process first, so the model (torch) never counts
    towards this process's peak memory; here they are only read from the cache.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        child.submit(_embed, path).result()
    return _embed(path), _texts_and_labels(path)[1]


def tiled(base: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy copies of the base rows, shape (n, d) float32, filled chunk by chunk (no big temporaries)."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    source = rng.integers(0, len(base), n)
    for start in range(0, n, CHUNK):
        rows = source[start : start + CHUNK]
        chunk = base[rows] + rng.normal(0.0, NOISE, (len(rows), base.shape[1])).astype(np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start : start + CHUNK] = chunk
    return out, labels[source]


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<34} {seconds:6.2f} s")
    return result, seconds


def full_round(base, labels, sampler: str, batch: int, rng: np.random.Generator) -> None:
    n_pool, n_labels = 100_000, 2_000
    print(f"\nretrain + rescore + select: pool {n_pool:,}, {n_labels:,} labels, sampler {sampler}, batch {batch}")
    embeddings, pool_labels = tiled(base, labels, n_pool, rng)
    labeled = rng.choice(n_pool, n_labels, replace=False)
    mask = np.zeros(n_pool, dtype=bool)
    mask[labeled] = True
    spec = sampler_spec(sampler)

    scorer, fit_s = timed("retrain (fit)", lambda: Scorer().fit(embeddings[labeled], pool_labels[labeled]))
    probas, score_s = timed("rescore (predict_proba)", lambda: scorer.predict_proba(embeddings))
    oof_s = 0.0
    context = SamplerContext()
    if spec.uses_out_of_fold:
        oof, oof_s = timed(
            "out-of-fold probabilities (5 fits)",
            lambda: out_of_fold_probas(Scorer(), embeddings[labeled], pool_labels[labeled], seed=0),
        )
        context = SamplerContext(oof_error=pool_errors(n_pool, labeled, oof, scorer.classes_, pool_labels[labeled]))
    _, select_s = timed("select", lambda: spec.fn(probas, embeddings, mask, batch, rng=rng, context=context))
    total = fit_s + score_s + oof_s + select_s
    print(f"  {'total':<34} {total:6.2f} s   (target <= 10 s: {'ok' if total <= 10 else 'MISSED'})")


def selection_alone(base, labels, sampler: str, batch: int, rng: np.random.Generator) -> None:
    n_pool, n_labels = 1_000_000, 2_000
    print(f"\nselection alone: pool {n_pool:,}, {n_labels:,} labels, sampler {sampler}, batch {batch}")
    embeddings, pool_labels = tiled(base, labels, n_pool, rng)
    labeled = rng.choice(n_pool, n_labels, replace=False)
    mask = np.zeros(n_pool, dtype=bool)
    mask[labeled] = True
    scorer = Scorer().fit(embeddings[labeled], pool_labels[labeled])
    probas = scorer.predict_proba(embeddings)
    spec = sampler_spec(sampler)
    context = SamplerContext()
    if spec.uses_out_of_fold:
        oof = out_of_fold_probas(Scorer(), embeddings[labeled], pool_labels[labeled], seed=0)
        context = SamplerContext(oof_error=pool_errors(n_pool, labeled, oof, scorer.classes_, pool_labels[labeled]))
    inputs_gb = (embeddings.nbytes + probas.nbytes) / 1024**3
    reset_peak_rss()
    _, seconds = timed("select", lambda: spec.fn(probas, embeddings, mask, batch, rng=rng, context=context))
    peak = peak_rss_gb()
    print(f"  inputs (embeddings + probas)       {inputs_gb:6.2f} GB")
    print(f"  peak RSS while selecting           {peak:6.2f} GB (inputs included)")
    print(
        f"  target <= 5 s: {'ok' if seconds <= 5 else 'MISSED'};"
        f" target <= 3 GB: {'ok' if peak <= 3 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", default="hybrid")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BANKING77)
    args = parser.parse_args()
    base, labels = banking77(args.data)
    full_round(base, labels, args.sampler, args.batch, np.random.default_rng(args.seed))
    selection_alone(base, labels, args.sampler, args.batch, np.random.default_rng(args.seed))


if __name__ == "__main__":
    main()
