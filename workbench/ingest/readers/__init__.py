"""File readers, one module per format; importing this package registers them all."""

from workbench.ingest.readers import csv_table, json_array, jsonl, parquet  # noqa: F401  (registers)
from workbench.ingest.readers.base import FORMATS, FileFormat, RawRow, format_for

__all__ = ["FORMATS", "FileFormat", "RawRow", "format_for"]
