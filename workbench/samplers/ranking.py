"""Which items, once every item has a score: the shared top-k and proportional quotas."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first; equal scores in random order.

    Runs in O(n) plus O(k log k), so it stays fast on million-item pools.

    Parameters
    ----------
    scores : np.ndarray, shape (n,)
        Higher = pick sooner. NaN counts as lowest (use it to exclude items).
    k : int
        Reduced to ``n`` when larger.

    Returns
    -------
    np.ndarray, shape (min(k, n),), int64
    """
    scores = np.where(np.isnan(scores), -np.inf, scores)
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    threshold = np.partition(scores, n - k)[n - k]
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)
    chosen = np.concatenate([above, rng.choice(tied, k - len(above), replace=False)])
    # Shuffle before the stable sort so equal scores come out in random order.
    chosen = rng.permutation(chosen)
    return chosen[np.argsort(-scores[chosen], kind="stable")].astype(np.int64)


def allocate(weights: np.ndarray, total: int, capacity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` picks across groups in proportion to ``weights``, within each capacity.

    Largest-remainder rounding (remainders tied at random); what a full group cannot take is
    shared among the others by weight again. Groups with zero weight get picks only when every
    group with weight is full.

    Parameters
    ----------
    weights : np.ndarray, shape (g,)
        Non-negative.
    total : int
    capacity : np.ndarray, shape (g,)
        Most picks each group can take.

    Returns
    -------
    np.ndarray, shape (g,), int64
        Sums to ``min(total, capacity.sum())``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    capacity = np.asarray(capacity, dtype=np.int64)
    quota = np.zeros(len(weights), dtype=np.int64)
    remaining = min(int(total), int(capacity.sum()))
    while remaining > 0:
        open_ = quota < capacity
        w = np.where(open_, weights, 0.0)
        if w.sum() <= 0:
            w = open_.astype(np.float64)
        exact = remaining * w / w.sum()
        share = np.minimum(np.floor(exact).astype(np.int64), capacity - quota)
        leftover = remaining - int(share.sum())
        if leftover > 0:
            # Remainders for groups still open after their share; random keys break ties.
            fraction = np.where(open_ & (quota + share < capacity) & (w > 0), exact - np.floor(exact), -1.0)
            order = np.lexsort((rng.random(len(w)), -fraction))
            extra = order[: min(leftover, int((fraction >= 0).sum()))]
            share[extra] += 1
        quota += share
        remaining -= int(share.sum())
    return quota
