"""Synthetic label noise on banking77: our detector against cleanlab over logistic regression.

20% of the training rows get a wrong label, seeded: half go to the nearest other class (class
centroids of the true labels, cosine similarity of the embeddings), half to a random other class.
Printed: precision, recall and F1 of the rows ``find-noise`` flags (the stable CLI, labels taken as
given) and of the reference measured in the same run: cleanlab ``find_label_issues`` over 5-fold
``LogisticRegression`` probabilities (the issue's setting, F1 ~0.82). Run from the repository root::

    PYTHONPATH=. python benchmarks/noise_banking77.py [--seeds 0 1 2] [--noise 0.2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from cleanlab.filter import find_label_issues
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from benchmarks.noise_common import DATA, find_noise, precision_recall_f1
from workbench.cli.app import database
from workbench.config import Settings
from workbench.embed import embed_texts
from workbench.store.migrate import upgrade


def flip_labels(labels: np.ndarray, X: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Labels with ``share`` of the rows flipped: half to the nearest class, half at random. Shape (n,)."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    centroids = np.stack([X[labels == c].mean(axis=0) for c in classes])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    sims = centroids @ centroids.T
    np.fill_diagonal(sims, -np.inf)
    nearest = classes[np.argmax(sims, axis=1)]
    at = np.searchsorted(classes, labels)
    chosen = rng.choice(len(labels), int(round(share * len(labels))), replace=False)
    to_nearest, to_random = chosen[: len(chosen) // 2], chosen[len(chosen) // 2 :]
    noisy = labels.copy()
    noisy[to_nearest] = nearest[at[to_nearest]]
    offsets = rng.integers(1, len(classes), len(to_random))  # never the true class
    noisy[to_random] = classes[(at[to_random] + offsets) % len(classes)]
    return noisy


def reference_issues(X: np.ndarray, noisy: np.ndarray, seed: int) -> np.ndarray:
    """cleanlab ``find_label_issues`` over 5-fold logistic-regression probabilities, bool (n,)."""
    classes, given = np.unique(noisy, return_inverse=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    probas = cross_val_predict(LogisticRegression(max_iter=1000), X, given, cv=folds, method="predict_proba")
    return find_label_issues(given, probas)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--noise", type=float, default=0.2)
    args = parser.parse_args()

    rows = [json.loads(line) for line in (DATA / "banking77" / "banking77.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["split"] == "train"]
    labels = np.array([r["label"] for r in rows])
    db = database()
    upgrade(db)
    X = embed_texts(db, [r["text"] for r in rows], model=Settings.from_env().embedding_model)
    print(f"banking77 train: {len(rows)} rows, {len(np.unique(labels))} classes, {args.noise:.0%} flipped")
    print(
        f"{'seed':>4} {'method':<28} {'flagged':>7} {'precision':>9} {'recall':>7} {'F1':>6} {'seconds':>8}"
    )
    for seed in args.seeds:
        noisy = flip_labels(labels, X, args.noise, seed)
        truth = noisy != labels
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "noisy.jsonl"
            data.write_text(
                "".join(
                    json.dumps({"id": r["id"], "text": r["text"], "label": lab}) + "\n"
                    for r, lab in zip(rows, noisy)
                ),
                encoding="utf-8",
            )
            flags = find_noise(data, Path(tmp) / "flags.csv", "--seed", str(seed))
        started = time.perf_counter()
        reference = reference_issues(X, noisy, seed)
        ref_seconds = time.perf_counter() - started
        for name, mask, seconds in (
            ("find-noise (flagged)", flags.flagged, flags.seconds),
            ("reference cleanlab + LR", reference, ref_seconds),
        ):
            p, r, f = precision_recall_f1(mask, truth)
            print(f"{seed:>4} {name:<28} {int(mask.sum()):>7} {p:>9.3f} {r:>7.3f} {f:>6.3f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
