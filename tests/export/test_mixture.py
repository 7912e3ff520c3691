"""Mixture: targets reached within one item per value, repeats capped, drops by the chosen rule,
weights instead of repeats, and bad specs named clearly."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from workbench.export import MixtureError, parse_mixture
from workbench.export.collect import ExportItem
from workbench.export.mixture import DOWN_SAMPLED, NOT_IN_MIXTURE, plan_mixture


def _items(counts: dict[str, int], confidence=None) -> list[ExportItem]:
    items, next_id = [], 1
    for label, n in counts.items():
        for _ in range(n):
            items.append(
                ExportItem(
                    id=next_id,
                    shape="text",
                    sample={"text": f"t{next_id}"},
                    label=label,
                    label_source="imported",
                    source="s",
                    meta={"language": "en" if next_id % 2 else "de"},
                    confidence=None if confidence is None else confidence(next_id),
                    edited=False,
                )
            )
            next_id += 1
    return items


def _achieved(items: list[ExportItem], copies: dict[int, int]) -> Counter[str]:
    achieved: Counter[str] = Counter()
    for item in items:
        achieved[item.label] += copies[item.id]
    return achieved


@pytest.mark.parametrize("size", [100, 333, 1000])
def test_achieved_counts_match_targets_within_one_item(size: int) -> None:
    items = _items({"math": 40, "code": 90, "chat": 500})
    spec = parse_mixture("label=math:0.2,code:0.2,chat:0.6")
    plan = plan_mixture(items, [spec], size=size, rng=np.random.default_rng(0), max_repeats=100)

    achieved = _achieved(items, plan.copies)
    assert sum(achieved.values()) == size
    for label, weight in spec.weights.items():
        assert abs(achieved[label] - weight * size) <= 1


def test_repeats_are_capped_and_spread_evenly() -> None:
    items = _items({"math": 10, "chat": 90})
    plan = plan_mixture(
        items,
        [parse_mixture("label=math:0.5,chat:0.5")],
        size=100,
        rng=np.random.default_rng(0),
        max_repeats=2,
    )

    math_copies = [plan.copies[item.id] for item in items if item.label == "math"]
    assert math_copies == [3] * 10  # target 50, at most 1 + 2 copies each
    assert plan.n_repeats == 20


def test_values_not_named_are_dropped_with_a_reason() -> None:
    items = _items({"math": 5, "code": 5, "chat": 5})
    plan = plan_mixture(items, [parse_mixture("label=math:1,code:1")], size=10, rng=np.random.default_rng(0))

    assert plan.drops[NOT_IN_MIXTURE] == [item.id for item in items if item.label == "chat"]
    assert _achieved(items, plan.copies) == Counter({"math": 5, "code": 5, "chat": 0})


def test_quality_down_sampling_drops_the_least_confident_first() -> None:
    items = _items({"chat": 10}, confidence=lambda i: i / 10)
    plan = plan_mixture(items, (), size=6, rng=np.random.default_rng(0), downsample="quality")

    assert plan.drops[DOWN_SAMPLED] == [1, 2, 3, 4]


def test_weights_replace_repeats() -> None:
    items = _items({"math": 10, "chat": 30})
    plan = plan_mixture(
        items, [parse_mixture("label=math:0.5,chat:0.5")], size=40, rng=np.random.default_rng(0), repeat=False
    )

    assert set(plan.copies.values()) <= {0, 1}
    assert {plan.weight_factors[item.id] for item in items if item.label == "math"} == {2.0}


def test_metadata_field_mixture() -> None:
    items = _items({"chat": 30})
    plan = plan_mixture(
        items, [parse_mixture("language=en:0.75,de:0.25")], size=20, rng=np.random.default_rng(0)
    )

    by_language = Counter()
    for item in items:
        by_language[item.meta["language"]] += plan.copies[item.id]
    assert by_language == Counter({"en": 15, "de": 5})


def test_label_and_metadata_mixture_together() -> None:
    items = _items({"math": 40, "chat": 160})  # odd ids are "en": 100 en, 100 de
    specs = [parse_mixture("label=math:0.5,chat:0.5"), parse_mixture("language=en:0.8,de:0.2")]
    plan = plan_mixture(items, specs, size=100, rng=np.random.default_rng(0), max_repeats=10)

    by_label, by_language = Counter(), Counter()
    for item in items:
        by_label[item.label] += plan.copies[item.id]
        by_language[item.meta["language"]] += plan.copies[item.id]
    assert abs(by_label["math"] - 50) <= 1 and abs(by_label["chat"] - 50) <= 1
    assert abs(by_language["en"] - 80) <= 1 and abs(by_language["de"] - 20) <= 1
    assert plan.targets == {"label": {"math": 50, "chat": 50}, "language": {"en": 80, "de": 20}}


def test_two_specs_for_one_field_are_refused() -> None:
    specs = [parse_mixture("label=math:1"), parse_mixture("label=chat:1")]
    with pytest.raises(MixtureError, match="more than one spec for the same field"):
        plan_mixture(_items({"math": 2, "chat": 2}), specs, size=4, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("math:0.2,chat:0.8", "expected FIELD=VALUE:WEIGHT"),
        ("=math:0.2", "field before '=' is empty"),
        ("label=math:0.2,,chat:0.8", "empty entry"),
        ("label=math", "'math' is not VALUE:WEIGHT"),
        ("label=math:lots", "weight 'lots' of 'math' is not a number"),
        ("label=math:-1,chat:2", "weight of 'math' must be a non-negative number"),
        ("label=math:0.5,math:0.5", "'math' is named twice"),
        ("label=math:0,chat:0", "sum to zero"),
    ],
)
def test_bad_specs_name_the_problem(spec: str, problem: str) -> None:
    with pytest.raises(MixtureError, match=problem):
        parse_mixture(spec)


def test_values_and_fields_the_data_lacks_are_named() -> None:
    items = _items({"math": 3, "chat": 3})
    with pytest.raises(MixtureError, match=r"no exported item has 'poetry' \(values present: chat, math\)"):
        plan_mixture(
            items, [parse_mixture("label=math:0.5,poetry:0.5")], size=6, rng=np.random.default_rng(0)
        )
    with pytest.raises(MixtureError, match="'topic' is not a metadata field"):
        plan_mixture(items, [parse_mixture("topic=a:1")], size=6, rng=np.random.default_rng(0))
