"""Parquet, read one record batch at a time so memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.ingest.readers.base import RawRow, register_reader

BATCH_ROWS = 1024


@register_reader("parquet", ".parquet")
def read_parquet(path: Path) -> Iterator[RawRow]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        yield RawRow(None, None, f"not a readable Parquet file ({exc})", fatal=True)
        return
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    number = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            for record in batch.to_pylist():
                number += 1
                yield RawRow(number, record, end_byte=size * number // total)
