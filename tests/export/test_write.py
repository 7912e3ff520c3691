"""Written exports: every format loads with ``datasets``, shapes convert, CSV cells cannot run as
formulas, the split does not leak, the manifest and card tell what happened, and the same seed
gives byte-identical files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from export_fixtures import add_round, alpaca_item, chat_item, flag_near_duplicates, make_project, text_item

from workbench.export import FORMATS, ExportSettings, parse_mixture, plan_export, write_export
from workbench.store.engine import Database

datasets = pytest.importorskip("datasets")

LOADERS = {"jsonl": "json", "parquet": "parquet", "csv": "csv"}


def _rows() -> list[dict]:
    rows = [alpaca_item(f"Add {i} and {i}", f"{2 * i}", "math", source="gsm") for i in range(12)]
    rows += [chat_item(f"Write code {i}", f"print({i})", "code", source="stack") for i in range(6)]
    rows += [text_item(f"Hello there number {i}", "chat", source="forum") for i in range(20)]
    return rows


def _export(db: Database, project_id: int, out: Path, **settings) -> dict:
    with db.read() as session:
        plan = plan_export(session, project_id, ExportSettings(**settings))
    return write_export(plan, out)


def _load(out: Path, fmt: str):
    extension = FORMATS[fmt].extension
    files = {path.stem: str(path) for path in sorted(out.glob(f"*.{extension}"))}
    return datasets.load_dataset(LOADERS[extension], data_files=files, cache_dir=str(out.parent / "hf-cache"))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_round_trips_through_datasets(sqlite_db: Database, tmp_path: Path, fmt: str) -> None:
    project_id, ids = make_project(sqlite_db, _rows())
    manifest = _export(
        sqlite_db,
        project_id,
        tmp_path / "out",
        format=fmt,
        seed=3,
        val_fraction=0.25,
        weights="inverse-frequency",
    )

    loaded = _load(tmp_path / "out", fmt)

    assert set(loaded) == {"train", "validation"}
    assert loaded["train"].num_rows + loaded["validation"].num_rows == len(ids)
    assert loaded["train"].num_rows == manifest["files"][f"train.{FORMATS[fmt].extension}"]["records"]
    record = next(r for r in loaded["train"] if r["label"] == "code")
    assert {"id", "label", "label_source", "source", "weight"} <= set(record)
    assert record["source"] == "stack" and record["label_source"] == "imported"
    shape = FORMATS[fmt].record_shape
    if shape == "alpaca":
        assert record["instruction"].startswith("Write code") and record["output"].startswith("print(")
        assert record["input"] == "system: Be brief."
    elif shape == "messages":
        assert [turn["role"] for turn in record["messages"]] == ["system", "user", "assistant"]
    else:
        assert [turn["from"] for turn in record["conversations"]] == ["system", "human", "gpt"]


def test_alpaca_and_text_items_become_chat_turns(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, _ = make_project(
        sqlite_db, [alpaca_item("Add", "4", "math", input_="2 and 2"), text_item("Just a prompt", "chat")]
    )
    _export(sqlite_db, project_id, tmp_path / "out", format="messages", seed=0)

    records = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    turns = {r["label"]: r["messages"] for r in records}
    assert turns["math"] == [
        {"role": "user", "content": "Add\n\n2 and 2"},
        {"role": "assistant", "content": "4"},
    ]
    assert turns["chat"] == [{"role": "user", "content": "Just a prompt"}]


def test_csv_cells_that_look_like_formulas_are_escaped(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, _ = make_project(
        sqlite_db,
        [
            alpaca_item('=HYPERLINK("http://evil")', "+1", "math"),
            alpaca_item("@SUM(A1)", "-2", "math"),
            alpaca_item("plain", "a = b", "math"),
        ],
    )
    _export(sqlite_db, project_id, tmp_path / "out", format="csv", seed=0)

    with (tmp_path / "out" / "train.csv").open(newline="") as data:
        rows = {row["instruction"]: row for row in csv.DictReader(data)}
    assert set(rows) == {'\'=HYPERLINK("http://evil")', "'@SUM(A1)", "plain"}
    assert rows['\'=HYPERLINK("http://evil")']["output"] == "'+1"
    assert rows["'@SUM(A1)"]["output"] == "'-2"
    assert rows["plain"]["output"] == "a = b"


def test_same_seed_gives_byte_identical_files(db: Database, tmp_path: Path) -> None:
    project_id, ids = make_project(db, _rows())
    add_round(db, project_id, {item_id: [0.5, 0.3, 0.2] for item_id in ids[::2]})
    settings = dict(
        format="parquet",
        seed=11,
        val_fraction=0.2,
        mixture=(parse_mixture("label=math:0.5,chat:0.5"),),
        size=40,
        curriculum=True,
    )
    first = _export(db, project_id, tmp_path / "a", **settings)
    second = _export(db, project_id, tmp_path / "b", **settings)
    other_seed = _export(db, project_id, tmp_path / "c", **{**settings, "seed": 12})

    for name in ("train.parquet", "validation.parquet", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first["files"] == second["files"]
    assert other_seed["files"]["train.parquet"]["sha256"] != first["files"]["train.parquet"]["sha256"]


def test_split_keeps_items_and_near_duplicates_on_one_side(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, ids = make_project(sqlite_db, _rows())
    flag_near_duplicates(sqlite_db, project_id, ids[20:26], group=1)  # six near-identical chat items
    manifest = _export(
        sqlite_db,
        project_id,
        tmp_path / "out",
        format="messages",
        seed=5,
        val_fraction=0.3,
        mixture=(parse_mixture("label=math:0.6,chat:0.2,code:0.2"),),
        size=60,
        max_repeats=10,
    )

    def ids_in(name: str) -> list[int]:
        return [json.loads(line)["id"] for line in (tmp_path / "out" / name).read_text().splitlines()]

    train, validation = ids_in("train.jsonl"), ids_in("validation.jsonl")
    assert not set(train) & set(validation)
    assert len(set(ids[20:26]) & (set(train) | set(validation))) == 1
    assert manifest["drops"]["near-duplicate"]["count"] == 5
    assert len(train) == 60 and len(train) > len(set(train))  # up-sampled by repeats
    assert manifest["counts"]["validation"]["label"] == {"chat": 4, "code": 2, "math": 4}


def test_manifest_records_targets_repeats_drops_and_hashes(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, _ = make_project(sqlite_db, _rows())
    manifest = _export(
        sqlite_db,
        project_id,
        tmp_path / "out",
        format="alpaca",
        seed=0,
        mixture=(parse_mixture("label=math:0.5,chat:0.5"),),
        size=24,
    )

    rows = {row["value"]: row for row in manifest["mixture"]["rows"] if row["field"] == "label"}
    assert rows["math"]["target"] == 12 and rows["math"]["after"] == 12 and rows["math"]["repeats"] == 0
    assert rows["chat"]["before"] == 20 and rows["chat"]["after"] == 12 and rows["chat"]["drops"] == 8
    assert rows["code"]["target_weight"] == 0 and rows["code"]["after"] == 0
    assert manifest["drops"]["not in mixture"]["count"] == 6
    assert manifest["counts"]["before"]["source"] == {"forum": 20, "gsm": 12, "stack": 6}
    assert manifest["counts"]["after"]["label"] == {"chat": 12, "math": 12}
    assert manifest["seed"] == 0 and manifest["scorer_round"] is None
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| label | math | 12 | 12 |" in card and "not in mixture 6" in card


def test_validation_leaves_out_what_the_mixture_leaves_out(sqlite_db: Database, tmp_path: Path) -> None:
    project_id, _ = make_project(sqlite_db, _rows())
    manifest = _export(
        sqlite_db,
        project_id,
        tmp_path / "out",
        format="alpaca",
        seed=0,
        val_fraction=0.25,
        mixture=(parse_mixture("label=math:0.5,chat:0.5"),),
    )

    assert set(manifest["counts"]["validation"]["label"]) == {"math", "chat"}
    assert manifest["drops"]["not in mixture"]["count"] == 6  # every code item, train and validation
