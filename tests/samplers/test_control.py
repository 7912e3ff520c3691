"""The random control slice: a uniform sample of the unlabeled pool that every hybrid batch keeps."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.samplers.pools import small_pool
from workbench.samplers import (
    CONTROL_SAMPLER,
    DEFAULT_BUDGET,
    SamplerContext,
    get_sampler,
    with_control,
)
from workbench.samplers.control import CONTROL_REASON


def _hybrid(pool, k: int, share: float, *, probas=None, seed: int = 0):
    oof_error = np.where(pool.labeled_mask, (np.arange(len(pool.labels)) % 3 == 0).astype(np.float32), np.nan)
    context = SamplerContext(oof_error=oof_error.astype(np.float32), budget=with_control(DEFAULT_BUDGET, share))
    return get_sampler("hybrid")(
        pool.probas if probas is None else probas, pool.embeddings, pool.labeled_mask, k,
        rng=np.random.default_rng(seed), context=context,
    )


@pytest.mark.parametrize(("k", "expected"), [(5, 0), (9, 0), (10, 1), (20, 1), (40, 2)])
def test_a_five_percent_share_keeps_at_least_one_pick_from_a_batch_of_ten(k, expected):
    selection = _hybrid(small_pool(), k, 0.05)
    assert Counter(selection.samplers)[CONTROL_SAMPLER] == expected
    assert len(np.unique(selection.indices)) == k


def test_control_picks_say_what_they_are_for():
    selection = _hybrid(small_pool(), 40, 0.1)
    control = [i for i, s in enumerate(selection.samplers) if s == CONTROL_SAMPLER]
    assert len(control) == 4
    assert {selection.reasons[i] for i in control} == {CONTROL_REASON}
    assert {s for s in selection.samplers if s != CONTROL_SAMPLER} == set(DEFAULT_BUDGET)


def test_a_zero_share_disables_the_control():
    selection = _hybrid(small_pool(), 40, 0.0)
    assert CONTROL_SAMPLER not in selection.samplers


def test_the_control_is_drawn_before_and_regardless_of_the_scorer():
    # Drawn first, from the whole unlabeled pool: what the scorer thinks cannot move it, so the
    # control stays a uniform sample even where the active parts crowd one region.
    pool = small_pool()
    uncertain_in_blob_0 = np.tile(np.array([[0.97, 0.01, 0.01, 0.01]], np.float32), (len(pool.labels), 1))
    uncertain_in_blob_0[pool.labels == 0] = 0.25
    picks = []
    for probas in (pool.probas, uncertain_in_blob_0):
        selection = _hybrid(pool, 40, 0.1, probas=probas, seed=3)
        picks.append(sorted(i for i, s in zip(selection.indices, selection.samplers) if s == CONTROL_SAMPLER))
    assert picks[0] == picks[1]


def test_control_picks_are_uniform_over_the_unlabeled_items():
    pool = small_pool()
    unlabeled = np.flatnonzero(~pool.labeled_mask)
    counts = Counter()
    draws = 600
    for seed in range(draws):
        selection = get_sampler(CONTROL_SAMPLER)(
            pool.probas, pool.embeddings, pool.labeled_mask, 4, rng=np.random.default_rng(seed)
        )
        counts.update(selection.indices.tolist())
    assert set(counts) <= set(unlabeled.tolist())
    expected = draws * 4 / len(unlabeled)  # 12 per item
    observed = np.array([counts[i] for i in unlabeled])
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    # 199 degrees of freedom: the 99.9% quantile is about 273; a sampler favouring any region fails.
    assert chi2 < 273, chi2


def test_with_control_scales_the_other_parts():
    budget = with_control({"margin": 3, "error_rate": 1}, 0.2)
    assert list(budget) == [CONTROL_SAMPLER, "margin", "error_rate"]
    assert budget == pytest.approx({CONTROL_SAMPLER: 0.2, "margin": 0.6, "error_rate": 0.2})
    assert with_control(DEFAULT_BUDGET, 0) == DEFAULT_BUDGET


@pytest.mark.parametrize("share", [-0.1, 0.6, float("nan"), "5%", True, None])
def test_a_bad_control_share_is_a_clear_error(share):
    with pytest.raises(ValueError, match="control share must be"):
        with_control(DEFAULT_BUDGET, share)


def test_the_control_is_set_by_its_share_not_twice():
    with pytest.raises(ValueError, match="already names 'random_control'"):
        with_control({"margin": 0.9, CONTROL_SAMPLER: 0.1}, 0.05)
