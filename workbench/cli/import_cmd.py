"""``import FILE --project NAME``: load SFT data into a project (created if missing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer
from tqdm import tqdm

from workbench.cli.app import app, database, fail
from workbench.ingest import FORMATS, SHAPES, ImportFailed, ImportReport, ImportUsageError, import_file
from workbench.store.migrate import upgrade
from workbench.store.projects import parse_label_list

#: Errors and duplicates printed; the rest are counted (and all are in the --report file).
SHOWN = 20

_EXTENSIONS = ", ".join(sorted(ext for f in FORMATS.values() for ext in f.extensions))


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help=f"The data file ({_EXTENSIONS}; .json is an array of objects)."),
    project: str = typer.Option(..., "--project", help="Project to import into; created if missing."),
    labels: str | None = typer.Option(
        None, "--labels", help="Label schema, comma-separated (a,b,c); added to an existing project's labels."
    ),
    text_field: str | None = typer.Option(
        None, "--text-field", help="Field holding the text (plain text shape)."
    ),
    label_field: str | None = typer.Option(
        None, "--label-field", help="Field with a weak or vendor label (default: label, where present)."
    ),
    shape: str | None = typer.Option(
        None, "--shape", help=f"One of: {', '.join(SHAPES)} (default: detected)."
    ),
    mappings: list[str] | None = typer.Option(
        None,
        "--map",
        help="TARGET=SOURCE: read shape field TARGET from SOURCE (e.g. output=answer); repeatable.",
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows and write the rejected ones to a report."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Rejected-rows report, .csv or .jsonl (default: FILE.rejected.jsonl here)."
    ),
) -> None:
    """Import a JSONL, JSON, CSV or Parquet file of SFT samples (Alpaca, ShareGPT, messages or text).

    A file with any bad row imports nothing unless --skip-invalid is given.
    Exact duplicates are stored once and reported.
    """
    try:
        field_map = _parse_mappings(mappings or [])
        db = database()
        upgrade(db)
        with _progress_bar(file) as progress:
            result = import_file(
                db,
                file,
                project,
                labels=parse_label_list(labels) if labels is not None else None,
                shape=shape,
                field_map=field_map,
                text_field=text_field,
                label_field=label_field,
                skip_invalid=skip_invalid,
                report_path=report,
                progress=progress,
            )
    except ImportFailed as exc:
        _print_problems(exc.report)
        hint = "" if skip_invalid else " (--skip-invalid imports the valid rows)"
        raise fail(f"{exc}{hint}") from None
    except (FileNotFoundError, ValueError) as exc:
        # ValueError: bad options (ImportUsageError), a bad --labels list, an empty project name.
        raise fail(str(exc)) from None
    _print_problems(result)
    _print_summary(result)


def _parse_mappings(mappings: Sequence[str]) -> dict[str, str]:
    field_map = {}
    for mapping in mappings:
        target, sep, source = mapping.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ImportUsageError(f"--map {mapping!r}: expected TARGET=SOURCE, e.g. instruction=question")
        field_map[target.strip()] = source.strip()
    return field_map


@contextmanager
def _progress_bar(file: Path) -> Iterator[Callable[[int, int], None]]:
    """A byte-based bar on stderr (shown on a terminal only), with the rows read so far."""
    total = file.stat().st_size if file.is_file() else None
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=file.name, disable=None) as bar:

        def update(bytes_read: int, rows_read: int) -> None:
            bar.update(bytes_read - bar.n)
            bar.set_postfix(rows=rows_read, refresh=False)

        yield update


def _print_problems(result: ImportReport) -> None:
    _print_list(result.errors, result.n_rejected, "errors")
    _print_list(result.duplicates, result.n_duplicates, "duplicates")


def _print_list(entries: Sequence[object], total: int, noun: str) -> None:
    for entry in entries[:SHOWN]:
        typer.echo(str(entry), err=True)
    if total > SHOWN:
        typer.echo(f"... and {total - SHOWN} more {noun} ({total} in all)", err=True)


def _print_summary(result: ImportReport) -> None:
    created = " (created)" if result.project_created else ""
    typer.echo(
        f"{result.file} -> project {result.project!r}{created}, import #{result.import_id}, "
        f"{result.file_format}, {result.shape} shape"
    )
    typer.echo(
        f"imported: {result.n_imported}, duplicates: {result.n_duplicates}, "
        f"rejected: {result.n_rejected} (of {result.n_rows} rows)"
    )
    if result.labels_added:
        typer.echo(f"labels added: {', '.join(result.labels_added)}")
    if result.report_path is not None:
        typer.echo(f"rejected rows: {result.report_path}")
