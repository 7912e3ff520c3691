"""The whole export in memory: collect, de-duplicate, split, mix, weight and order the records.

``plan_export`` reads the database once and decides everything; ``preview`` tabulates the
distribution before and after; ``write.write_export`` only writes what the plan says. Every random
choice draws from one ``numpy`` generator seeded with ``settings.seed``, in a fixed order, so the
same database and settings give the same records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from workbench.export.collect import ExportItem, collect_items
from workbench.export.duplicates import kept_by_lead, near_duplicate_groups, one_per_group
from workbench.export.formats import FORMATS
from workbench.export.mixture import DOWN_SAMPLERS, NOT_IN_MIXTURE, MixturePlan, MixtureSpec, plan_mixture
from workbench.export.split import stratified_split
from workbench.export.weights import WEIGHT_SCHEMES, record_weights
from workbench.store.schema import Project

NEAR_DUPLICATE = "near-duplicate"


class ExportSettingsError(ValueError):
    """Export settings that cannot work; the message names the setting."""


@dataclass(frozen=True)
class ExportSettings:
    """Everything that decides an export's records (with the database and the seed).

    Attributes
    ----------
    format : str
        A key of ``FORMATS``.
    mixture : tuple of MixtureSpec
        At most one per field (e.g. the label and ``language``); empty keeps the natural proportions.
    size : int or None
        Total train records; None keeps the number of train items.
    weights : str or None
        A key of ``WEIGHT_SCHEMES``; when set, records carry a ``weight`` and are never repeated.
    val_fraction : float
        Share of each label's items held out for validation, in [0, 1). Validation keeps the
        natural distribution, less the values the mixture leaves out (weight zero or unnamed).
    seed : int
    human_labels_only : bool
    pseudo_label_threshold : float or None
        In (0, 1): unlabeled items predicted with a higher probability are exported as pseudo-labels.
    max_repeats : int
        Extra copies allowed per item when up-sampling.
    downsample : str
        A key of ``mixture.DOWN_SAMPLERS``: ``random`` or ``quality`` (lowest quality dropped first).
    curriculum : bool
        Order train records easy to hard (scorer probability of the label, high to low) instead of shuffled.
    """

    format: str = "messages"
    mixture: tuple[MixtureSpec, ...] = ()
    size: int | None = None
    weights: str | None = None
    val_fraction: float = 0.0
    seed: int = 0
    human_labels_only: bool = False
    pseudo_label_threshold: float | None = None
    max_repeats: int = 3
    downsample: str = "random"
    curriculum: bool = False

    def check(self) -> None:
        """Raise ExportSettingsError naming the first setting that is out of range."""
        problems = [
            (self.format not in FORMATS, f"format {self.format!r}: choose one of {sorted(FORMATS)}"),
            (
                self.weights is not None and self.weights not in WEIGHT_SCHEMES,
                f"weights {self.weights!r}: choose one of {sorted(WEIGHT_SCHEMES)}",
            ),
            (
                self.downsample not in DOWN_SAMPLERS,
                f"down-sampling {self.downsample!r}: choose one of {sorted(DOWN_SAMPLERS)}",
            ),
            (not 0.0 <= self.val_fraction < 1.0, f"val fraction {self.val_fraction}: must be in [0, 1)"),
            (self.size is not None and self.size < 1, f"size {self.size}: must be at least 1"),
            (self.max_repeats < 0, f"max repeats {self.max_repeats}: must be 0 or more"),
            (
                self.pseudo_label_threshold is not None and not 0.0 < self.pseudo_label_threshold < 1.0,
                f"pseudo-label threshold {self.pseudo_label_threshold}: must be in (0, 1)",
            ),
        ]
        for failed, message in problems:
            if failed:
                raise ExportSettingsError(message)

    def as_dict(self) -> dict[str, Any]:
        settings = asdict(self)
        settings["mixture"] = {spec.field: spec.weights for spec in self.mixture}
        return settings


@dataclass
class ExportPlan:
    """The decided export.

    ``train`` and ``validation`` are the records in file order as ``(item, weight or None)``;
    ``pool`` is the de-duplicated train items before mixing; ``left_out`` maps a reason to the
    ids of the items not exported for it; ``excluded`` counts items that never became candidates.
    """

    project_id: int
    project_name: str
    settings: ExportSettings
    round_number: int | None
    pool: list[ExportItem]
    train: list[tuple[ExportItem, float | None]]
    validation: list[tuple[ExportItem, float | None]]
    mixture: MixturePlan
    left_out: dict[str, list[int]] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)


def plan_export(session: Session, project_id: int, settings: ExportSettings) -> ExportPlan:
    """Decide an export; reads the database, writes nothing.

    Raises
    ------
    ExportSettingsError, MixtureError
        For settings or a mixture that cannot work.
    """
    settings.check()
    project = session.get(Project, project_id)
    if project is None:
        raise ExportSettingsError(f"no project with id {project_id}")
    collection = collect_items(
        session,
        project_id,
        human_labels_only=settings.human_labels_only,
        pseudo_label_threshold=settings.pseudo_label_threshold,
    )
    items, near_duplicates = one_per_group(
        collection.items, near_duplicate_groups(session, project_id), kept_by_lead(session, project_id)
    )
    rng = np.random.default_rng(settings.seed)
    pool, validation = stratified_split(items, settings.val_fraction, rng)
    mixture = plan_mixture(
        pool,
        settings.mixture,
        size=settings.size,
        rng=rng,
        downsample=settings.downsample,
        max_repeats=settings.max_repeats,
        repeat=settings.weights is None,
    )
    records = [item for item in pool for _ in range(mixture.copies.get(item.id, 0))]
    records = _ordered(records, curriculum=settings.curriculum, rng=rng)
    validation, unwanted = _wanted(validation, settings.mixture)
    left_out = {NEAR_DUPLICATE: near_duplicates} if near_duplicates else {}
    left_out.update(mixture.drops)
    if unwanted:
        left_out[NOT_IN_MIXTURE] = sorted(left_out.get(NOT_IN_MIXTURE, []) + unwanted)
    return ExportPlan(
        project_id=project_id,
        project_name=project.name,
        settings=settings,
        round_number=collection.round_number,
        pool=pool,
        train=_weighted(records, settings.weights, mixture.weight_factors),
        validation=_weighted(validation, settings.weights, {}),
        mixture=mixture,
        left_out=left_out,
        excluded=collection.excluded,
    )


def _wanted(items: list[ExportItem], specs: tuple[MixtureSpec, ...]) -> tuple[list[ExportItem], list[int]]:
    """The items whose values the mixture asks for (weight above zero in every spec), and the ids
    of the others: validation should not hold data the training mix leaves out on purpose."""
    wanted, unwanted = [], []
    for item in items:
        if all(spec.weights.get(item.value_of(spec.field), 0.0) > 0 for spec in specs):
            wanted.append(item)
        else:
            unwanted.append(item.id)
    return wanted, unwanted


def _ordered(records: list[ExportItem], *, curriculum: bool, rng: np.random.Generator) -> list[ExportItem]:
    """Shuffled, or easy to hard (probability of the label, high to low; unscored last, ties shuffled)."""
    shuffle = rng.permutation(len(records))
    if not curriculum:
        return [records[i] for i in shuffle]
    difficulty = np.array([2.0 if item.confidence is None else 1.0 - item.confidence for item in records])
    return [records[i] for i in shuffle[np.argsort(difficulty[shuffle], kind="stable")]]


def _weighted(
    records: list[ExportItem], scheme: str | None, factors: dict[int, float]
) -> list[tuple[ExportItem, float | None]]:
    if scheme is None:
        return [(item, None) for item in records]
    return list(zip(records, record_weights(scheme, records, factors), strict=True))


def preview(plan: ExportPlan) -> list[dict[str, Any]]:
    """The train distribution before and after the mixture: one row per value of each mixed field
    (of the label when no mixture was asked for).

    Each row: ``field``, ``value``, ``before`` (items), ``after`` (records), ``target`` (records,
    None without a mixture), ``target_weight``, ``achieved_weight`` (share of records, or of the
    weight mass when records carry weights), ``repeats`` (extra copies) and ``drops`` (items left
    out by the mixture).
    """
    return [row for name in plan.mixture.fields or ("label",) for row in _preview_rows(plan, name)]


def _preview_rows(plan: ExportPlan, field_name: str) -> list[dict[str, Any]]:
    before = Counter(item.value_of(field_name) for item in plan.pool)
    after = Counter(item.value_of(field_name) for item, _ in plan.train)
    # With loss weights the achieved share is the weighted mass, the thing the weights control.
    mass: Counter[str] = Counter()
    for item, weight in plan.train:
        mass[item.value_of(field_name)] += 1.0 if weight is None else weight
    total_mass = sum(mass.values()) or 1.0
    repeats: Counter[str] = Counter()
    drops: Counter[str] = Counter()
    for item in plan.pool:
        copies = plan.mixture.copies.get(item.id, 0)
        value = item.value_of(field_name)
        repeats[value] += max(copies - 1, 0)
        drops[value] += copies == 0
    targets = plan.mixture.targets.get(field_name)
    weights = plan.mixture.target_weights.get(field_name, {})
    return [
        {
            "field": field_name,
            "value": value,
            "before": before[value],
            "after": after[value],
            "target": None if targets is None else targets.get(value, 0),
            "target_weight": None if targets is None else round(weights.get(value, 0.0), 6),
            "achieved_weight": round(mass[value] / total_mass, 6),
            "repeats": repeats[value],
            "drops": drops[value],
        }
        for value in sorted(set(before) | set(targets or ()))
    ]
