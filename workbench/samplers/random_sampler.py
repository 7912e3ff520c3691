"""``random``: the control every other sampler is measured against."""

from __future__ import annotations

import numpy as np

from workbench.samplers.base import SamplerContext, Selection
from workbench.samplers.registry import register


@register("random", diverse=True)
def random_sample(
    probas: np.ndarray | None,
    embeddings: np.ndarray,
    labeled_mask: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    context: SamplerContext | None = None,
) -> Selection:
    """Uniformly random unlabeled items (score 0: no item is preferred)."""
    return uniform_draw(labeled_mask, k, rng, "random draw (control)")


def uniform_draw(labeled_mask: np.ndarray, k: int, rng: np.random.Generator, reason: str) -> Selection:
    """``k`` unlabeled items drawn uniformly without replacement, each with score 0 and ``reason``."""
    picked = rng.choice(np.flatnonzero(~labeled_mask), k, replace=False)
    return Selection(picked, np.zeros(k, np.float32), (reason,) * k)
