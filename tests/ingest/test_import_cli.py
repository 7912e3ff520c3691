"""``python -m workbench import``: exit status, errors on stderr, summary on stdout."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.ingest.files import jsonl, table_counts
from workbench.cli import import_cmd  # noqa: F401  (registers the command)
from workbench.cli.app import app, database
from workbench.config import REPO_ROOT

GOOD = {"instruction": "Say hi.", "output": "Hi!", "label": "chat"}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run the CLI in ``tmp_path`` against a new SQLite file; returns ``run(*args)``."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("WORKBENCH_DB_URL", url)
    database.cache_clear()
    yield lambda *args: CliRunner().invoke(app, list(args))
    database().dispose()
    database.cache_clear()


def test_import_creates_the_project_and_prints_a_summary(cli, write):
    write("d.jsonl", jsonl([GOOD, {**GOOD, "output": "Hello!", "label": "greeting"}, GOOD]))
    result = cli("import", "d.jsonl", "--project", "demo")
    assert result.exit_code == 0, result.output
    assert "project 'demo' (created)" in result.stdout
    assert "imported: 2, duplicates: 1, rejected: 0 (of 3 rows)" in result.stdout
    assert "labels added: chat, greeting" in result.stdout
    assert "d.jsonl:3: duplicate of line 1" in result.stderr


def test_a_file_with_errors_exits_non_zero_and_lists_them(cli, write):
    rows = [GOOD] + [{"instruction": f"q{i}"} for i in range(25)]
    write("d.jsonl", jsonl(rows))
    result = cli("import", "d.jsonl", "--project", "demo", "--labels", "chat,code")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "d.jsonl:2: missing field 'output' (alpaca shape)"
    assert "... and 5 more errors (25 in all)" in lines
    assert lines[-1] == (
        "error: d.jsonl: 25 rows have errors; nothing was imported (--skip-invalid imports the valid rows)"
    )
    assert result.stdout == ""
    assert set(table_counts(database()).values()) == {0}


def test_skip_invalid_imports_the_rest_and_names_the_report(cli, write, tmp_path):
    write("d.jsonl", jsonl([GOOD, {"instruction": "q"}]))
    result = cli("import", "d.jsonl", "--project", "demo", "--skip-invalid", "--report", "bad.csv")
    assert result.exit_code == 0, result.output
    assert "imported: 1, duplicates: 0, rejected: 1 (of 2 rows)" in result.stdout
    assert "rejected rows: bad.csv" in result.stdout
    assert (tmp_path / "bad.csv").read_text(encoding="utf-8").startswith("file,line,reason,raw")


def test_mapping_and_text_field_options(cli, write):
    write("q.jsonl", jsonl([{"question": "2+2?", "answer": "4", "topic": "math"}]))
    result = cli(
        "import",
        "q.jsonl",
        "--project",
        "qa",
        "--map",
        "instruction=question",
        "--map",
        "output=answer",
        "--label-field",
        "topic",
    )
    assert result.exit_code == 0, result.output
    assert "alpaca shape" in result.stdout and "labels added: math" in result.stdout
    write("t.csv", "body\nsome text\n")
    result = cli("import", "t.csv", "--project", "texts", "--text-field", "body")
    assert result.exit_code == 0 and "text shape" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "error: missing.jsonl: no such file"),
        (["d.txt"], "error: d.txt: unsupported file type '.txt'"),
        (["d.jsonl", "--map", "instruction"], "error: --map 'instruction': expected TARGET=SOURCE"),
        (["d.jsonl", "--shape", "chatml"], "error: unknown shape 'chatml'"),
        (["d.jsonl", "--labels", "a,a"], "error: label names repeat: a"),
    ],
)
def test_bad_options_exit_non_zero_with_a_message(cli, write, args, message):
    write("d.jsonl", jsonl([GOOD]))
    write("d.txt", "x")
    result = cli("import", *args, "--project", "demo")
    assert result.exit_code == 1
    assert result.stderr.startswith(message)


def test_the_entry_point_has_the_import_command(tmp_path):
    """The real ``python -m workbench`` (not only the test runner) registers and runs ``import``."""
    data = tmp_path / "d.jsonl"
    data.write_text(jsonl([{"text": ""}]), encoding="utf-8")
    env = {
        **os.environ,
        "WORKBENCH_DB_URL": f"sqlite:///{tmp_path / 'wb.sqlite'}",
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "import", str(data), "--project", "p"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"{data}:1: empty text" in done.stderr
