"""Readers: every format yields numbered records, and names the line of anything unreadable."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.ingest import ImportUsageError
from workbench.ingest.readers import FORMATS, format_for, json_array


def read(path):
    return list(format_for(path).read(path))


def test_jsonl_numbers_lines_skips_blank_ones_and_a_bom(write):
    path = write("d.jsonl", b'\xef\xbb\xbf{"a": 1}\n\n{"a": "\xe4\xb8\xad"}\r\n')
    rows = read(path)
    assert [(r.line, r.record, r.error) for r in rows] == [(1, {"a": 1}, None), (3, {"a": "中"}, None)]
    assert rows[-1].end_byte == path.stat().st_size


def test_jsonl_names_invalid_json_non_objects_and_bad_bytes(write):
    path = write("d.jsonl", b'{"a": 1 "b": 2}\n[1, 2]\n{"a": "caf\xe9"}\n{"ok": true}\n')
    rows = read(path)
    assert [(r.line, r.error) for r in rows] == [
        (1, "invalid JSON: Expecting ',' delimiter (column 9)"),
        (2, "not a JSON object (found a list)"),
        (3, "undecodable bytes (not UTF-8) at byte 11"),
        (4, None),
    ]
    assert rows[0].raw == '{"a": 1 "b": 2}'
    assert not any(r.fatal for r in rows)


def test_json_array_yields_objects_with_the_line_each_starts_on(write):
    records = [{"text": "第一"}, {"text": "second", "n": [1, 2]}, {"text": "third"}]
    path = write("d.json", "\ufeff" + json.dumps(records, ensure_ascii=False, indent=2))
    rows = read(path)
    assert [r.record for r in rows] == records
    assert [r.line for r in rows] == [2, 5, 12]
    assert json.loads(rows[1].raw) == records[1]


def test_json_array_reads_the_same_whatever_the_chunk_size(write, monkeypatch):
    records = [{"text": "中文字符" * 3, "n": 1234567890}, {"text": "é\nè", "x": None}] * 4
    path = write("d.json", json.dumps(records, ensure_ascii=False, indent=1)[:-1] + ', {"a": 1 "b"}]')
    whole = [(r.line, r.record, r.error) for r in read(path)]
    assert [record for _, record, _ in whole[:-1]] == records
    assert whole[-1][2] == "invalid JSON: Expecting ',' delimiter (column 11)"
    for chunk_bytes in (1, 5, 64):
        monkeypatch.setattr(json_array, "CHUNK_BYTES", chunk_bytes)
        assert [(r.line, r.record, r.error) for r in read(path)] == whole


def test_json_array_rejects_bad_elements_and_reads_on(write, monkeypatch):
    monkeypatch.setattr(json_array, "CHUNK_BYTES", 8)
    path = write("d.json", b'[\n{"a": 1},\n42,\n{"a": "caf\xe9"},\n{"a": 4}\n]\n')
    rows = read(path)
    assert [(r.line, r.error) for r in rows] == [
        (2, None),
        (3, "not a JSON object (found a number)"),
        (4, "undecodable bytes (not UTF-8) at byte 11"),
        (5, None),
    ]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ('[\n{"a": 1},\n{"a": 2 "b": 3}\n]', 3, "invalid JSON: Expecting ',' delimiter (column 9)"),
        ('[\n{"a": 1}\n{"a": 2}\n]', 3, "invalid JSON: Expecting ',' delimiter (column 1)"),
        ('[{"a": 1},\n]', 2, "invalid JSON: Illegal trailing comma before end of array"),
        ('[{"a": 1}', 1, "invalid JSON: the array is not closed (missing ']')"),
        ('[{"a": 1}] x', 1, "invalid JSON: Extra data after the array"),
        ('{"a": 1}', 1, "not a JSON array (the file must start with '[')"),
        ("", 1, "not a JSON array (the file must start with '[')"),
    ],
)
def test_json_array_structure_errors_stop_the_file(write, content, line, reason):
    rows = read(write("d.json", content))
    assert (rows[-1].line, rows[-1].error, rows[-1].fatal) == (line, reason, True)


def test_csv_uses_the_header_and_numbers_the_line_a_row_starts_on(write):
    content = 'text,label\n"one\nline two",a\n\n"three",b\n'
    rows = read(write("d.csv", "\ufeff" + content))
    assert [(r.line, r.record) for r in rows] == [
        (2, {"text": "one\nline two", "label": "a"}),
        (5, {"text": "three", "label": "b"}),
    ]
    assert rows[0].raw == '"one\nline two",a'


def test_csv_rejects_ragged_rows_and_bad_bytes(write):
    rows = read(write("d.csv", b'text,label\nx,a,extra\n"ok\ncaf\xe9",b\ny,c\n'))
    assert [(r.line, r.error) for r in rows] == [
        (2, "expected 2 columns, found 3"),
        (3, "undecodable bytes (not UTF-8) at byte 4 of line 4"),
        (5, None),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [("", "empty file (no header row)"), ("a,b,a\n1,2,3\n", "column names repeat in the header: 'a'")],
)
def test_csv_without_a_usable_header_is_fatal(write, content, reason):
    [row] = read(write("d.csv", content))
    assert (row.error, row.fatal) == (reason, True)


def test_parquet_rows_keep_nested_chats(tmp_path):
    records = [
        {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "hi"}], "id": 7},
        {"conversations": [{"from": "human", "value": "x"}], "id": 8},
    ]
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    rows = read(path)
    assert [(r.line, r.record) for r in rows] == [(1, records[0]), (2, records[1])]
    assert rows[-1].end_byte == path.stat().st_size


def test_a_file_that_is_not_parquet_is_fatal(write):
    [row] = read(write("d.parquet", "not parquet"))
    assert row.fatal and row.error.startswith("not a readable Parquet file")


def test_an_unknown_extension_names_the_supported_ones(write):
    with pytest.raises(ImportUsageError, match=r"unsupported file type '\.txt' \(supported: .*\.jsonl"):
        format_for(write("d.txt", "x"))
    assert set(FORMATS) == {"jsonl", "json", "csv", "parquet"}
