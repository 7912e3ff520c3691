"""Plan rows to output records: the format's shape fields plus id, label, provenance and weight."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.export.collect import ExportItem
from workbench.export.formats import Record
from workbench.export.shapes import RECORD_SHAPES


def to_records(rows: Sequence[tuple[ExportItem, float | None]], record_shape: str) -> list[Record]:
    """One record per row, in order."""
    to_shape = RECORD_SHAPES[record_shape]
    records = []
    for item, weight in rows:
        record: Record = {
            "id": item.id,
            **to_shape(item.shape, item.sample),
            "label": item.label,
            "label_source": item.label_source,
            "source": item.source,
        }
        if weight is not None:
            record["weight"] = weight
        records.append(record)
    return records
