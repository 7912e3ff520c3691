"""Near-duplicate pairs: every pair of vectors with cosine similarity at least a threshold.

A full similarity matrix of 100,000 items is 4e12 multiply-adds at 384 dimensions, minutes on two
cores. The search is instead an inverted file (as in FAISS's IVF): a few rounds of spherical
k-means on a sample give ``n / LIST_SIZE`` centroids, every item is stored in the list of its
nearest centroid and compared with the members of its ``PROBES`` nearest lists only, in float32
blocks. Pairs above a high threshold lie next to each other, so they share a list or a neighbouring
one; below ``LIST_SIZE`` items there is a single list and the search is exact.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

#: Mean items per list; each item is compared with about ``PROBES * LIST_SIZE`` others.
LIST_SIZE = 500
#: Lists each item is compared with (its nearest centroids).
PROBES = 3
#: Spherical k-means rounds, on at most ``SAMPLE_PER_LIST`` sampled items per list.
KMEANS_ROUNDS = 6
SAMPLE_PER_LIST = 40
#: Query rows per matrix product (bounds memory on lists that came out large).
QUERY_BLOCK = 2048


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), float32, shape (n, d)."""
    X = np.array(vectors, dtype=np.float32, copy=True)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X /= np.where(norms == 0, 1, norms)
    return X


def _centroids(X: np.ndarray, n_lists: int, rng: np.random.Generator) -> np.ndarray:
    sample = X[rng.choice(len(X), min(len(X), n_lists * SAMPLE_PER_LIST), replace=False)]
    centroids = sample[rng.choice(len(sample), n_lists, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        filled = np.linalg.norm(sums, axis=1) > 0  # an empty list keeps its centroid
        centroids[filled] = unit_rows(sums[filled])
    return centroids


def _nearest_lists(X: np.ndarray, centroids: np.ndarray, probes: int) -> np.ndarray:
    """The ``probes`` nearest centroids of each row, nearest first, shape (n, probes)."""
    out = np.empty((len(X), probes), dtype=np.int64)
    for start in range(0, len(X), QUERY_BLOCK * 8):
        sims = X[start : start + QUERY_BLOCK * 8] @ centroids.T
        top = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + len(sims)] = np.take_along_axis(top, order, axis=1)
    return out


def _cap_per_row(sims: np.ndarray, hits: np.ndarray, max_neighbors: int) -> None:
    """Keep at most ``max_neighbors`` hits per row (the most similar), in place."""
    crowded = np.flatnonzero(hits.sum(axis=1) > max_neighbors)
    for row in crowded:
        kth = np.partition(sims[row], -max_neighbors)[-max_neighbors]
        hits[row] &= sims[row] >= kth


def near_duplicate_pairs(
    vectors: np.ndarray, threshold: float, *, max_neighbors: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows whose cosine similarity is at least ``threshold``.

    Parameters
    ----------
    vectors : np.ndarray, shape (n, d)
        Need not be normalized.
    threshold : float
        In (0, 1].
    max_neighbors : int
        At most this many pairs per row are kept (its most similar), so a huge cluster of
        copies cannot produce n^2 pairs.
    seed : int
        Fixes the k-means sample (which pairs are found above ``LIST_SIZE`` items).

    Returns
    -------
    first, second : np.ndarray, shape (p,), int64
        Row numbers with ``first < second``, each pair once.
    similarity : np.ndarray, shape (p,), float32
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if max_neighbors < 1:
        raise ValueError(f"max_neighbors must be at least 1, got {max_neighbors}")
    X = unit_rows(vectors)
    n = len(X)
    empty = np.empty(0, np.int64)
    if n < 2:
        return empty, empty.copy(), np.empty(0, np.float32)
    rng = np.random.default_rng(seed)
    n_lists = max(1, n // LIST_SIZE)
    probes = min(PROBES, n_lists)
    firsts, seconds, sims_found = [], [], []
    with threadpool_limits(limits=2, user_api="blas"):
        centroids = _centroids(X, n_lists, rng)
        probe = _nearest_lists(X, centroids, probes)
        members_of = np.split(
            np.argsort(probe[:, 0], kind="stable"),
            np.cumsum(np.bincount(probe[:, 0], minlength=n_lists))[:-1],
        )
        flat_lists = probe.ravel()
        queries_of = np.split(
            np.argsort(flat_lists, kind="stable") // probes,
            np.cumsum(np.bincount(flat_lists, minlength=n_lists))[:-1],
        )
        for members, queries in zip(members_of, queries_of):
            if len(members) == 0:
                continue
            Xm = X[members]
            for start in range(0, len(queries), QUERY_BLOCK):
                rows = queries[start : start + QUERY_BLOCK]
                sims = X[rows] @ Xm.T
                hits = (sims >= threshold) & (rows[:, None] != members[None, :])
                _cap_per_row(sims, hits, max_neighbors)
                q, m = np.nonzero(hits)
                firsts.append(rows[q])
                seconds.append(members[m])
                sims_found.append(sims[q, m])
    if not firsts:
        return empty, empty.copy(), np.empty(0, np.float32)
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    sim = np.concatenate(sims_found).astype(np.float32)
    first, second = np.minimum(a, b), np.maximum(a, b)
    _, keep = np.unique(first * n + second, return_index=True)
    return first[keep], second[keep], np.minimum(sim[keep], 1.0)
