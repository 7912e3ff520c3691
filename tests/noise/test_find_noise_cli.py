"""``find-noise``: one CSV line per input row with the stable columns."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tests.fakes import FakeEmbedder
from workbench import embed
from workbench.cli import app, noise_cmd
from workbench.cli.app import database

CARD = ["my card is lost", "card never arrived", "new card please", "card was stolen", "block my card"]
TRANSFER = ["send money abroad", "transfer is pending", "transfer failed", "wire money home", "transfer fee"]


@pytest.fixture
def cli(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEmbedder]:
    """The CLI on a temporary database, embedding through the real cache with a fake model."""
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    database.cache_clear()
    fake = FakeEmbedder("fake-trigram-32")
    monkeypatch.setattr(
        noise_cmd,
        "embed_texts",
        lambda db, texts, *, model, progress=None: embed.embed_texts(db, texts, model=model, embedder=fake),
    )
    yield fake
    database.cache_clear()


def _tickets(tmp_path) -> tuple[str, list[dict]]:
    rows = []
    for i in range(60):
        rows.append(
            {
                "id": f"c{i}",
                "text": f"{CARD[i % 5]}, {CARD[i // 5 % 5]}, {CARD[i // 25 % 5]} {i}",
                "label": "card",
            }
        )
        rows.append(
            {
                "id": f"t{i}",
                "text": f"{TRANSFER[i % 5]}, {TRANSFER[i // 5 % 5]}, {TRANSFER[i // 25 % 5]} {i}",
                "label": "transfer",
            }
        )
    for row in (10, 50, 90):  # card texts labeled transfer
        rows[row]["label"] = "transfer"
    rows.append({"text": rows[1]["text"], "label": "card"})  # an exact copy of t0, other label, no id
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path), rows


def test_writes_the_stable_columns_one_row_per_input_row(cli, tmp_path):
    data, rows = _tickets(tmp_path)
    out = tmp_path / "out" / "flags.csv"
    result = CliRunner().invoke(
        app, ["find-noise", data, "--text-field", "text", "--label-field", "label", "--out", str(out),
              "--model", "fake-trigram-32", "--threshold", "0.99"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        flags = list(csv.DictReader(handle))
    assert list(flags[0]) == ["id", "given_label", "suggested_label", "label_quality", "flagged", "detectors"]
    assert len(flags) == len(rows)
    assert [f["id"] for f in flags] == [r.get("id", str(i)) for i, r in enumerate(rows)]
    assert [f["given_label"] for f in flags] == [r["label"] for r in rows]
    by_id = {f["id"]: f for f in flags}
    planted = {"c5", "c25", "c45", str(len(rows) - 1)}  # the copy of a transfer text is labeled card
    assert set(sorted(by_id, key=lambda i: float(by_id[i]["label_quality"]))[:4]) == planted
    assert [by_id[i]["suggested_label"] for i in sorted(planted)] == ["transfer", "card", "card", "card"]
    assert any("label_issue" in by_id[i]["detectors"].split(";") for i in planted)
    copy = by_id[str(len(rows) - 1)]
    assert {"exact_duplicate", "label_conflict"} <= set(copy["detectors"].split(";"))
    label_detectors = {"label_issue", "label_conflict"}
    assert all(
        f["flagged"] == ("1" if label_detectors & set(f["detectors"].split(";")) else "0") for f in flags
    )
    assert sum(f["flagged"] == "1" for f in flags) < len(rows) / 4
    assert all(0.0 <= float(f["label_quality"]) <= 1.0 for f in flags)


def test_a_row_without_label_names_file_and_line(cli, tmp_path):
    data, rows = _tickets(tmp_path)
    lines = open(data).read().splitlines()
    lines[2] = json.dumps({"id": "x", "text": "lost card"})
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        app, ["find-noise", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "f.csv")]
    )
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.jsonl'}:3: no label in field 'label'" in result.stderr
    assert cli.n_encoded == 0
