"""Inter-annotator agreement: Cohen's kappa, Fleiss' kappa and Krippendorff's alpha (nominal).

Pure numpy functions on label arrays, no database. Labels are any hashable values; a missing
label is ``None`` or a float NaN. Every statistic comes back as a ``Score`` that carries the
number of items it was computed on, and ``value=None`` with a reason instead of a number when the
statistic is undefined (too few items, or no variation in the labels: chance agreement is 1 and
the formula divides by zero). Nothing here raises on such data, so a dashboard can show whatever
exists.

Two input shapes:

- Cohen's kappa takes the two annotators' labels item by item (two equally long sequences);
  only the items both labeled count.
- Fleiss' kappa and Krippendorff's alpha take a count matrix, shape (n_items, n_categories):
  how many annotators gave each item each category (``count_matrix`` builds it from labels per
  item). Only items with at least two labels carry information about agreement; the others are
  left out and not counted in ``n_items``.

References: Cohen (1960); Fleiss (1971), "Measuring nominal scale agreement among many raters";
Krippendorff (2011), "Computing Krippendorff's alpha-reliability"; Landis & Koch (1977).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

MISSING = -1
"""The code of a missing label in integer-coded label arrays."""

#: Fewest items two annotators must share for Cohen's kappa to be reported.
MIN_PAIR_ITEMS = 2

#: Landis & Koch (1977): the upper bound of each band and its name, for kappa-like statistics
#: (below 0 is "poor").
LANDIS_KOCH = (
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
)

#: The bands as Landis & Koch print them.
LANDIS_KOCH_LEGEND = (
    "Landis & Koch (1977): below 0 poor, 0–0.20 slight, 0.21–0.40 fair, 0.41–0.60 moderate, "
    "0.61–0.80 substantial, 0.81–1 almost perfect."
)

TOO_FEW_ITEMS = "too few items"
NO_VARIATION = "a single label only: chance agreement is 1"


@dataclass(frozen=True)
class Score:
    """An agreement statistic.

    Attributes
    ----------
    value : float or None
        The statistic; None when undefined (``undefined`` says why).
    n_items : int
        Items it was computed on (items both annotators labeled, or items with two or more labels).
    undefined : str
        Why ``value`` is None; empty when it is a number.
    low, high : float or None
        A bootstrap confidence interval over items, when one was asked for and could be computed.
    """

    value: float | None
    n_items: int
    undefined: str = ""
    low: float | None = None
    high: float | None = None


def landis_koch(value: float | None) -> str:
    """The Landis & Koch band of a kappa-like value: poor (< 0), slight (0-0.20), fair (0.21-0.40),
    moderate (0.41-0.60), substantial (0.61-0.80), almost perfect (0.81-1); "undefined" for None."""
    if value is None or math.isnan(value):
        return "undefined"
    if value < 0:
        return "poor"
    for upper, name in LANDIS_KOCH:
        if value <= upper:
            return name
    return LANDIS_KOCH[-1][1]


def _is_missing(label: object) -> bool:
    return label is None or (isinstance(label, float) and math.isnan(label))


def encode(labels: Iterable[Hashable | None], categories: Sequence[Hashable]) -> np.ndarray:
    """Integer codes of labels, shape (n,): the position in ``categories``, ``MISSING`` for a
    missing label.

    Raises
    ------
    ValueError
        If a label is not among ``categories``.
    """
    position = {category: code for code, category in enumerate(categories)}
    try:
        return np.array(
            [MISSING if _is_missing(label) else position[label] for label in labels], dtype=np.int64
        )
    except KeyError as error:
        raise ValueError(f"label {error.args[0]!r} is not one of the categories {list(categories)}") from None


def categories_of(*label_lists: Iterable[Hashable | None]) -> list[Hashable]:
    """The distinct labels present, sorted (missing ones left out)."""
    found = {label for labels in label_lists for label in labels if not _is_missing(label)}
    return sorted(found, key=lambda label: (type(label).__name__, label))


def cohen_kappa_codes(
    a: np.ndarray, b: np.ndarray, n_categories: int, *, min_items: int = MIN_PAIR_ITEMS
) -> Score:
    """Cohen's kappa of two annotators from integer codes (``MISSING`` where one did not label).

    Parameters
    ----------
    a, b : ndarray of int, shape (n,)
        Codes in ``[0, n_categories)`` or ``MISSING``; item i is ``a[i]`` and ``b[i]``.
    n_categories : int
    min_items : int
        Fewer shared items than this give ``value=None`` (``TOO_FEW_ITEMS``).

    Returns
    -------
    Score
        ``(p_o - p_e) / (1 - p_e)`` over the items both labeled, as scikit-learn's
        ``cohen_kappa_score``. ``value=None`` (``NO_VARIATION``) when chance agreement ``p_e`` is 1,
        i.e. both used one and the same label throughout. If only one of them used a single
        label, kappa is defined and 0 or below: their labels carry no shared information.
    """
    both = (a != MISSING) & (b != MISSING)
    n = int(both.sum())
    if n < max(min_items, 1):
        return Score(None, n, TOO_FEW_ITEMS)
    a, b = a[both], b[both]
    observed = float(np.mean(a == b))
    expected = float(
        np.dot(np.bincount(a, minlength=n_categories), np.bincount(b, minlength=n_categories)) / (n * n)
    )
    if expected >= 1.0:
        return Score(None, n, NO_VARIATION)
    return Score((observed - expected) / (1.0 - expected), n)


def cohen_kappa(
    a: Sequence[Hashable | None], b: Sequence[Hashable | None], *, min_items: int = MIN_PAIR_ITEMS
) -> Score:
    """Cohen's kappa of two annotators' labels, item by item (None or NaN where one did not label).

    See ``cohen_kappa_codes`` for what is returned on too few items or a single label.

    Raises
    ------
    ValueError
        If the two sequences differ in length.
    """
    if len(a) != len(b):
        raise ValueError(f"the two annotators' label lists differ in length ({len(a)} and {len(b)})")
    categories = categories_of(a, b)
    return cohen_kappa_codes(
        encode(a, categories), encode(b, categories), len(categories), min_items=min_items
    )


def count_matrix(
    labels_per_item: Iterable[Iterable[Hashable | None]], categories: Sequence[Hashable] | None = None
) -> tuple[np.ndarray, list[Hashable]]:
    """How many annotators gave each item each label.

    Parameters
    ----------
    labels_per_item : iterable of iterables
        Item by item, the labels it got (missing ones are skipped).
    categories : sequence, optional
        The column order; by default the labels present, sorted.

    Returns
    -------
    counts : ndarray of int, shape (n_items, n_categories)
    categories : list
    """
    items = [[label for label in labels if not _is_missing(label)] for labels in labels_per_item]
    categories = list(categories) if categories is not None else categories_of(*items)
    counts = np.zeros((len(items), len(categories)), dtype=np.int64)
    for row, labels in enumerate(items):
        codes = encode(labels, categories)
        np.add.at(counts[row], codes, 1)
    return counts, categories


def _overlapped(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"counts must be a 2-d (items x categories) matrix, got shape {counts.shape}")
    if (counts < 0).any():
        raise ValueError("counts must not be negative")
    return counts[counts.sum(axis=1) >= 2]


# Both statistics are functions of sums over items, so one formula serves the plain value
# (weights all 1) and the bootstrap (weights = how often each item was drawn, shape (B, n)).


def _fleiss_from_weights(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    raters = counts.sum(axis=1)
    item_agreement = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    mean_agreement = weights @ item_agreement / weights.sum(axis=-1)
    shares = (weights @ counts) / (weights @ raters)[..., None]
    chance = (shares**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1.0, (mean_agreement - chance) / (1.0 - chance), np.nan)


def _alpha_from_weights(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    raters = counts.sum(axis=1)
    # Each item's pairable values that match: the diagonal of the coincidence matrix it adds.
    matching = ((counts**2).sum(axis=1) - raters) / (raters - 1)
    observed_matching = weights @ matching
    per_category = weights @ counts  # n_c
    n = per_category.sum(axis=-1)
    same_pairs = (per_category * (per_category - 1)).sum(axis=-1)
    denominator = n * (n - 1) - same_pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, ((n - 1) * observed_matching - same_pairs) / denominator, np.nan)


def _score(
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    counts: np.ndarray,
    *,
    n_boot: int,
    level: float,
    seed: int,
) -> Score:
    counts = _overlapped(counts)
    n = len(counts)
    if n == 0:
        return Score(None, 0, TOO_FEW_ITEMS)
    value = float(statistic(counts, np.ones(n)))
    if math.isnan(value):
        return Score(None, n, NO_VARIATION)
    score = Score(value, n)
    if n_boot > 0 and n >= 2:
        low, high = bootstrap_interval(statistic, counts, n_boot=n_boot, level=level, seed=seed)
        score = replace(score, low=low, high=high)
    return score


def fleiss_kappa(counts: np.ndarray, *, n_boot: int = 0, level: float = 0.95, seed: int = 0) -> Score:
    """Fleiss' kappa over the items with two or more labels.

    Parameters
    ----------
    counts : ndarray, shape (n_items, n_categories)
        Annotators per item and category (``count_matrix``).
    n_boot : int
        Bootstrap resamples of the items for a confidence interval (0: none).
    level : float
        Coverage of the interval (percentile bootstrap).
    seed : int
        Seeds the resampling, so the interval is the same every run.

    Returns
    -------
    Score
        ``(P - Pe) / (1 - Pe)``: ``P`` the mean over items of the share of agreeing annotator
        pairs, ``Pe`` the sum of squared overall category shares. With the same number of
        annotators on every item this is Fleiss (1971); with varying numbers, each item's
        agreement is over its own pairs and the shares are over all labels given.
        ``value=None`` with no overlapped item (``TOO_FEW_ITEMS``) or a single category used
        (``NO_VARIATION``).
    """
    return _score(_fleiss_from_weights, counts, n_boot=n_boot, level=level, seed=seed)


def krippendorff_alpha(counts: np.ndarray, *, n_boot: int = 0, level: float = 0.95, seed: int = 0) -> Score:
    """Krippendorff's alpha for nominal data; items may have any number of labels.

    Parameters are those of ``fleiss_kappa``.

    Returns
    -------
    Score
        ``1 - D_o / D_e`` from the coincidence matrix of the pairable values (items with two or
        more labels), computed as ``((n - 1) * sum_c o_cc - sum_c n_c (n_c - 1)) /
        (n (n - 1) - sum_c n_c (n_c - 1))`` with ``n_c`` the pairable values of category c and
        ``n`` their total. ``value=None`` with no pairable item (``TOO_FEW_ITEMS``) or a single
        category used (``NO_VARIATION``: Krippendorff leaves alpha undefined without variation).
    """
    return _score(_alpha_from_weights, counts, n_boot=n_boot, level=level, seed=seed)


def _distinct_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a count matrix and how often each occurs: ``np.unique(axis=0)``, but
    through one byte string per row, which is some 30 times faster."""
    packed = np.ascontiguousarray(counts, dtype=np.int32)
    keys = packed.view(np.dtype((np.void, packed.itemsize * packed.shape[1]))).ravel()
    _, first, multiplicity = np.unique(keys, return_index=True, return_counts=True)
    return counts[first], multiplicity


def bootstrap_interval(
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    counts: np.ndarray,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of a statistic over items (resampled with replacement).

    Items with the same row of counts are interchangeable, so a resample is drawn as how often
    each distinct row was drawn (multinomial, with the rows' shares as probabilities): the same
    distribution as drawing items, at the cost of a few hundred distinct rows rather than
    thousands of items. Replicates where the statistic is undefined are left out; (None, None)
    when fewer than half of them are defined.

    Parameters
    ----------
    statistic : callable
        ``statistic(counts, weights)`` with weights of shape (B, n_rows), returning shape (B,).
    counts : ndarray, shape (n_items, n_categories)
        Overlapped items only.
    """
    rng = np.random.default_rng(seed)
    rows, multiplicity = _distinct_rows(counts)
    weights = rng.multinomial(len(counts), multiplicity / len(counts), size=n_boot).astype(np.float64)
    values = statistic(rows, weights)
    values = values[~np.isnan(values)]
    if len(values) < n_boot / 2:
        return None, None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
