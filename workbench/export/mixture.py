"""Mixture: target weights per value of one field, reached by up-sampling and down-sampling.

A spec reads ``FIELD=V1:W1,V2:W2,...`` where FIELD is ``label``, ``source`` or a metadata field.
Weights are normalized to sum to one; values the spec does not name get weight zero. With a total
size, each value's target count is its share of the size (largest remainder, so the counts add up
exactly). A value with fewer items than its target is up-sampled: its items are repeated as evenly
as possible, at most ``max_repeats`` extra copies each (or, when repeats are replaced by loss
weights, each record gets the weight ``target / available``). A value with more items is
down-sampled by a registered down-sampler: at random, or lowest quality first (quality = the
scorer's probability of the item's label).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.export.collect import ExportItem

#: Drop reasons recorded in the manifest.
DOWN_SAMPLED = "down-sampled"
NOT_IN_MIXTURE = "not in mixture"


class MixtureError(ValueError):
    """A mixture spec or size that cannot work; the message names the problem."""


@dataclass(frozen=True)
class MixtureSpec:
    """Target weights (normalized, in the spec's order) for the values of ``field``."""

    field: str
    weights: dict[str, float]


def parse_mixture(text: str) -> MixtureSpec:
    """Parse ``FIELD=V1:W1,V2:W2,...``.

    Raises
    ------
    MixtureError
        Naming the part that is wrong: no ``=``, an empty field, an entry without ``:``, a weight
        that is not a non-negative finite number, a value named twice, or weights summing to zero.
    """
    spec = text.strip()
    if "=" not in spec:
        raise MixtureError(
            f"mixture {text!r}: expected FIELD=VALUE:WEIGHT,... (e.g. label=math:0.2,chat:0.8)"
        )
    field_name, _, entries = spec.partition("=")
    field_name = field_name.strip()
    if not field_name:
        raise MixtureError(
            f"mixture {text!r}: the field before '=' is empty (use label, source or a metadata field)"
        )
    weights: dict[str, float] = {}
    for entry in entries.split(","):
        if not entry.strip():
            raise MixtureError(f"mixture {text!r}: an empty entry (check for a doubled or trailing comma)")
        value, colon, weight_text = entry.rpartition(":")
        value = value.strip()
        if not colon or not value:
            raise MixtureError(f"mixture {text!r}: entry {entry.strip()!r} is not VALUE:WEIGHT")
        try:
            weight = float(weight_text)
        except ValueError:
            raise MixtureError(
                f"mixture {text!r}: weight {weight_text.strip()!r} of {value!r} is not a number"
            ) from None
        if not math.isfinite(weight) or weight < 0:
            raise MixtureError(
                f"mixture {text!r}: weight of {value!r} must be a non-negative number, "
                f"got {weight_text.strip()}"
            )
        if value in weights:
            raise MixtureError(f"mixture {text!r}: value {value!r} is named twice")
        weights[value] = weight
    total = sum(weights.values())
    if total <= 0:
        raise MixtureError(f"mixture {text!r}: the weights sum to zero")
    return MixtureSpec(field_name, {value: weight / total for value, weight in weights.items()})


def target_counts(weights: dict[str, float], size: int) -> dict[str, int]:
    """Split ``size`` by ``weights`` into integers that sum to ``size`` (largest remainder;
    ties go to the value named first)."""
    exact = {value: weight * size for value, weight in weights.items()}
    counts = {value: math.floor(x) for value, x in exact.items()}
    by_remainder = sorted(exact, key=lambda value: -(exact[value] - counts[value]))  # stable: spec order
    for value in by_remainder[: size - sum(counts.values())]:
        counts[value] += 1
    return counts


#: ``downsample(items, keep, rng) -> indices of the items to keep`` (into ``items``).
DownSampler = Callable[[Sequence[ExportItem], int, np.random.Generator], np.ndarray]
DOWN_SAMPLERS: dict[str, DownSampler] = {}


def register_down_sampler(name: str) -> Callable[[DownSampler], DownSampler]:
    def decorate(function: DownSampler) -> DownSampler:
        DOWN_SAMPLERS[name] = function
        return function

    return decorate


@register_down_sampler("random")
def keep_random(items: Sequence[ExportItem], keep: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(len(items))[:keep])


@register_down_sampler("quality")
def keep_best(items: Sequence[ExportItem], keep: int, rng: np.random.Generator) -> np.ndarray:
    """Drop the lowest-quality items first; items the scorer has not scored are dropped last,
    ties at random."""
    quality = np.array([2.0 if item.confidence is None else item.confidence for item in items])
    tie_break = rng.permutation(len(items))
    order = np.lexsort((tie_break, -quality))  # best first
    return np.sort(order[:keep])


@dataclass
class MixturePlan:
    """What the mixture does to the train items.

    Attributes
    ----------
    fields : tuple of str
        The mixed fields; empty when only a total size was asked for (one group of all items).
    target_weights : dict
        ``{field: {value: weight}}``, normalized.
    targets : dict
        ``{field: {value: target count}}``.
    copies : dict
        ``{item_id: number of records}`` for every train item (1 = kept once, 0 = left out).
    weight_factors : dict
        ``{item_id: target / available}`` for up-sampled items when weights replace repeats.
    drops : dict
        ``{reason: [item ids]}``.
    """

    fields: tuple[str, ...]
    target_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    copies: dict[int, int] = field(default_factory=dict)
    weight_factors: dict[int, float] = field(default_factory=dict)
    drops: dict[str, list[int]] = field(default_factory=dict)

    @property
    def n_repeats(self) -> int:
        """Extra copies made by up-sampling."""
        return sum(n - 1 for n in self.copies.values() if n > 1)


ALL = "(all)"
Cell = tuple[str, ...]


def plan_mixture(
    items: Sequence[ExportItem],
    specs: Sequence[MixtureSpec] = (),
    *,
    size: int | None,
    rng: np.random.Generator,
    downsample: str = "random",
    max_repeats: int = 3,
    repeat: bool = True,
) -> MixturePlan:
    """Decide how many records each item becomes.

    With one spec each value's target is its weight's share of the size. With several (e.g. the
    label and ``language``) the items are grouped by their combination of values, and iterative
    proportional fitting finds the shares of the combinations closest to the present ones whose
    per-field totals match every spec's weights.

    Parameters
    ----------
    items : sequence of ExportItem
        The train items, in ascending id order.
    specs : sequence of MixtureSpec
        At most one per field; none keeps the natural proportions (only ``size`` applies).
    size : int or None
        Total number of records; None keeps the number of items.
    downsample : str
        A key of ``DOWN_SAMPLERS``.
    max_repeats : int
        Extra copies allowed per item; a target beyond that stays short (the manifest shows it).
    repeat : bool
        False replaces repeats by per-record weight factors.

    Raises
    ------
    MixtureError
        When a spec names a value no item has, a metadata field no item carries, or two specs
        name the same field.
    """
    if downsample not in DOWN_SAMPLERS:
        raise MixtureError(f"unknown down-sampling {downsample!r}; choose one of {sorted(DOWN_SAMPLERS)}")
    fields = tuple(spec.field for spec in specs)
    if len(set(fields)) < len(fields):
        raise MixtureError(f"mixture: more than one spec for the same field ({', '.join(fields)})")
    cells: dict[Cell, list[ExportItem]] = defaultdict(list)
    for item in items:
        cells[tuple(item.value_of(name) for name in fields) or (ALL,)].append(item)
    for position, spec in enumerate(specs):
        _check_values(spec, items, {cell[position] for cell in cells})
    plan = MixturePlan(fields, {spec.field: dict(spec.weights) for spec in specs})
    if not specs and size is None:
        plan.copies.update((item.id, 1) for item in items)
        return plan
    total = len(items) if size is None else size
    cell_targets = target_counts(_cell_shares(specs, cells), total)
    for position, spec in enumerate(specs):
        marginal = dict.fromkeys(spec.weights, 0)
        for cell, n in cell_targets.items():
            marginal[cell[position]] = marginal.get(cell[position], 0) + n
        plan.targets[spec.field] = marginal
    for cell in sorted(cells):
        members = cells[cell]
        target = cell_targets.get(cell, 0)
        if target == 0:
            named = not specs or all(value in spec.weights for value, spec in zip(cell, specs, strict=True))
            plan.drops.setdefault(DOWN_SAMPLED if named else NOT_IN_MIXTURE, []).extend(i.id for i in members)
            plan.copies.update((item.id, 0) for item in members)
        elif target <= len(members):
            keep = set(DOWN_SAMPLERS[downsample](members, target, rng).tolist())
            for index, item in enumerate(members):
                plan.copies[item.id] = 1 if index in keep else 0
                if index not in keep:
                    plan.drops.setdefault(DOWN_SAMPLED, []).append(item.id)
        elif repeat:
            copies = _spread(len(members), target, max_repeats + 1, rng)
            plan.copies.update((item.id, int(n)) for item, n in zip(members, copies, strict=True))
        else:
            plan.copies.update((item.id, 1) for item in members)
            plan.weight_factors.update((item.id, target / len(members)) for item in members)
    for ids in plan.drops.values():
        ids.sort()
    return plan


def _cell_shares(
    specs: Sequence[MixtureSpec], cells: dict[Cell, list[ExportItem]], iterations: int = 200
) -> dict[Cell, float]:
    """Target share of each combination of values, in the specs' value order.

    Iterative proportional fitting from the present counts: each pass rescales the shares so one
    field's totals equal its weights. With a single spec this is exactly the spec's weights.
    """
    if not specs:
        return {(ALL,): 1.0}
    rank = [{value: i for i, value in enumerate(spec.weights)} for spec in specs]
    order = sorted(cells, key=lambda cell: [(r.get(v, len(r)), v) for r, v in zip(rank, cell, strict=True)])
    shares = {
        cell: float(len(cells[cell]))
        if all(v in spec.weights for v, spec in zip(cell, specs, strict=True))
        else 0.0
        for cell in order
    }
    for _ in range(iterations if len(specs) > 1 else 1):
        for position, spec in enumerate(specs):
            totals: dict[str, float] = defaultdict(float)
            for cell, share in shares.items():
                totals[cell[position]] += share
            shares = {
                cell: share * spec.weights[cell[position]] / totals[cell[position]] if share else 0.0
                for cell, share in shares.items()
            }
    return shares


def _spread(n_items: int, target: int, max_copies: int, rng: np.random.Generator) -> np.ndarray:
    """Copies per item, shape (n_items,): as even as possible, the odd ones at random, capped."""
    base, extra = divmod(target, n_items)
    copies = np.full(n_items, base, dtype=np.int64)
    copies[rng.permutation(n_items)[:extra]] += 1
    return np.minimum(copies, max_copies)


def _check_values(spec: MixtureSpec, items: Sequence[ExportItem], present: set[str]) -> None:
    if spec.field not in ("label", "source") and items and not any(spec.field in item.meta for item in items):
        raise MixtureError(
            f"mixture field {spec.field!r} is not a metadata field of any exported item "
            "(use label, source or a field the items carry)"
        )
    missing = [value for value, weight in spec.weights.items() if weight > 0 and value not in present]
    if missing:
        values = ", ".join(sorted(present)) or "none"
        raise MixtureError(
            f"mixture {spec.field}: no exported item has {', '.join(repr(v) for v in missing)} "
            f"(values present: {values})"
        )
