"""Output formats, a registered small writer each.

A format names its file extension, the record shape it writes (``shapes.RECORD_SHAPES``) and a
``write(records, columns, path)`` function. Records are dicts with the columns in order: ``id``,
the shape's fields, ``label``, ``label_source``, ``source`` and, when asked, ``weight``. Every
writer is deterministic: the same records give the same bytes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Record = dict[str, Any]
Writer = Callable[[Sequence[Record], Sequence[str], Path], None]

#: Columns every record has around its shape's fields.
LEADING_COLUMNS = ("id",)
TRAILING_COLUMNS = ("label", "label_source", "source")

SHAPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "alpaca": ("instruction", "input", "output"),
    "sharegpt": ("conversations",),
    "messages": ("messages",),
}

#: Cells starting with these are read as formulas by spreadsheet programs (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    record_shape: str
    write: Writer
    description: str


FORMATS: dict[str, Format] = {}


def register_format(
    name: str, *, extension: str, record_shape: str, description: str
) -> Callable[[Writer], Writer]:
    def decorate(write: Writer) -> Writer:
        FORMATS[name] = Format(name, extension, record_shape, write, description)
        return write

    return decorate


def columns_for(record_shape: str, *, weighted: bool) -> list[str]:
    return [
        *LEADING_COLUMNS,
        *SHAPE_COLUMNS[record_shape],
        *TRAILING_COLUMNS,
        *(["weight"] if weighted else []),
    ]


def _write_jsonl(records: Sequence[Record], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps({column: record[column] for column in columns}, ensure_ascii=False))
            out.write("\n")


for _shape, _description in (
    ("alpaca", "Alpaca JSONL (instruction, input, output)"),
    ("sharegpt", "ShareGPT JSONL (conversations of from/value turns)"),
    ("messages", "chat-messages JSONL (messages of role/content turns)"),
):
    register_format(_shape, extension="jsonl", record_shape=_shape, description=_description)(_write_jsonl)


def _turn_type(role_key: str, content_key: str) -> pa.DataType:
    return pa.list_(pa.struct([(role_key, pa.string()), (content_key, pa.string())]))


ARROW_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "instruction": pa.string(),
    "input": pa.string(),
    "output": pa.string(),
    "conversations": _turn_type("from", "value"),
    "messages": _turn_type("role", "content"),
    "label": pa.string(),
    "label_source": pa.string(),
    "source": pa.string(),
    "weight": pa.float64(),
}


@register_format(
    "parquet",
    extension="parquet",
    record_shape="messages",
    description="Parquet with chat messages (role/content turns)",
)
def write_parquet(records: Sequence[Record], columns: Sequence[str], path: Path) -> None:
    schema = pa.schema([(column, ARROW_TYPES[column]) for column in columns])
    table = pa.Table.from_pylist(
        [{column: record[column] for column in columns} for record in records], schema=schema
    )
    pq.write_table(table, path, compression="zstd")


def escape_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@register_format(
    "csv",
    extension="csv",
    record_shape="alpaca",
    description="CSV with Alpaca columns; cells starting with = + - @ are prefixed with '",
)
def write_csv(records: Sequence[Record], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([escape_formula(record[column]) for column in columns])
