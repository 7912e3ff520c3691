"""What an import did: counts, the first errors and duplicates, and the rejected-rows file."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from workbench.ingest.errors import RowError

#: Errors and duplicates kept in memory for display; the counts cover them all.
MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A record whose normalized text is already stored: ``line`` duplicates an item.

    ``of_line`` is set when that item came from earlier in the same file (``of_item`` is None
    while it is not yet inserted); ``label_conflict`` says how the imported labels differ.
    """

    file: str
    line: int
    of_item: int | None
    of_source: str
    of_line: int | None
    label_conflict: str | None = None

    def __str__(self) -> str:
        target = (
            f"line {self.of_line}" if self.of_line is not None else f"item {self.of_item} ({self.of_source})"
        )
        note = f" ({self.label_conflict})" if self.label_conflict else ""
        return f"{self.file}:{self.line}: duplicate of {target}{note}"


@dataclass
class ImportReport:
    """The outcome of one ``import_file`` call.

    ``n_rows`` counts records read (valid or not); ``n_rejected`` rows with errors (all of them,
    though ``errors`` lists at most ``MAX_LISTED``); ``n_duplicates`` records stored once already.
    """

    file: str
    project: str
    file_format: str
    shape: str | None = None
    n_rows: int = 0
    n_imported: int = 0
    n_duplicates: int = 0
    n_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    import_id: int | None = None
    project_created: bool = False
    labels_added: list[str] = field(default_factory=list)
    report_path: Path | None = None

    def add_error(self, error: RowError) -> None:
        self.n_rejected += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(error)

    def add_duplicate(self, duplicate: Duplicate) -> None:
        self.n_duplicates += 1
        if len(self.duplicates) < MAX_LISTED:
            self.duplicates.append(duplicate)

    def summary(self) -> str:
        return (
            f"{self.file}: {self.n_imported} imported, {self.n_duplicates} duplicates, "
            f"{self.n_rejected} rejected ({self.n_rows} rows read)"
        )


class ImportFailed(Exception):
    """A file with errors (and no ``skip_invalid``): nothing was imported. ``report`` lists why."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        noun = "row has an error" if report.n_rejected == 1 else "rows have errors"
        super().__init__(f"{report.file}: {report.n_rejected} {noun}; nothing was imported")


class RejectedRows:
    """The rejected-rows report (``file, line, reason, raw``): CSV for a ``.csv`` path, else JSONL.

    Rows are written as they are found, so the report holds every error however many there are.
    The file is created on the first row, or on ``close`` when ``always`` is set.
    """

    COLUMNS = ("file", "line", "reason", "raw")

    def __init__(self, path: Path, *, always: bool) -> None:
        self.path = path
        self._always = always
        self._file: IO[str] | None = None
        self._csv: Any = None

    @property
    def written(self) -> bool:
        return self._file is not None

    def add(self, error: RowError, raw: str | None) -> None:
        if self._file is None:
            self._open()
        values = (error.file, error.line, error.reason, raw)
        if self._csv is not None:
            self._csv.writerow(values)
        else:
            self._file.write(
                json.dumps(dict(zip(self.COLUMNS, values, strict=True)), ensure_ascii=False) + "\n"
            )

    def close(self) -> None:
        if self._file is None and self._always:
            self._open()
        if self._file is not None:
            self._file.close()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8", newline="")
        if self.path.suffix.lower() == ".csv":
            self._csv = csv.writer(self._file)
            self._csv.writerow(self.COLUMNS)
