"""import_file on SQLite and PostgreSQL: what gets stored, what gets refused, and that a refused
file leaves the database exactly as it was."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from tests.ingest.files import ALPACA, BELLE, first_records, jsonl, table_counts
from workbench.ingest import ImportFailed, ImportUsageError, import_file, importer, report
from workbench.store.projects import create_project, get_project, make_label_schema
from workbench.store.schema import AuditEntry, ImportBatch, Item


def stored_items(db) -> list[Item]:
    with db.read() as session:
        return list(session.scalars(select(Item).order_by(Item.id)))


def project_labels(db, name) -> list[str]:
    with db.read() as session:
        return get_project(session, name).label_names


def test_chinese_samples_round_trip_byte_exact(db):
    originals = [json.loads(line) for line in BELLE.read_text(encoding="utf-8").splitlines()]
    result = import_file(db, BELLE, "belle")
    assert (result.n_imported, result.n_rejected, result.shape) == (1000, 0, "alpaca")
    items = stored_items(db)
    for item, original in zip(items, originals, strict=True):
        for field in ("instruction", "input", "output"):
            assert item.sample[field].encode("utf-8") == original[field].encode("utf-8")
        assert (item.external_id, item.imported_label) == (original["id"], original["label"])
        assert item.meta == {
            "label_raw": original["label_raw"],
            "has_reference_answer": original["has_reference_answer"],
        }
    assert items[0].source_file == "belle_eval_set.jsonl" and items[41].source_line == 42
    # The one label spelled with a no-break space in the source survives in the metadata.
    assert any(item.meta["label_raw"] == "closed\u00a0qa" for item in items)
    assert project_labels(db, "belle") == sorted({original["label"] for original in originals})


def _write_format(tmp_path, file_format, records):
    path = tmp_path / f"alpaca.{file_format}"
    if file_format == "jsonl":
        path.write_text(jsonl(records), encoding="utf-8")
    elif file_format == "json":
        path.write_text(json.dumps(records, indent=4), encoding="utf-8")
    elif file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows({**r, "label": r["label"] or ""} for r in records)
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    return path


@pytest.mark.parametrize("file_format", ["jsonl", "json", "csv", "parquet"])
def test_every_format_stores_the_same_alpaca_items(db, tmp_path, file_format):
    records = first_records(ALPACA, 30)
    result = import_file(db, _write_format(tmp_path, file_format, records), "alpaca")
    assert (result.file_format, result.n_imported, result.n_rejected) == (file_format, 30, 0)
    items = stored_items(db)
    assert [item.sample for item in items] == [
        {"instruction": r["instruction"], "input": r["input"], "output": r["output"]} for r in records
    ]
    assert [item.external_id for item in items] == [r["id"] for r in records]
    assert all(item.imported_label is None and item.meta == {} for item in items)
    assert (
        items[1].text
        == "What are the three primary colors?\n\nThe three primary colors are red, blue, and yellow."
    )


def test_chat_shapes_are_detected_and_stored_as_given(db, write):
    conversation = [{"from": "human", "value": "写一首诗"}, {"from": "gpt", "value": "春眠不觉晓"}]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    import_file(db, write("s.jsonl", jsonl([{"conversations": conversation, "source": "x"}])), "chats")
    import_file(db, write("m.json", json.dumps([{"messages": messages, "language": "en"}])), "chats")
    sharegpt, chat = stored_items(db)
    assert (sharegpt.shape, sharegpt.sample, sharegpt.meta) == (
        "sharegpt",
        {"conversations": conversation},
        {"source": "x"},
    )
    assert sharegpt.text == "user: 写一首诗\nassistant: 春眠不觉晓"
    assert (chat.shape, chat.sample, chat.meta) == ("messages", {"messages": messages}, {"language": "en"})
    assert chat.text == "system: Be brief.\nuser: Hi"


GOOD = {"instruction": "Say hi.", "output": "Hi!", "label": "chat"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "data.jsonl",
            jsonl([GOOD]) + '{"instruction": "x" "output": "y"}\n',
            "data.jsonl:2: invalid JSON: Expecting ',' delimiter (column 21)",
        ),
        (
            "data.jsonl",
            jsonl([GOOD, {"instruction": "x", "label": "chat"}]),
            "data.jsonl:2: missing field 'output' (alpaca shape)",
        ),
        ("data.csv", 'text,label\nhello,chat\n" \t ",chat\n', "data.csv:3: empty text"),
        (
            "data.jsonl",
            jsonl([GOOD, {**GOOD, "output": "4", "label": "mathh"}]),
            "data.jsonl:2: unknown label 'mathh' (labels: chat, code, math)",
        ),
        (
            "data.jsonl",
            jsonl([GOOD, {**GOOD, "instruction": 7}]),
            "data.jsonl:2: wrong type: 'instruction' is a number, expected a string (alpaca shape)",
        ),
        (
            "data.jsonl",
            jsonl([GOOD, {**GOOD, "output": "2", "label": ["chat"]}]),
            "data.jsonl:2: wrong type: 'label' is a list, expected a string",
        ),
        (
            "data.jsonl",
            jsonl([GOOD]).encode() + b'{"instruction": "caf\xe9", "output": "x"}\n',
            "data.jsonl:2: undecodable bytes (not UTF-8) at byte 21",
        ),
        (
            "data.json",
            json.dumps([GOOD, "just text"], indent=1),
            "data.json:7: not a JSON object (found a string)",
        ),
        (
            "data.jsonl",
            jsonl([GOOD, {**GOOD, "output": "nul \u0000"}]),
            "data.jsonl:2: NUL character in the text (the database cannot store it)",
        ),
    ],
)
def test_a_file_with_an_error_names_the_line_and_imports_nothing(
    db, tmp_path, monkeypatch, name, content, expected
):
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    path = workdir / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    before = table_counts(db)
    with pytest.raises(ImportFailed) as caught:
        import_file(db, name, "new", labels=["chat", "code", "math"])
    assert [str(error) for error in caught.value.report.errors] == [expected]
    assert str(caught.value) == f"{name}: 1 row has an error; nothing was imported"
    assert table_counts(db) == before
    assert list(workdir.iterdir()) == [path]  # no report unless asked for one


def test_an_existing_project_is_left_as_it_was(db, write):
    with db.write() as session:
        create_project(session, "p", labels=make_label_schema(["chat"]), embedding_model="m")
    import_file(db, write("a.jsonl", jsonl([GOOD])), "p")
    before = table_counts(db)
    bad = write("b.jsonl", jsonl([{**GOOD, "output": "other"}, {**GOOD, "output": "x", "label": "code"}]))
    with pytest.raises(ImportFailed, match="1 row has an error"):
        import_file(db, bad, "p")
    assert table_counts(db) == before
    assert project_labels(db, "p") == ["chat"]


def test_the_whole_file_is_read_so_every_error_is_reported(db, write, monkeypatch):
    monkeypatch.setattr(report, "MAX_LISTED", 2)
    rows = [
        GOOD,
        {"instruction": "a"},
        {**GOOD, "output": "b"},
        {"instruction": 1, "output": "c"},
        {"output": "d"},
    ]
    with pytest.raises(ImportFailed) as caught:
        import_file(db, write("d.jsonl", jsonl(rows)), "p")
    failed = caught.value.report
    assert (failed.n_rows, failed.n_rejected, [error.line for error in failed.errors]) == (5, 3, [2, 4])


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(db, write, tmp_path):
    path = write(
        "d.jsonl",
        jsonl([GOOD, {"instruction": "no output"}]) + "{oops\n" + jsonl([{**GOOD, "output": "Hey"}]),
    )
    result = import_file(db, path, "p", skip_invalid=True)
    assert (result.n_rows, result.n_imported, result.n_rejected) == (4, 2, 2)
    assert result.report_path == tmp_path / "d.jsonl.rejected.jsonl"
    rejected = [json.loads(line) for line in result.report_path.read_text(encoding="utf-8").splitlines()]
    assert rejected == [
        {
            "file": str(path),
            "line": 2,
            "reason": "missing field 'output' (alpaca shape)",
            "raw": '{"instruction": "no output"}',
        },
        {
            "file": str(path),
            "line": 3,
            "reason": "invalid JSON: Expecting property name enclosed in double quotes (column 2)",
            "raw": "{oops",
        },
    ]
    with db.read() as session:
        batch = session.scalar(select(ImportBatch))
        assert (batch.n_rows, batch.n_imported, batch.n_rejected) == (4, 2, 2)


def test_the_rejected_rows_report_can_be_csv(db, write, tmp_path):
    csv_path = tmp_path / "out" / "rejected.csv"
    path = write("d.csv", "instruction,output,label\nq,a,x\n,,x\n")
    result = import_file(db, path, "p", skip_invalid=True, report_path=csv_path)
    assert result.n_imported == 1
    with csv_path.open(encoding="utf-8", newline="") as file:
        assert list(csv.reader(file)) == [
            ["file", "line", "reason", "raw"],
            [str(path), "3", "empty text", ",,x"],
        ]


def test_duplicates_in_a_file_and_across_imports_are_stored_once(db, write, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)  # so a duplicate can sit in a later batch
    first = [
        {"text": "Hello  world", "label": "a"},
        {"text": "Other"},
        {"text": "Third"},
        {"text": "Hello world\n", "label": "b"},
        {"text": "Other"},
    ]
    write("a.jsonl", jsonl(first))
    result = import_file(db, "a.jsonl", "p")
    assert (result.n_imported, result.n_duplicates) == (3, 2)
    assert [str(d) for d in result.duplicates] == [
        "a.jsonl:4: duplicate of line 1 (label 'b' differs from 'a')",
        "a.jsonl:5: duplicate of line 2",
    ]
    other_id = next(item.id for item in stored_items(db) if item.text == "Other")
    write("b.jsonl", jsonl([{"text": "New"}, {"text": " Other "}]))
    again = import_file(db, "b.jsonl", "p")
    assert (again.n_imported, again.n_duplicates) == (1, 1)
    assert [str(d) for d in again.duplicates] == [f"b.jsonl:2: duplicate of item {other_id} (a.jsonl:2)"]
    assert sorted(item.text for item in stored_items(db)) == ["Hello world", "New", "Other", "Third"]


def test_an_explicit_mapping_reads_other_field_names(db, write):
    record = {"uid": 41, "question": "2+2?", "answer": "4", "category": "math", "source": "quiz"}
    result = import_file(
        db,
        write("q.jsonl", jsonl([record])),
        "p",
        field_map={"instruction": "question", "output": "answer", "id": "uid"},
        label_field="category",
    )
    assert result.shape == "alpaca"
    [item] = stored_items(db)
    assert (item.sample, item.external_id, item.imported_label, item.meta) == (
        {"instruction": "2+2?", "output": "4"},
        "41",
        "math",
        {"source": "quiz"},
    )
    with db.read() as session:
        batch = session.scalar(select(ImportBatch))
        assert batch.field_mapping == {
            "instruction": "question",
            "input": "input",
            "output": "answer",
            "id": "uid",
            "label": "category",
        }


def test_a_text_field_and_an_integer_label(db, write):
    path = write("reviews.csv", "review,stars,language\nGreat phone,5,en\n")
    import_file(db, path, "p", text_field="review", label_field="stars")
    [item] = stored_items(db)
    assert (item.shape, item.sample, item.imported_label, item.meta) == (
        "text",
        {"text": "Great phone"},
        "5",
        {"language": "en"},
    )
    assert project_labels(db, "p") == ["5"]


def test_a_named_label_field_must_exist(db, write):
    with pytest.raises(ImportFailed) as caught:
        import_file(db, write("d.jsonl", jsonl([GOOD])), "p", label_field="category")
    assert [str(e) for e in caught.value.report.errors] == [
        f"{caught.value.report.file}: label field 'category' is in no row"
    ]


def test_label_schemas_come_from_the_option_or_the_file(db, write):
    rows = jsonl([{"text": "a", "label": "zeta"}, {"text": "b", "label": "alpha"}, {"text": "c"}])
    import_file(db, write("a.jsonl", rows), "learned")
    assert project_labels(db, "learned") == ["alpha", "zeta"]
    import_file(db, write("b.jsonl", rows), "given", labels=["zeta", "beta", "alpha"])
    assert project_labels(db, "given") == ["zeta", "beta", "alpha"]
    result = import_file(
        db, write("c.jsonl", jsonl([{"text": "d", "label": "gamma"}])), "learned", labels=["gamma"]
    )
    assert result.labels_added == ["gamma"]
    assert project_labels(db, "learned") == ["alpha", "zeta", "gamma"]


def test_a_label_field_with_too_many_values_is_not_taken_for_labels(db, write, monkeypatch):
    monkeypatch.setattr(importer, "MAX_LEARNED_LABELS", 2)
    rows = jsonl({"text": f"t{i}", "label": f"l{i}"} for i in range(4))
    with pytest.raises(ImportFailed) as caught:
        import_file(db, write("d.jsonl", rows), "p", skip_invalid=True)
    assert [e.line for e in caught.value.report.errors] == [3]
    assert "more than 2 distinct values in 'label'" in caught.value.report.errors[0].reason


def test_progress_reports_bytes_and_rows_up_to_the_end(db, write, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    path = write("d.jsonl", jsonl({"text": f"t{i}"} for i in range(5)))
    calls = []
    import_file(db, path, "p", progress=lambda done, rows: calls.append((done, rows)))
    assert [rows for _, rows in calls] == [2, 4, 5]
    assert calls[-1][0] == path.stat().st_size
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_an_import_is_recorded_with_its_counts_and_audited(db, write):
    result = import_file(db, write("d.jsonl", jsonl([GOOD, GOOD])), "p", actor="alice")
    with db.read() as session:
        batch = session.get(ImportBatch, result.import_id)
        assert (
            batch.source_file,
            batch.file_format,
            batch.shape,
            batch.n_rows,
            batch.n_imported,
            batch.n_duplicates,
        ) == (
            result.file,
            "jsonl",
            "alpaca",
            2,
            1,
            1,
        )
        assert len(batch.file_sha256) == 64
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
        assert (entry.actor, entry.entity_id, entry.after["imported"]) == ("alice", str(batch.id), 1)
        assert session.scalar(select(Item.import_id)) == batch.id


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            jsonl([{"prompt": "p", "completion": "c"}]),
            "cannot tell the shape from the fields ('prompt', 'completion')",
        ),
        ("", "no rows to import"),
    ],
)
def test_a_file_that_cannot_be_imported_at_all(db, write, content, reason):
    before = table_counts(db)
    with pytest.raises(ImportFailed) as caught:
        import_file(db, write("d.jsonl", content), "p", skip_invalid=True)
    assert reason in str(caught.value.report.errors[0])
    assert table_counts(db) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shape": "chatml"}, "unknown shape 'chatml' (shapes: messages, sharegpt, alpaca, text)"),
        ({"field_map": {"prompt": "q"}}, "cannot map 'prompt': not a field of the alpaca shape"),
        ({"shape": "alpaca", "text_field": "t"}, "--text-field applies to the text shape, not 'alpaca'"),
    ],
)
def test_options_that_cannot_work_are_refused(db, write, options, message):
    before = table_counts(db)
    with pytest.raises(ImportUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(db, write("d.jsonl", jsonl([GOOD])), "p", **options)
    assert table_counts(db) == before
