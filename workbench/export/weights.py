"""Per-record loss weights, a registered small function per scheme.

Asking for weights replaces repeats: an up-sampled item appears once and its weight is multiplied
by ``target / available`` (the mixture's factor), so the weighted mass per value still matches the
targets. Weights are rounded to six decimals so files are byte-identical across runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from workbench.export.collect import ExportItem

#: ``scheme(items) -> weights`` of shape (len(items),), one per record (repeats included).
WeightScheme = Callable[[Sequence[ExportItem]], np.ndarray]
WEIGHT_SCHEMES: dict[str, WeightScheme] = {}


def register_weight_scheme(name: str) -> Callable[[WeightScheme], WeightScheme]:
    def decorate(function: WeightScheme) -> WeightScheme:
        WEIGHT_SCHEMES[name] = function
        return function

    return decorate


@register_weight_scheme("mixture")
def mixture_only(items: Sequence[ExportItem]) -> np.ndarray:
    """Weight 1; only the mixture's up-sampling factors apply."""
    return np.ones(len(items))


@register_weight_scheme("inverse-frequency")
def inverse_frequency(items: Sequence[ExportItem]) -> np.ndarray:
    """``n_records / (n_labels * n_records_with_label)``: every label carries the same total weight."""
    counts = Counter(item.label for item in items)
    return np.array([len(items) / (len(counts) * counts[item.label]) for item in items])


@register_weight_scheme("hard-example")
def hard_example(items: Sequence[ExportItem]) -> np.ndarray:
    """``0.5 + (1 - p(label))`` normalized to mean 1: items the scorer finds hard weigh up to three
    times the easy ones; items without a score get the mean."""
    raw = np.array([np.nan if item.confidence is None else 1.5 - item.confidence for item in items])
    if np.all(np.isnan(raw)):
        return np.ones(len(items))
    raw[np.isnan(raw)] = np.nanmean(raw)
    return raw / raw.mean()


def record_weights(scheme: str, items: Sequence[ExportItem], factors: dict[int, float]) -> list[float]:
    """The scheme's weights times each item's mixture factor, rounded to 6 decimals."""
    base = WEIGHT_SCHEMES[scheme](items)
    return [round(float(w) * factors.get(item.id, 1.0), 6) for w, item in zip(base, items, strict=True)]
