"""Agreement statistics against published worked examples, scikit-learn, and the edge cases a
dashboard meets (no overlap, one label only, perfect agreement)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from workbench.insight.agreement import (
    NO_VARIATION,
    TOO_FEW_ITEMS,
    Score,
    cohen_kappa,
    count_matrix,
    fleiss_kappa,
    krippendorff_alpha,
    landis_koch,
)

# Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa"): 10 items, 14 raters, 5 categories.
FLEISS_EXAMPLE = np.array([
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
])

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers,
# 12 units, values 1-5, missing data; unit 12 has a single value and is not pairable.
_ = None
KRIPPENDORFF_EXAMPLE = [  # one row per observer
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]


def test_fleiss_kappa_matches_the_worked_example():
    score = fleiss_kappa(FLEISS_EXAMPLE)
    assert score.value == pytest.approx(0.2099, abs=1e-4)
    assert score.n_items == 10 and score.low is None  # no interval unless asked


def test_krippendorff_alpha_matches_the_worked_example_with_missing_data():
    counts, categories = count_matrix(zip(*KRIPPENDORFF_EXAMPLE))
    assert categories == [1, 2, 3, 4, 5]
    score = krippendorff_alpha(counts)
    assert score.value == pytest.approx(0.743, abs=5e-4)
    assert score.n_items == 11  # unit 12 left out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_kappa_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], size=60)
    b = np.where(rng.random(60) < 0.6, a, rng.choice(["x", "y", "z"], size=60))
    score = cohen_kappa(a.tolist(), b.tolist())
    assert score.value == pytest.approx(cohen_kappa_score(a, b)) and score.n_items == 60


def test_cohen_kappa_uses_only_the_items_both_labeled():
    a = ["x", "y", None, "x", float("nan"), "y"]
    b = ["x", "y", "x", None, "y", "x"]
    score = cohen_kappa(a, b)
    assert score.n_items == 3
    assert score.value == pytest.approx(cohen_kappa_score(["x", "y", "y"], ["x", "y", "x"]))


@pytest.mark.filterwarnings("ignore::UserWarning")  # scikit-learn warns on its nan, as it should
def test_cohen_kappa_edge_cases():
    assert cohen_kappa(["x", "y", "x"], ["x", "y", "x"]).value == 1.0
    no_overlap = cohen_kappa(["x", None], [None, "y"])
    assert (no_overlap.value, no_overlap.n_items, no_overlap.undefined) == (None, 0, TOO_FEW_ITEMS)
    assert cohen_kappa(["x"], ["x"]).undefined == TOO_FEW_ITEMS
    # Both used one and the same label: chance agreement is 1, kappa undefined (sklearn: nan).
    single = cohen_kappa(["x"] * 4, ["x"] * 4)
    assert (single.value, single.n_items, single.undefined) == (None, 4, NO_VARIATION)
    assert math.isnan(cohen_kappa_score(["x"] * 4, ["x"] * 4))
    # Only one of them used a single label: defined, and no better than chance.
    assert cohen_kappa(["x"] * 4, ["x", "y", "x", "x"]).value == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        cohen_kappa(["x"], ["x", "y"])


def test_perfect_agreement_is_one_for_fleiss_and_alpha():
    counts, _ = count_matrix([["a", "a"], ["b", "b", "b"], ["c", "c"]])
    assert fleiss_kappa(counts).value == pytest.approx(1.0)
    assert krippendorff_alpha(counts).value == pytest.approx(1.0)


def test_no_overlap_and_a_single_category_are_undefined_not_zero():
    lonely, _ = count_matrix([["a"], ["b"], [None, "a"]])
    for statistic in (fleiss_kappa, krippendorff_alpha):
        assert statistic(lonely) == statistic(np.zeros((0, 2))) == Score(None, 0, TOO_FEW_ITEMS)
        single, _ = count_matrix([["a", "a"], ["a", "a", "a"]])
        assert (statistic(single).value, statistic(single).undefined) == (None, NO_VARIATION)


def test_fleiss_with_unequal_raters_weighs_each_item_by_its_own_pairs():
    # Item 1: 2 of 3 agree (1 pair of 3); item 2: both agree; shares a 3/5, b 2/5.
    counts, _ = count_matrix([["a", "a", "b"], ["b", "b"]])
    expected_agreement = (1 / 3 + 1) / 2
    chance = 0.6**2 + 0.4**2
    assert fleiss_kappa(counts).value == pytest.approx((expected_agreement - chance) / (1 - chance))


def test_bootstrap_interval_is_seeded_and_brackets_the_value():
    first = fleiss_kappa(FLEISS_EXAMPLE, n_boot=500, seed=7)
    again = fleiss_kappa(FLEISS_EXAMPLE, n_boot=500, seed=7)
    assert first == again
    assert first.low < first.value < first.high
    counts, _ = count_matrix(zip(*KRIPPENDORFF_EXAMPLE))
    alpha = krippendorff_alpha(counts, n_boot=500)
    assert alpha.low < alpha.value <= alpha.high <= 1.0
    # Wider at 99% than at 80%.
    wide = krippendorff_alpha(counts, n_boot=500, level=0.99)
    narrow = krippendorff_alpha(counts, n_boot=500, level=0.80)
    assert wide.high - wide.low > narrow.high - narrow.low


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="2-d"):
        fleiss_kappa(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="negative"):
        krippendorff_alpha(np.array([[2, -1]]))
    with pytest.raises(ValueError, match="not one of the categories"):
        count_matrix([["a", "z"]], categories=["a", "b"])


@pytest.mark.parametrize(
    ("value", "band"),
    [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"), (0.5, "moderate"),
     (0.7, "substantial"), (0.9, "almost perfect"), (1.0, "almost perfect"), (None, "undefined")],
)
def test_landis_koch_bands(value, band):
    assert landis_koch(value) == band
