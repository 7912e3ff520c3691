"""Samplers: which unlabeled items to label next.

Every sampler is a registered function with one signature::

    selection = get_sampler("margin")(probas, embeddings, labeled_mask, k, rng=rng, context=None)

- ``probas``: (n_pool, n_classes) scorer probabilities, or None when there is no scorer yet
  (fewer than two labeled classes): samplers that need them fall back to ``diversity``;
- ``embeddings``: (n_pool, d) float32; ``labeled_mask``: (n_pool,) bool;
- ``k``: items wanted; ``rng``: the only source of randomness (same seed, same selection);
- ``context``: optional extras (``SamplerContext``: out-of-fold errors, metadata slices, hybrid
  budget).

It returns a ``Selection`` of ``min(k, n_unlabeled)`` unique unlabeled pool positions with a
score, a reason and the picking sampler for each; an empty pool raises ``EmptyPoolError``.
Families: ``random``; ``least_confidence``, ``margin``, ``entropy``; ``diversity``;
``error_rate``; ``diverse_margin`` and ``hybrid`` (the default); ``random_control``, the random
slice a hybrid budget keeps to measure what random sampling would reach (``with_control``).
"""

from workbench.samplers import (  # noqa: F401  (register)
    control,
    diversity,
    error_rate,
    hybrid,
    random_sampler,
    uncertainty,
)
from workbench.samplers.base import EmptyPoolError, Sampler, SamplerContext, Selection, UnknownSamplerError
from workbench.samplers.control import (
    CONTROL_SAMPLER,
    DEFAULT_CONTROL_SHARE,
    check_control_share,
    with_control,
)
from workbench.samplers.error_rate import pool_errors
from workbench.samplers.hybrid import DEFAULT_BUDGET
from workbench.samplers.registry import SamplerSpec, get_sampler, register, sampler_names, sampler_spec

#: The sampler a project uses unless it chooses another.
DEFAULT_SAMPLER = "hybrid"

__all__ = [
    "CONTROL_SAMPLER",
    "DEFAULT_BUDGET",
    "DEFAULT_CONTROL_SHARE",
    "DEFAULT_SAMPLER",
    "EmptyPoolError",
    "Sampler",
    "SamplerContext",
    "SamplerSpec",
    "Selection",
    "UnknownSamplerError",
    "check_control_share",
    "get_sampler",
    "pool_errors",
    "register",
    "sampler_names",
    "sampler_spec",
    "with_control",
]
