"""Synthetic pools for the sampler tests: blobs in embedding space, with probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pool:
    embeddings: np.ndarray  # (n, d) float32
    labels: np.ndarray  # (n,) int, the blob of each item
    probas: np.ndarray  # (n, n_blobs) float32
    labeled_mask: np.ndarray  # (n,) bool


def make_blobs(
    n_per_blob: int, n_blobs: int, dim: int, seed: int, spread: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm blobs around random directions: (n_blobs * n_per_blob, dim) float32 and blob ids."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_blobs, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_blobs), n_per_blob)
    points = centers[labels] + spread * rng.normal(size=(len(labels), dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32), labels


def small_pool() -> Pool:
    """240 items in 4 blobs (16-d), random probabilities, 40 of them labeled."""
    embeddings, labels = make_blobs(n_per_blob=60, n_blobs=4, dim=16, seed=0)
    rng = np.random.default_rng(1)
    probas = rng.dirichlet(np.ones(4), size=len(labels)).astype(np.float32)
    labeled_mask = np.zeros(len(labels), dtype=bool)
    labeled_mask[rng.choice(len(labels), 40, replace=False)] = True
    return Pool(embeddings, labels, probas, labeled_mask)
