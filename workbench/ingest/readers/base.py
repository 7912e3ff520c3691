"""What every reader yields, and the registry that picks a reader by file extension."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.ingest.errors import ImportUsageError


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record as read from a file, or the reason it could not be read.

    Attributes
    ----------
    line : int or None
        1-based line where the record starts (the row number for Parquet); None for a problem
        with the whole file.
    record : dict or None
        The parsed object; None when ``error`` is set.
    error : str or None
        Why the record is unusable, e.g. ``"invalid JSON: Expecting value (column 3)"``.
    raw : str or None
        The record's text in the file, for the rejected-rows report (None for Parquet).
    end_byte : int
        How far into the file reading has got; drives the progress bar.
    fatal : bool
        The rest of the file cannot be read (a broken JSON array, a bad CSV header).
    """

    line: int | None
    record: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None
    end_byte: int = 0
    fatal: bool = False


Reader = Callable[[Path], Iterator[RawRow]]


@dataclass(frozen=True)
class FileFormat:
    name: str
    extensions: tuple[str, ...]
    read: Reader


FORMATS: dict[str, FileFormat] = {}


def register_reader(name: str, *extensions: str) -> Callable[[Reader], Reader]:
    """Register ``read(path) -> Iterator[RawRow]`` for files ending in ``extensions``."""

    def decorate(read: Reader) -> Reader:
        FORMATS[name] = FileFormat(name, extensions, read)
        return read

    return decorate


def format_for(path: Path) -> FileFormat:
    """The format registered for ``path``'s extension (case-insensitive)."""
    suffix = path.suffix.lower()
    for file_format in FORMATS.values():
        if suffix in file_format.extensions:
            return file_format
    known = ", ".join(sorted(ext for f in FORMATS.values() for ext in f.extensions))
    raise ImportUsageError(f"{path}: unsupported file type {suffix or '(none)'!r} (supported: {known})")
