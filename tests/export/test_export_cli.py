"""The ``export`` command: writes the files and reports counts; bad settings fail with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_fixtures import make_project, text_item
from typer.testing import CliRunner

from workbench.cli import app
from workbench.cli.app import database
from workbench.store.engine import Database


@pytest.fixture
def cli_db(sqlite_db: Database, monkeypatch) -> Database:
    monkeypatch.setenv("WORKBENCH_DB_URL", sqlite_db.url)
    database.cache_clear()
    yield sqlite_db
    database.cache_clear()


def _run(*args: str):
    return CliRunner().invoke(app, ["export", *args])


def test_export_writes_files_with_the_mixture(cli_db: Database, tmp_path: Path) -> None:
    make_project(
        cli_db,
        [text_item(f"m{i}", "math") for i in range(3)] + [text_item(f"c{i}", "chat") for i in range(9)],
    )
    out = tmp_path / "out"

    result = _run(
        "--project",
        "p",
        "--format",
        "sharegpt",
        "--mixture",
        "label=math:0.5,chat:0.5",
        "--size",
        "12",
        "--seed",
        "4",
        "--out",
        str(out),
        "--weights",
        "mixture",
    )

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    weight_by_label = {}
    for record in records:
        weight_by_label[record["label"]] = weight_by_label.get(record["label"], 0) + record["weight"]
    assert weight_by_label == {"math": 6.0, "chat": 6.0}  # 3 math items weighted 2 instead of repeated
    assert json.loads((out / "manifest.json").read_text())["settings"]["weights"] == "mixture"
    assert "wrote" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mixture", "label=math:0.5,poetry:0.5"], "no exported item has 'poetry'"),
        (["--mixture", "label=math"], "'math' is not VALUE:WEIGHT"),
        (["--format", "xml"], "format 'xml': choose one of"),
        (["--project", "nope"], "no project named 'nope'"),
        (["--val-fraction", "1.5"], "val fraction 1.5"),
    ],
)
def test_bad_settings_fail_with_the_reason(
    cli_db: Database, tmp_path: Path, args: list[str], message: str
) -> None:
    make_project(cli_db, [text_item("m", "math"), text_item("c", "chat")])
    base = {"--project": "p", "--format": "alpaca", "--seed": "0", "--out": str(tmp_path / "out")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value

    result = _run(*[part for pair in base.items() for part in pair])

    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "out").exists()
