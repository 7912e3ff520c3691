"""``python -m workbench review ...``: list, decide, bulk, undo, history and scan from a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from review_setup import make_project
from sqlalchemy import select
from typer.testing import CliRunner

import workbench.cli.review_cmd  # noqa: F401  (registers the review commands)
from workbench.cli.app import app, database
from workbench.store.engine import Database
from workbench.store.gold import GoldLabel, gold_labels
from workbench.store.migrate import upgrade
from workbench.store.schema import Item, NoiseFlag

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path, monkeypatch) -> Iterator[Database]:
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    database.cache_clear()
    db = database()
    upgrade(db)
    yield db
    database.cache_clear()


def _run(*args: str):
    return runner.invoke(app, ["review", *args])


def test_list_shows_the_queue_with_evidence_and_json(cli_db):
    s = make_project(cli_db)
    result = _run("list", "--project", "support", "--detector", "label_issue")
    assert result.exit_code == 0, result.output
    item = s.items["mislabeled"]
    assert result.output.splitlines() == [
        f"item {item}  severity 0.90  bug (imported)  My card was charged twice Refund issued.",
        (
            "    label_issue 0.90: given label: bug (probability 5%) | "
            "suggested label: billing (probability 90%) | "
            "label quality: 0.1 (0 = surely wrong, 1 = surely right)"
        ),
        "    short_output 0.20: the response has no letter or digit: '...'",  # all of the item's flags
        "1 flagged item(s); showing 1",
    ]
    result = _run("list", "--project", "support", "--limit", "2", "--json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [row["item_id"] for row in rows] == [s.items["split"], s.items["mislabeled"]]
    assert rows[1]["flags"][0]["detector"] == "label_issue" and rows[0]["label"] is None


def test_decide_as_a_named_lead_and_undo(cli_db):
    s = make_project(cli_db)
    item = s.items["mislabeled"]
    result = _run(
        "decide", "--project", "support", "--item", str(item), "--action", "relabel", "--label", "billing"
    )
    assert result.exit_code == 1 and "there are 2 active leads: say which one with --as NAME" in result.output
    args = ["decide", "--project", "support", "--item", str(item), "--action", "relabel", "--as", "boss"]
    result = _run(*args, "--label", "refund")
    assert result.exit_code == 1
    assert "unknown label 'refund'; the project's labels are: billing, bug, other" in result.output
    result = _run(*args, "--label", "billing", "--reason", "double charge")
    assert result.exit_code == 0, result.output
    with cli_db.read() as session:
        assert gold_labels(session, s.project_id)[item] == GoldLabel("billing", "lead")

    result = _run("undo", "--project", "support", "--as", "boss")
    assert result.exit_code == 0 and result.output.startswith(f"undid 1 decision(s) on items {item}")
    with cli_db.read() as session:
        assert item not in gold_labels(session, s.project_id)
    history = _run("history", "--project", "support").output.splitlines()
    assert "undo of" in history[0] and "relabel -> billing undone  (double charge)" in history[1]
    assert _run("undo", "--project", "support", "--as", "boss").output == "nothing to undo\n"


def test_bulk_drop_of_a_filter_with_confirmation(cli_db):
    s = make_project(cli_db)
    args = [
        "bulk",
        "--project",
        "support",
        "--detector",
        "short_output",
        "--min-severity",
        "0.5",
        "--action",
        "drop",
        "--as",
        "deputy",
    ]
    result = runner.invoke(app, ["review", *args], input="n\n")
    assert result.exit_code == 1 and "drop 1 item(s)?" in result.output and "nothing changed" in result.output
    result = _run(*args, "--yes", "--reason", "no answer")
    assert result.exit_code == 0 and f"on items {s.items['empty']}" in result.output
    with cli_db.read() as session:
        assert session.get(Item, s.items["empty"]).status == "dropped"
    result = _run("bulk", "--project", "support", "--action", "edit", "--yes", "--as", "deputy")
    assert result.exit_code == 1 and "'edit' cannot be applied in bulk" in result.output


def test_scan_now_runs_the_detectors(cli_db):
    s = make_project(cli_db)
    result = _run("scan", "--project", "support", "--now")
    assert result.exit_code == 0, result.output
    assert "9 items checked" in result.output and "short_output 2" in result.output
    with cli_db.read() as session:
        open_short = session.scalars(
            select(NoiseFlag.item_id).where(NoiseFlag.detector == "short_output", NoiseFlag.status == "open")
        ).all()
    # The run replaced the set-up's open short_output flags with what the detector found.
    assert sorted(open_short) == sorted([s.items["empty"], s.items["terse"]])
