"""The shared top-k and the proportional quotas."""

from __future__ import annotations

import numpy as np

from workbench.samplers.ranking import allocate, top_k


def test_top_k_orders_best_first_and_puts_nan_last():
    scores = np.array([0.1, np.nan, 0.9, 0.5, 0.7])
    assert top_k(scores, 3, np.random.default_rng(0)).tolist() == [2, 4, 3]
    assert top_k(scores, 5, np.random.default_rng(0))[-1] == 1


def test_top_k_breaks_ties_at_random():
    scores = np.zeros(100)
    draws = {tuple(top_k(scores, 2, np.random.default_rng(s))) for s in range(10)}
    assert len(draws) > 5


def test_allocate_is_proportional_and_sums_to_the_total():
    quota = allocate(np.array([0.5, 0.3, 0.2]), 77, np.full(3, 77), np.random.default_rng(0))
    assert quota.tolist() == [39, 23, 15]


def test_allocate_moves_what_a_full_group_cannot_take():
    quota = allocate(np.array([10.0, 1.0, 1.0]), 10, np.array([2, 100, 100]), np.random.default_rng(0))
    assert quota.tolist() == [2, 4, 4]


def test_allocate_uses_zero_weight_groups_only_when_needed():
    rng = np.random.default_rng(0)
    assert allocate(np.array([1.0, 0.0]), 3, np.array([5, 5]), rng).tolist() == [3, 0]
    assert allocate(np.array([1.0, 0.0]), 7, np.array([5, 5]), rng).tolist() == [5, 2]
