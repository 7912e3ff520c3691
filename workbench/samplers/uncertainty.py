"""Uncertainty sampling: ``least_confidence``, ``margin``, ``entropy``.

Each sampler is a utility (one informativeness score per item, higher = more uncertain) plus
the shared top-k. Without probabilities (no scorer yet: fewer than two labeled classes) they
fall back to ``diversity``, the cold start.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.samplers.base import SamplerContext, Selection
from workbench.samplers.ranking import top_k
from workbench.samplers.registry import get_sampler, register

#: Rows per chunk in the utilities: bounds the temporary copies on million-item pools.
CHUNK = 65_536


def _rowwise(probas: np.ndarray, per_chunk: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.empty(len(probas), dtype=np.float32)
    for start in range(0, len(probas), CHUNK):
        out[start : start + CHUNK] = per_chunk(probas[start : start + CHUNK])
    return out


def least_confidence_utility(probas: np.ndarray) -> np.ndarray:
    """1 - the top probability, shape (n,); probas (n, n_classes)."""
    return _rowwise(probas, lambda p: 1.0 - p.max(axis=1))


def margin_utility(probas: np.ndarray) -> np.ndarray:
    """1 - (top probability - second probability), shape (n,); probas (n, n_classes)."""

    def chunk(p: np.ndarray) -> np.ndarray:
        top_two = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])

    return _rowwise(probas, chunk)


def entropy_utility(probas: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats, shape (n,); probas (n, n_classes)."""

    def chunk(p: np.ndarray) -> np.ndarray:
        return -np.sum(p * np.log(np.clip(p, 1e-12, 1.0)), axis=1)

    return _rowwise(probas, chunk)


def cold_start(
    embeddings: np.ndarray, labeled_mask: np.ndarray, k: int, rng: np.random.Generator, context: SamplerContext | None
) -> Selection:
    """The ``diversity`` selection, used when a sampler has no probabilities to work with."""
    return get_sampler("diversity")(None, embeddings, labeled_mask, k, rng=rng, context=context)


def select_by_utility(
    utility: np.ndarray, labeled_mask: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """The ``k`` unlabeled positions of highest utility, best first (ties at random).

    Fewer when fewer items are unlabeled (e.g. a 10k pre-filter near the end of the pool).
    """
    scores = utility.astype(np.float32, copy=True)
    scores[labeled_mask] = np.nan
    return top_k(scores, min(k, int(len(labeled_mask) - labeled_mask.sum())), rng)


def _uncertainty_sampler(
    name: str, utility: Callable[[np.ndarray], np.ndarray], describe: Callable[[float], str]
) -> None:
    def sample(
        probas: np.ndarray | None,
        embeddings: np.ndarray,
        labeled_mask: np.ndarray,
        k: int,
        *,
        rng: np.random.Generator,
        context: SamplerContext | None = None,
    ) -> Selection:
        if probas is None:
            return cold_start(embeddings, labeled_mask, k, rng, context)
        scores = utility(probas)
        picked = select_by_utility(scores, labeled_mask, k, rng)
        return Selection(picked, scores[picked], tuple(describe(float(s)) for s in scores[picked]))

    sample.__name__ = name
    sample.__doc__ = f"The unlabeled items of highest {utility.__name__.removesuffix('_utility')} utility."
    register(name)(sample)


_uncertainty_sampler("least_confidence", least_confidence_utility, lambda s: f"top probability {1.0 - s:.3f}")
_uncertainty_sampler("margin", margin_utility, lambda s: f"margin {1.0 - s:.3f}")
_uncertainty_sampler("entropy", entropy_utility, lambda s: f"entropy {s:.3f} nats")
