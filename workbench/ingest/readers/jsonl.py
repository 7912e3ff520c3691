"""JSON Lines: one object per line; blank lines are skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from workbench.ingest.errors import type_name
from workbench.ingest.readers.base import RawRow, register_reader
from workbench.ingest.readers.utf8 import BOM, decode_line, undecodable


def parse_object(text: str) -> tuple[dict | None, str | None]:
    """Parse one JSON text that must be an object; return it, or the reason it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(value, dict):
        return None, f"not a JSON object (found a {type_name(value)})"
    return value, None


@register_reader("jsonl", ".jsonl", ".ndjson")
def read_jsonl(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as file:
        offset = 0
        for number, data in enumerate(file, start=1):
            offset += len(data)
            text, bad_column = decode_line(data)
            if number == 1:
                text = text.removeprefix(BOM)
            raw = text.rstrip("\r\n")
            if not raw.strip():
                continue
            if bad_column is not None:
                yield RawRow(number, None, undecodable(bad_column), raw, offset)
                continue
            record, error = parse_object(raw)
            yield RawRow(number, record, error, raw, offset)
