"""CSV with a header row; every cell is a string. A quoted cell may span several lines."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from workbench.ingest.readers.base import RawRow, register_reader
from workbench.ingest.readers.utf8 import BOM, decode_line, undecodable

# SFT responses often exceed csv's default 128 KiB cell limit.
MAX_CELL_CHARS = 2**31 - 1


class _Lines:
    """Decoded lines for ``csv.reader``, remembering where the current record starts and its text."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.line = 0
        self.bytes_read = 0
        self.start_record()

    def start_record(self) -> None:
        self.record_start: int | None = None
        self.record_lines: list[str] = []
        self.bad_column: int | None = None
        self.bad_line: int | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self._file.readline()
        if not data:
            raise StopIteration
        self.line += 1
        self.bytes_read += len(data)
        text, bad_column = decode_line(data)
        if self.line == 1:
            text = text.removeprefix(BOM)
        if self.record_start is None:
            self.record_start = self.line
        if self.bad_column is None and bad_column is not None:
            self.bad_column, self.bad_line = bad_column, self.line
        self.record_lines.append(text)
        return text

    @property
    def raw(self) -> str:
        return "".join(self.record_lines).rstrip("\r\n")


@register_reader("csv", ".csv")
def read_csv(path: Path) -> Iterator[RawRow]:
    csv.field_size_limit(MAX_CELL_CHARS)
    with path.open("rb") as file:
        lines = _Lines(file)
        rows = csv.reader(lines)
        try:
            header = next(rows)
        except (StopIteration, csv.Error) as exc:
            reason = (
                f"invalid CSV header: {exc}" if isinstance(exc, csv.Error) else "empty file (no header row)"
            )
            yield RawRow(lines.record_start, None, reason, fatal=True)
            return
        problem = _header_problem(header, lines.bad_column)
        if problem:
            yield RawRow(1, None, problem, lines.raw, lines.bytes_read, fatal=True)
            return
        while True:
            lines.start_record()
            try:
                cells = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(lines.record_start, None, f"invalid CSV: {exc}", lines.raw, fatal=True)
                return
            if not cells:  # a blank line
                continue
            yield _row(header, cells, lines)


def _header_problem(header: list[str], bad_column: int | None) -> str | None:
    if bad_column is not None:
        return undecodable(bad_column)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return f"column names repeat in the header: {', '.join(map(repr, repeated))}"
    return None


def _row(header: list[str], cells: list[str], lines: _Lines) -> RawRow:
    start, raw, end = lines.record_start, lines.raw, lines.bytes_read
    if lines.bad_column is not None:
        other_line = lines.bad_line if lines.bad_line != start else None
        return RawRow(start, None, undecodable(lines.bad_column, other_line), raw, end)
    if len(cells) != len(header):
        return RawRow(start, None, f"expected {len(header)} columns, found {len(cells)}", raw, end)
    return RawRow(start, dict(zip(header, cells, strict=True)), None, raw, end)
