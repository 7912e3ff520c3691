"""Samplers that combine informativeness with diversity: ``diverse_margin`` and ``hybrid``.

``diverse_margin`` is Zhdanov (2019), "Diverse mini-batch active learning": the ``10k`` items of
smallest margin, clustered by k-means (weighted by their margin utility) into ``k`` clusters, and
the item nearest each center. ``hybrid`` splits the batch across several samplers by a budget,
each seeing the earlier picks as taken, so the parts neither overlap nor crowd one region.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench.samplers.base import SamplerContext, Selection
from workbench.samplers.clustering import kmeans
from workbench.samplers.ranking import allocate
from workbench.samplers.registry import get_sampler, register, sampler_names
from workbench.samplers.uncertainty import cold_start, margin_utility, select_by_utility

#: Candidates kept by the margin pre-filter, per item to select (Zhdanov's beta).
PREFILTER_FACTOR = 10

#: The default budget split of ``hybrid``: sampler name to share of the batch.
DEFAULT_BUDGET: dict[str, float] = {"diverse_margin": 0.5, "diversity": 0.3, "error_rate": 0.2}


@register("diverse_margin")
def diverse_margin(
    probas: np.ndarray | None,
    embeddings: np.ndarray,
    labeled_mask: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    context: SamplerContext | None = None,
) -> Selection:
    """One item per k-means cluster of the 10k smallest-margin items (Zhdanov 2019)."""
    if probas is None:
        return cold_start(embeddings, labeled_mask, k, rng, context)
    utility = margin_utility(probas)
    candidates = select_by_utility(utility, labeled_mask, PREFILTER_FACTOR * k, rng)
    clustering = kmeans(embeddings, candidates, k, rng, sample_weight=utility[candidates])
    order = clustering.spread_order(utility[candidates], rng)[:k]
    picked = candidates[order]
    # Best first by margin; the clusters already made the batch diverse.
    picked = picked[np.argsort(-utility[picked], kind="stable")]
    reasons = tuple(
        f"margin {1.0 - utility[p]:.3f}, one of {k} clusters among the {len(candidates)} smallest margins"
        for p in picked
    )
    return Selection(picked, utility[picked], reasons)


def budget_split(budget: Mapping[str, float]) -> dict[str, float]:
    """``budget`` checked and normalized to shares summing to 1.

    Raises
    ------
    ValueError
        For an unknown sampler, ``hybrid`` itself, a negative share or no positive share.
    """
    unknown = [name for name in budget if name not in sampler_names() or name == "hybrid"]
    if unknown:
        valid = ", ".join(n for n in sampler_names() if n != "hybrid")
        raise ValueError(f"hybrid budget names unknown samplers {unknown}; choose from: {valid}")
    if any(share < 0 for share in budget.values()) or sum(budget.values()) <= 0:
        raise ValueError(f"hybrid budget shares must be non-negative with a positive sum, got {dict(budget)}")
    total = float(sum(budget.values()))
    return {name: share / total for name, share in budget.items()}


@register("hybrid", uses_out_of_fold=True)
def hybrid(
    probas: np.ndarray | None,
    embeddings: np.ndarray,
    labeled_mask: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    context: SamplerContext | None = None,
) -> Selection:
    """A budget split across samplers (default: diverse margin 50%, diversity 30%, error rate 20%)."""
    if probas is None:
        return cold_start(embeddings, labeled_mask, k, rng, context)
    shares = budget_split((context.budget if context else None) or DEFAULT_BUDGET)
    quotas = allocate(np.array(list(shares.values())), k, np.full(len(shares), k), rng)
    taken = labeled_mask.copy()
    parts = []
    for name, quota in zip(shares, quotas):
        if quota == 0:
            continue
        part = get_sampler(name)(probas, embeddings, taken, int(quota), rng=rng, context=context)
        taken[part.indices] = True
        parts.append(part)
    return Selection.concat(parts)
