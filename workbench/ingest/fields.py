"""The fields around the sample: the imported label, the external id and the metadata."""

from __future__ import annotations

import math
from collections.abc import Container, Mapping
from datetime import date, datetime, time
from typing import Any

from workbench.ingest.errors import RowProblem, wrong_type

# Column sizes in the items table (PostgreSQL enforces them).
MAX_LABEL_CHARS = 200
MAX_ID_CHARS = 200


def read_label(record: Mapping[str, Any], field: str) -> str | None:
    """The record's imported label: a string (an integer is taken in its string form).

    Absent, null or blank means "no label" (a CSV cell cannot be absent, only empty).
    """
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowProblem(wrong_type(field, value, "a string"))
    label = str(value).strip()
    if len(label) > MAX_LABEL_CHARS:
        raise RowProblem(f"label longer than {MAX_LABEL_CHARS} characters")
    return label or None


def read_external_id(record: Mapping[str, Any], field: str) -> str | None:
    """The record's own id in string form (a string or an integer), or None."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowProblem(wrong_type(field, value, "a string or an integer"))
    external_id = str(value).strip()
    if len(external_id) > MAX_ID_CHARS:
        raise RowProblem(f"{field!r} longer than {MAX_ID_CHARS} characters")
    return external_id or None


def read_meta(record: Mapping[str, Any], used: Container[str]) -> dict[str, Any]:
    """Every field not ``used`` by the shape, label or id, made storable as JSON."""
    return {key: json_safe(value) for key, value in record.items() if key not in used}


def json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot hold replaced: NaN/inf -> None, dates -> ISO text, else str.

    Parquet cells can be timestamps, decimals or bytes; PostgreSQL rejects NaN in JSON.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
