"""Uncertainty samplers pick the items a user would call the most uncertain."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.samplers import get_sampler

# Rows 0-5 of a hand-made pool; which ones are "most uncertain" differs by measure.
PROBAS = np.array(
    [
        [0.98, 0.01, 0.01],  # 0 confident
        [0.34, 0.33, 0.33],  # 1 nearly uniform: most uncertain by every measure
        [0.50, 0.49, 0.01],  # 2 two-way tie: tiny margin, lower entropy than row 5
        [0.90, 0.05, 0.05],  # 3 confident
        [0.40, 0.40, 0.20],  # 4 exact two-way tie (margin 0), low top probability
        [0.45, 0.30, 0.25],  # 5 spread out: high entropy, larger margin
    ],
    dtype=np.float32,
)
EMBEDDINGS = np.eye(6, dtype=np.float32)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("least_confidence", [1, 4, 5]),  # top probabilities 0.34, 0.40, 0.45
        ("margin", [4, 1, 2]),  # margins 0.00, 0.01, 0.01 (rows 1 and 2 tie)
        ("entropy", [1, 5, 4]),
    ],
)
def test_picks_the_most_uncertain_items_best_first(name, expected):
    labeled = np.zeros(6, dtype=bool)
    selection = get_sampler(name)(PROBAS, EMBEDDINGS, labeled, 3, rng=np.random.default_rng(0))
    if name == "margin":  # rows 1 and 2 have the same margin: either order is right
        assert selection.indices[0] == 4 and set(selection.indices[1:]) == {1, 2}
    else:
        assert selection.indices.tolist() == expected


def test_labeled_items_are_skipped_even_when_most_uncertain():
    labeled = np.zeros(6, dtype=bool)
    labeled[[1, 4]] = True
    selection = get_sampler("least_confidence")(PROBAS, EMBEDDINGS, labeled, 2, rng=np.random.default_rng(0))
    assert selection.indices.tolist() == [5, 2]


def test_reason_states_the_margin():
    selection = get_sampler("margin")(PROBAS, EMBEDDINGS, np.zeros(6, bool), 1, rng=np.random.default_rng(0))
    assert selection.reasons == ("margin 0.000",)
    assert selection.samplers == ("margin",)


def test_ties_are_broken_at_random_not_by_position():
    probas = np.full((50, 2), 0.5, dtype=np.float32)
    embeddings = np.zeros((50, 4), dtype=np.float32)
    picks = {
        tuple(get_sampler("margin")(probas, embeddings, np.zeros(50, bool), 3, rng=np.random.default_rng(s)).indices)
        for s in range(5)
    }
    assert len(picks) > 1
    assert (0, 1, 2) not in picks


def test_without_a_scorer_falls_back_to_diversity():
    selection = get_sampler("entropy")(None, EMBEDDINGS, np.zeros(6, bool), 2, rng=np.random.default_rng(0))
    assert selection.samplers == ("diversity", "diversity")
