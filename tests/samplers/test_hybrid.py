"""hybrid splits its batch by the budget, without duplicates; diverse_margin spreads its picks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.samplers.pools import make_blobs, small_pool
from workbench.samplers import DEFAULT_BUDGET, SamplerContext, get_sampler


def _hybrid(pool, k: int, budget=None):
    """Run hybrid on the small pool, with out-of-fold errors on every third labeled item."""
    return get_sampler("hybrid")(
        pool.probas, pool.embeddings, pool.labeled_mask, k, rng=np.random.default_rng(0), context=_context(pool, budget)
    )


def _context(pool, budget=None) -> SamplerContext:
    oof_error = np.where(pool.labeled_mask, (np.arange(len(pool.labels)) % 3 == 0).astype(np.float32), np.nan)
    return SamplerContext(oof_error=oof_error.astype(np.float32), budget=budget)


def test_default_budget_splits_the_batch_by_share():
    pool = small_pool()
    selection = _hybrid(pool, 20)
    assert Counter(selection.samplers) == {name: round(20 * share) for name, share in DEFAULT_BUDGET.items()}
    assert len(np.unique(selection.indices)) == 20


def test_a_custom_budget_is_respected_and_normalized():
    pool = small_pool()
    budget = {"margin": 3, "random": 1}
    selection = _hybrid(pool, 12, budget)
    assert Counter(selection.samplers) == {"margin": 9, "random": 3}


def test_later_parts_never_repeat_earlier_picks():
    pool = small_pool()
    # Two uncertainty parts would pick the very same items if they ignored each other.
    budget = {"margin": 0.5, "least_confidence": 0.5}
    selection = _hybrid(pool, 30, budget)
    assert len(np.unique(selection.indices)) == 30


BAD_BUDGETS = [{"hybrid": 1.0}, {"nope": 1.0}, {"margin": -1.0, "random": 2.0}, {"margin": 0.0}]


@pytest.mark.parametrize("budget", BAD_BUDGETS)
def test_a_bad_budget_is_a_clear_error(budget):
    pool = small_pool()
    with pytest.raises(ValueError, match="hybrid budget"):
        _hybrid(pool, 5, budget)


def test_without_a_scorer_the_whole_batch_is_the_cold_start():
    pool = small_pool()
    selection = get_sampler("hybrid")(None, pool.embeddings, pool.labeled_mask, 8, rng=np.random.default_rng(0))
    assert set(selection.samplers) == {"diversity"}


def test_diverse_margin_spreads_a_batch_over_the_uncertain_blobs():
    # Every item is equally uncertain, so plain margin picks are random; diverse margin should
    # take one item from each of the 6 blobs.
    embeddings, blob = make_blobs(n_per_blob=30, n_blobs=6, dim=16, seed=9)
    probas = np.full((len(blob), 2), 0.5, dtype=np.float32)
    selection = get_sampler("diverse_margin")(
        probas, embeddings, np.zeros(len(blob), bool), 6, rng=np.random.default_rng(0)
    )
    assert sorted(blob[selection.indices].tolist()) == [0, 1, 2, 3, 4, 5]


def test_hybrid_spreads_the_picks_of_a_sampler_that_is_not_diverse_itself():
    # Margin alone would take the 6 most uncertain items, all in blob 0; within the hybrid the
    # part is drawn from 10x as many nominees, one per cluster.
    embeddings, blob = make_blobs(n_per_blob=30, n_blobs=6, dim=16, seed=9)
    probas = np.tile(np.array([[0.6, 0.4]], dtype=np.float32), (len(blob), 1))
    probas[blob == 0] = [0.5, 0.5]
    probas[:, 0] -= np.linspace(0.0, 0.05, len(blob), dtype=np.float32)  # no ties: margins grow with blob id
    probas[:, 1] = 1.0 - probas[:, 0]
    labeled = np.zeros(len(blob), dtype=bool)
    plain = get_sampler("margin")(probas, embeddings, labeled, 6, rng=np.random.default_rng(0))
    only_margin = SamplerContext(budget={"margin": 1.0})
    spread = get_sampler("hybrid")(probas, embeddings, labeled, 6, rng=np.random.default_rng(0), context=only_margin)
    assert set(blob[plain.indices]) == {0}
    assert len(set(blob[spread.indices])) >= 2
    assert set(spread.samplers) == {"margin"}
    assert all("one of 6 clusters of its 60 nominees" in r for r in spread.reasons)
