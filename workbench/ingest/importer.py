"""``import_file``: read a file, shape its records and store them, all in one transaction.

Records are streamed: at most one batch of rows is held in memory, and each batch is checked
against the stored content hashes with one query (the transaction sees its own earlier batches,
so duplicates within the file are found the same way). A file with errors is still read to the
end, so the report names every bad row, and then the transaction is rolled back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from workbench.config import Settings
from workbench.ingest.errors import RowError, RowProblem
from workbench.ingest.fields import json_safe, read_external_id, read_label, read_meta
from workbench.ingest.options import FieldOptions, resolve_options
from workbench.ingest.readers import RawRow, format_for
from workbench.ingest.report import Duplicate, ImportFailed, ImportReport, RejectedRows
from workbench.ingest.shapes import Shape, detect_shape
from workbench.store import audit
from workbench.store.engine import Database
from workbench.store.projects import add_labels, create_project, get_project, make_label_schema
from workbench.store.schema import ImportBatch, Item, Project
from workbench.store.users import get_user
from workbench.text import content_hash

#: Rows per INSERT (one executemany) and per duplicate-check query.
BATCH_ROWS = 1000
#: A new project learns its label schema from the file; more distinct values than this means the
#: label field is probably not a label at all.
MAX_LEARNED_LABELS = 200

#: ``progress(bytes_read, rows_read)``, called every batch of rows.
Progress = Callable[[int, int], None]


def import_file(
    db: Database,
    path: str | Path,
    project_name: str,
    *,
    labels: Sequence[str] | None = None,
    shape: str | None = None,
    field_map: dict[str, str] | None = None,
    text_field: str | None = None,
    label_field: str | None = None,
    skip_invalid: bool = False,
    report_path: str | Path | None = None,
    actor: str = "cli",
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file into a project (created if missing), all or nothing.

    Parameters
    ----------
    path : path to a ``.jsonl``, ``.json`` (array), ``.csv`` or ``.parquet`` file.
    labels : label names to add to the project's schema; with a schema, unknown labels are errors.
        A project without labels learns them from the file (sorted).
    shape : ``alpaca``, ``sharegpt``, ``messages`` or ``text``; detected from the first record if None.
    field_map : shape field -> record key, e.g. ``{"instruction": "question"}``; also ``id``, ``label``.
    text_field : the record key holding the text (implies the text shape).
    label_field : the key of the imported label (default ``label``; if named, it must occur).
    skip_invalid : import the valid rows and report the rest, instead of importing nothing.
    report_path : where to write rejected rows (``.csv`` or JSONL); default with ``skip_invalid``:
        ``<file name>.rejected.jsonl`` in the current directory, written only if rows were rejected.
    actor : who imports, for the audit log (a username links the batch to that user).

    Raises
    ------
    ImportFailed
        The file has errors (and not ``skip_invalid``), or cannot be read at all; nothing is stored.
    ImportUsageError
        Options that cannot work (unknown shape or file type, bad mapping).
    FileNotFoundError
    """
    path = Path(path)
    file_format = format_for(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    options = resolve_options(shape, field_map, text_field, label_field)
    report = ImportReport(file=str(path), project=project_name, file_format=file_format.name)
    rejected = _rejected_rows(path, report_path, skip_invalid)
    try:
        with db.write() as session:
            run = _ImportRun(
                session, path, project_name, labels, options, report, rejected, skip_invalid, actor
            )
            run.read(file_format.read(path), progress)
            run.finish(file_format.name, _sha256(path))
            if run.failed:
                raise ImportFailed(report)
    finally:
        if rejected is not None:
            rejected.close()
            report.report_path = rejected.path if rejected.written else None
    return report


def _rejected_rows(path: Path, report_path: str | Path | None, skip_invalid: bool) -> RejectedRows | None:
    if report_path is not None:
        return RejectedRows(Path(report_path), always=True)
    if skip_invalid:
        return RejectedRows(Path.cwd() / f"{path.name}.rejected.jsonl", always=False)
    return None


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


class _ImportRun:
    """The state of one import inside its transaction."""

    def __init__(
        self,
        session: Session,
        path: Path,
        project_name: str,
        labels: Sequence[str] | None,
        options: FieldOptions,
        report: ImportReport,
        rejected: RejectedRows | None,
        skip_invalid: bool,
        actor: str,
    ) -> None:
        self.session = session
        self.path = path
        self.options = options
        self.report = report
        self.rejected = rejected
        self.skip_invalid = skip_invalid
        self.actor = actor
        self.user = get_user(session, actor)
        self.given_labels = list(labels or [])
        new_schema = make_label_schema(self.given_labels)  # also refuses empty or repeated names up front
        self.project = self._project(project_name, new_schema)
        # With a schema, labels are checked against it; without one they are learned.
        schema = self.project.label_names + [
            name for name in self.given_labels if name not in self.project.label_names
        ]
        self.schema: list[str] | None = schema or None
        self.seen_labels: set[str] = set()
        self.label_field_found = False
        self.used_keys: frozenset[str] = frozenset()
        self.pending: list[dict[str, Any]] = []
        self.fatal = False
        self.batch = ImportBatch(
            project_id=self.project.id,
            source_file=str(path),
            file_sha256="",
            file_format=report.file_format,
            shape=options.shape.name if options.shape else "",
            user_id=self.user.id if self.user else None,
        )
        session.add(self.batch)
        session.flush()
        report.import_id = self.batch.id
        if options.shape is not None:
            self._use_shape(options.shape)

    @property
    def failed(self) -> bool:
        return self.fatal or (self.report.n_rejected > 0 and not self.skip_invalid)

    def _project(self, name: str, labels: list[dict[str, Any]]) -> Project:
        project = get_project(self.session, name)
        if project is not None:
            return project
        self.report.project_created = True
        return create_project(
            self.session,
            name,
            labels=labels,
            embedding_model=Settings.from_env().embedding_model,
            actor=self.actor,
        )

    # --- reading ---------------------------------------------------------------------------

    def read(self, rows: Iterable[RawRow], progress: Progress | None) -> None:
        for row in rows:
            self._add(row)
            if len(self.pending) >= BATCH_ROWS:
                self._flush()
            if progress is not None and self.report.n_rows % BATCH_ROWS == 0:
                progress(row.end_byte, self.report.n_rows)
            if self.fatal:
                break
        self._flush()
        if progress is not None:
            progress(self.path.stat().st_size, self.report.n_rows)

    def _add(self, row: RawRow) -> None:
        if row.fatal:
            self.fatal = True
        else:
            self.report.n_rows += 1
        if row.error is not None:
            self._reject(row.line, row.error, row.raw)
            return
        assert row.record is not None
        try:
            item = self._item(row.line, row.record)
        except RowProblem as exc:
            self._reject(row.line, str(exc), row.raw if row.raw is not None else _as_json(row.record))
            return
        if not self.failed:
            self.pending.append(item)

    def _reject(self, line: int | None, reason: str, raw: str | None) -> None:
        error = RowError(self.report.file, line, reason)
        self.report.add_error(error)
        if self.rejected is not None:
            self.rejected.add(error, raw)
        if self.failed:
            self.pending.clear()  # nothing will be stored; keep reading only to report every error

    def _item(self, line: int | None, record: dict[str, Any]) -> dict[str, Any]:
        """The items-table row for ``record``; raises RowProblem naming what is wrong."""
        if self.options.shape is None:
            self._detect_shape(record)
        options = self.options
        assert options.shape is not None
        shaped = options.shape(record, options.fields)
        label = read_label(record, options.label_field)
        self.label_field_found = self.label_field_found or options.label_field in record
        external_id = read_external_id(record, options.id_field)
        for what, value in (("text", shaped.text), ("label", label), ("id", external_id)):
            if value is not None and "\x00" in value:
                raise RowProblem(f"NUL character in the {what} (the database cannot store it)")
        if label is not None:
            self._check_label(label)
        return {
            "project_id": self.project.id,
            "import_id": self.batch.id,
            "external_id": external_id,
            "shape": options.shape.name,
            "sample": json_safe(shaped.sample),
            "text": shaped.text,
            "content_hash": content_hash(shaped.text),
            "source_file": self.path.name,
            "source_line": line,
            "meta": read_meta(record, self.used_keys),
            "imported_label": label,
            "status": "active",
        }

    def _detect_shape(self, record: dict[str, Any]) -> None:
        shape = detect_shape(record, self.options.fields)
        if shape is None:
            self.fatal = True
            found = ", ".join(map(repr, record)) or "none"
            raise RowProblem(
                f"cannot tell the shape from the fields ({found}); expected 'messages', 'conversations', "
                f"'instruction' and 'output', or 'text' (or name them with --shape, --text-field, --map)"
            )
        self.options.set_shape(shape)
        self._use_shape(shape)

    def _use_shape(self, shape: Shape) -> None:
        self.batch.shape = self.report.shape = shape.name
        self.used_keys = self.options.used_keys()

    def _check_label(self, label: str) -> None:
        if self.schema is not None:
            if label not in self.schema:
                raise RowProblem(f"unknown label {label!r} (labels: {', '.join(self.schema)})")
            return
        self.seen_labels.add(label)
        if len(self.seen_labels) > MAX_LEARNED_LABELS:
            self.fatal = True
            raise RowProblem(
                f"more than {MAX_LEARNED_LABELS} distinct values in {self.options.label_field!r}; "
                "is it a label? (name the labels with --labels, or another field with --label-field)"
            )

    # --- writing ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Store the pending rows, except those whose text is stored already (reported as duplicates)."""
        rows, self.pending = self.pending, []
        if not rows or self.failed:
            return
        stored = self._stored({row["content_hash"] for row in rows})
        fresh: dict[str, dict[str, Any]] = {}
        for row in rows:
            original = stored.get(row["content_hash"]) or fresh.get(row["content_hash"])
            if original is None:
                fresh[row["content_hash"]] = row
            else:
                self.report.add_duplicate(self._duplicate(row, original))
        if fresh:
            self.session.execute(insert(Item), list(fresh.values()))
            self.report.n_imported += len(fresh)

    def _stored(self, hashes: set[str]) -> dict[str, dict[str, Any]]:
        query = select(
            Item.id,
            Item.import_id,
            Item.source_file,
            Item.source_line,
            Item.imported_label,
            Item.content_hash,
        ).where(Item.project_id == self.project.id, Item.content_hash.in_(hashes))
        return {row.content_hash: row._asdict() for row in self.session.execute(query)}

    def _duplicate(self, row: dict[str, Any], original: dict[str, Any]) -> Duplicate:
        same_file = original["import_id"] == self.batch.id
        conflict = None
        if row["imported_label"] != original["imported_label"]:
            conflict = (
                f"label {_shown(row['imported_label'])} differs from {_shown(original['imported_label'])}"
            )
        return Duplicate(
            file=self.report.file,
            line=row["source_line"],
            of_item=original.get("id"),
            of_source=f"{original['source_file']}:{original['source_line']}",
            of_line=original["source_line"] if same_file else None,
            label_conflict=conflict,
        )

    def finish(self, file_format: str, sha256: str) -> None:
        """Check the file as a whole, then complete the schema, the batch record and the audit entry."""
        if self.report.n_rows == 0 and not self.fatal:
            self.fatal = True
            self._reject(None, "no rows to import", None)
        if self.options.label_field_required and not self.label_field_found and not self.fatal:
            self.fatal = True
            self._reject(None, f"label field {self.options.label_field!r} is in no row", None)
        if self.failed:
            return
        self._update_labels()
        report = self.report
        self.batch.file_sha256 = sha256
        self.batch.field_mapping = self.options.mapping()
        self.batch.n_rows, self.batch.n_imported = report.n_rows, report.n_imported
        self.batch.n_duplicates, self.batch.n_rejected = report.n_duplicates, report.n_rejected
        audit.record(
            self.session,
            actor=self.actor,
            action="import",
            entity="import",
            entity_id=self.batch.id,
            project_id=self.project.id,
            user_id=self.user.id if self.user else None,
            after={
                "file": report.file,
                "sha256": sha256,
                "format": file_format,
                "shape": report.shape,
                "rows": report.n_rows,
                "imported": report.n_imported,
                "duplicates": report.n_duplicates,
                "rejected": report.n_rejected,
            },
        )

    def _update_labels(self) -> None:
        before = set(self.project.label_names)
        new = self.given_labels if self.schema is not None else sorted(self.seen_labels)
        add_labels(self.session, self.project, new, actor=self.actor)
        self.report.labels_added = [name for name in self.project.label_names if name not in before]


def _shown(label: str | None) -> str:
    return "none" if label is None else repr(label)


def _as_json(record: dict[str, Any]) -> str:
    return json.dumps(json_safe(record), ensure_ascii=False)
