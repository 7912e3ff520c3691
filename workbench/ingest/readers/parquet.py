"""Parquet, read one record batch at a time so memory stays bounded.

pyarrow is imported only when a Parquet file is read: it adds about half a second and tens of MB
to every CLI start otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workbench.ingest.readers.base import RawRow, register_reader

BATCH_ROWS = 1024
# Read one column chunk at a time without pre-buffering a whole row group or using threads:
# it halves the peak memory of a 100,000-row import and costs little, as rows are converted one
# by one in Python anyway.
READ_BUFFER_BYTES = 1 << 20


@register_reader("parquet", ".parquet")
def read_parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
    except (pa.ArrowException, OSError) as exc:
        yield RawRow(None, None, f"not a readable Parquet file ({exc})", fatal=True)
        return
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    number = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
            for record in batch.to_pylist():
                number += 1
                yield RawRow(number, record, end_byte=size * number // total)
