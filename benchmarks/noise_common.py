"""Shared by the noise benchmarks: run the stable ``find-noise`` CLI and score its flags."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.config import REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Flags:
    """``flags.csv`` as arrays, in input order."""

    ids: list[str]
    suggested: np.ndarray
    quality: np.ndarray
    flagged: np.ndarray
    detectors: list[list[str]]
    seconds: float


def find_noise(data: Path, out: Path, *extra: str) -> Flags:
    """Run ``python -m workbench find-noise DATA ... --out OUT`` and read what it wrote."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "workbench", "find-noise", str(data), "--text-field", "text",
         "--label-field", "label", "--out", str(out), *extra],
        check=True, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return Flags(
        ids=[r["id"] for r in rows],
        suggested=np.array([r["suggested_label"] for r in rows]),
        quality=np.array([float(r["label_quality"]) for r in rows]),
        flagged=np.array([r["flagged"] == "1" for r in rows]),
        detectors=[r["detectors"].split(";") if r["detectors"] else [] for r in rows],
        seconds=seconds,
    )


def precision_recall_f1(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Of two bool masks (n,): precision, recall and F1 of ``predicted`` against ``truth``."""
    hits = int((predicted & truth).sum())
    precision = hits / max(int(predicted.sum()), 1)
    recall = hits / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return precision, recall, f1
