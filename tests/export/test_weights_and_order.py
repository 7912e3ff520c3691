"""Loss weights and curriculum order: what a trainer reading the files would see."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from export_fixtures import add_round, make_project, text_item

from workbench.export import ExportSettings, plan_export, write_export
from workbench.export.collect import ExportItem
from workbench.export.weights import WEIGHT_SCHEMES
from workbench.store.engine import Database


def _item(item_id: int, label: str, confidence: float | None) -> ExportItem:
    return ExportItem(item_id, "text", {"text": str(item_id)}, label, "imported", "s", {}, confidence, False)


def test_inverse_frequency_gives_every_label_the_same_total_weight() -> None:
    items = [_item(i, "rare", None) for i in range(2)] + [_item(i, "common", None) for i in range(2, 10)]
    weights = WEIGHT_SCHEMES["inverse-frequency"](items)

    totals = Counter()
    for item, weight in zip(items, weights, strict=True):
        totals[item.label] += weight
    assert totals["rare"] == pytest.approx(totals["common"])


def test_hard_examples_weigh_more_than_easy_ones() -> None:
    items = [_item(1, "a", 0.99), _item(2, "a", 0.2), _item(3, "a", None)]
    easy, hard, unscored = WEIGHT_SCHEMES["hard-example"](items)

    assert hard > unscored > easy
    assert (easy + hard + unscored) / 3 == pytest.approx(1.0)


def test_curriculum_orders_records_easy_to_hard(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, ids = make_project(sqlite_db, [text_item(f"item {i}", "math") for i in range(5)])
    confidence = {ids[0]: 0.3, ids[1]: 0.9, ids[2]: 0.6, ids[3]: 0.95}  # ids[4] unscored: last
    add_round(sqlite_db, project_id, {item_id: [p, 1 - p, 0.0] for item_id, p in confidence.items()})
    with sqlite_db.read() as session:
        plan = plan_export(session, project_id, ExportSettings(format="alpaca", seed=2, curriculum=True))
    write_export(plan, tmp_path)

    order = [json.loads(line)["id"] for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert order == [ids[3], ids[1], ids[2], ids[0], ids[4]]
