"""``simulate``: reading a labeled file, pool and test split, the rounds, and the CLI's curve.csv."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.fakes import FakeEmbedder
from workbench import embed
from workbench.cli import app, simulate_cmd
from workbench.cli.app import database
from workbench.simulate import LabeledRows, SimulationError, pool_and_test, read_labeled_file, simulate

# Two easy classes for the fake trigram embedder: texts about cards vs. about transfers.
CARD = ["my card is lost", "card never arrived", "new card please", "card was stolen", "block my card"]
TRANSFER = ["send money abroad", "transfer is pending", "transfer failed", "wire money home", "transfer fee"]


def _rows(n_per_class: int) -> list[dict]:
    rows = []
    for i in range(n_per_class):
        rows.append({"text": f"{CARD[i % 5]} {i}", "label": "card"})
        rows.append({"text": f"{TRANSFER[i % 5]} {i}", "label": "transfer"})
    return rows


def _write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def cli(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEmbedder]:
    """The CLI on a temporary database, embedding through the real cache with a fake model."""
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    database.cache_clear()
    fake = FakeEmbedder("fake-trigram-32")
    monkeypatch.setattr(
        simulate_cmd,
        "embed_texts",
        lambda db, texts, *, model, progress=None: embed.embed_texts(db, texts, model=model, embedder=fake),
    )
    yield fake
    database.cache_clear()


def _simulate(*args: str):
    return CliRunner().invoke(app, ["simulate", *args])


def test_cli_writes_one_row_per_round_including_round_zero(cli, tmp_path):
    data = tmp_path / "tickets.jsonl"
    _write_jsonl(data, _rows(40))
    out = tmp_path / "out" / "curve.csv"
    result = _simulate(
        str(data), "--sampler", "margin", "--initial", "6", "--batch", "4", "--rounds", "3",
        "--seed", "1", "--out", str(out), "--model", "fake-trigram-32",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["round", "n_labeled", "accuracy", "macro_f1"]
    assert [(r["round"], r["n_labeled"]) for r in rows] == [("0", "6"), ("1", "10"), ("2", "14"), ("3", "18")]
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 and 0.0 <= float(r["macro_f1"]) <= 1.0 for r in rows)
    assert float(rows[-1]["accuracy"]) >= 0.9  # the two topics are easy to tell apart
    assert cli.n_encoded == 80


def test_cli_embeds_through_the_cache_only_once(cli, tmp_path):
    data = tmp_path / "tickets.jsonl"
    _write_jsonl(data, _rows(20))
    args = ["--initial", "4", "--batch", "2", "--rounds", "1", "--model", "fake-trigram-32"]
    assert _simulate(str(data), *args, "--out", str(tmp_path / "a.csv")).exit_code == 0
    assert _simulate(str(data), *args, "--out", str(tmp_path / "b.csv")).exit_code == 0
    assert cli.n_encoded == 40
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()  # same seed, same curve


def test_cli_rejects_an_unknown_sampler_before_embedding(cli, tmp_path):
    data = tmp_path / "tickets.jsonl"
    _write_jsonl(data, _rows(5))
    result = _simulate(str(data), "--sampler", "marginal", "--out", str(tmp_path / "c.csv"))
    assert result.exit_code == 1
    assert "no sampler named 'marginal'" in result.stderr and "hybrid" in result.stderr
    assert cli.n_encoded == 0


def test_a_row_without_label_names_file_and_line(cli, tmp_path):
    data = tmp_path / "tickets.jsonl"
    rows = _rows(3)
    rows[3]["label"] = ""
    _write_jsonl(data, rows)
    result = _simulate(str(data), "--out", str(tmp_path / "c.csv"))
    assert result.exit_code == 1
    assert f"{data}:4: no label in field 'label'" in result.stderr


def test_csv_with_splits_is_read(tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("body,intent,part\nhello there,greet,train\nbye now,leave,test\nhi,greet,dev\n")
    rows = read_labeled_file(data, text_field="body", label_field="intent", split_field="part")
    assert rows.texts == ["hello there", "bye now", "hi"]
    assert rows.labels.tolist() == ["greet", "leave", "greet"]
    assert rows.splits.tolist() == ["train", "test", "dev"]


def test_a_missing_text_field_is_a_clear_error(tmp_path):
    data = tmp_path / "rows.jsonl"
    _write_jsonl(data, [{"label": "a", "body": "x"}])
    with pytest.raises(SimulationError, match=r"rows.jsonl:1: field 'text' must be a non-empty string"):
        read_labeled_file(data, text_field="text", label_field="label")


def _labeled(splits: list[str] | None, labels: list[str]) -> LabeledRows:
    texts = [f"t{i}" for i in range(len(labels))]
    return LabeledRows(texts, np.array(labels), None if splits is None else np.array(splits))


def test_pool_is_train_and_test_is_test_when_both_exist():
    rows = _labeled(["train", "dev", "test", "train", "test"], list("ababa"))
    pool, test = pool_and_test(rows, seed=0)
    assert pool.tolist() == [0, 3] and test.tolist() == [2, 4]


def test_without_train_rows_the_pool_is_everything_but_test():
    rows = _labeled(["dev", "", "test", "other"], list("abab"))
    pool, test = pool_and_test(rows, seed=0)
    assert pool.tolist() == [0, 1, 3] and test.tolist() == [2]


def test_without_test_rows_a_stratified_fifth_is_held_out_by_seed():
    labels = ["a"] * 50 + ["b"] * 10 + ["c"]  # "c" has one row: it stays in the pool
    pool, test = pool_and_test(_labeled(None, labels), seed=3)
    held = np.array(labels)[test]
    assert (held == "a").sum() == 10 and (held == "b").sum() == 2 and (held == "c").sum() == 0
    assert set(pool) | set(test) == set(range(61)) and not set(pool) & set(test)
    again, _ = pool_and_test(_labeled(None, labels), seed=3)
    other, _ = pool_and_test(_labeled(None, labels), seed=4)
    assert again.tolist() == pool.tolist() and other.tolist() != pool.tolist()


def test_simulate_with_one_labeled_class_starts_cold_and_stops_when_the_pool_runs_out():
    rng = np.random.default_rng(0)
    labels = np.array(["a"] * 30 + ["b"] * 3)
    embeddings = rng.normal(size=(33, 8)).astype(np.float32)
    embeddings[labels == "b"] += 3.0
    pool, test = np.arange(0, 33, 2), np.arange(1, 33, 2)
    curve = simulate(embeddings, labels, pool, test, sampler="hybrid", initial=1, batch=6, rounds=10, seed=0)
    assert [p.n_labeled for p in curve] == [1, 7, 13, 17]  # the pool holds 17 rows
    assert curve[-1].accuracy == 1.0
