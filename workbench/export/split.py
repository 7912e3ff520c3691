"""Stratified train/validation split of de-duplicated items.

Near-duplicates are already reduced to one item per group (``duplicates``), so splitting items
splits groups: no item or its near-duplicate sits on both sides. Repeats made by the mixture are
drawn from the train side only, after the split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from workbench.export.collect import ExportItem


def stratified_split(
    items: Sequence[ExportItem], val_fraction: float, rng: np.random.Generator
) -> tuple[list[ExportItem], list[ExportItem]]:
    """Hold out ``val_fraction`` of each label's items for validation.

    Each label with at least two items gives ``round(n * val_fraction)`` items, at least one
    when ``val_fraction > 0``, and always leaves one in train.

    Returns
    -------
    train, validation : list of ExportItem
        Each in ascending id order.
    """
    if val_fraction <= 0:
        return list(items), []
    by_label: dict[str, list[ExportItem]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    held_out: set[int] = set()
    for label in sorted(by_label):
        members = by_label[label]
        if len(members) < 2:
            continue
        n_val = min(max(1, round(len(members) * val_fraction)), len(members) - 1)
        order = rng.permutation(len(members))[:n_val]
        held_out.update(members[i].id for i in order)
    train = [item for item in items if item.id not in held_out]
    validation = [item for item in items if item.id in held_out]
    return train, validation
