"""``export``: write the labeled, cleaned set for SFT with an optional mixture, weights and split."""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.app import app, database, fail
from workbench.export import (
    FORMATS,
    WEIGHT_SCHEMES,
    ExportSettings,
    ExportSettingsError,
    MixtureError,
    parse_mixture,
    plan_export,
    preview,
    write_export,
)
from workbench.store import audit
from workbench.store.migrate import upgrade
from workbench.store.projects import get_project


@app.command("export")
def export(
    project: str = typer.Option(..., "--project", help="Project name."),
    format_: str = typer.Option(..., "--format", help=f"One of: {', '.join(FORMATS)}."),
    seed: int = typer.Option(..., "--seed", help="Seed of every random choice (same seed, same files)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the files into (created if missing)."),
    mixture: list[str] = typer.Option(
        [],
        "--mixture",
        help="FIELD=V1:W1,V2:W2,... with FIELD label, source or a metadata field; repeat it to mix "
        "several fields at once (e.g. the label and language).",
    ),
    size: int | None = typer.Option(None, "--size", help="Total train records (default: as many as items)."),
    weights: str | None = typer.Option(
        None, "--weights", help=f"Per-record loss weights instead of repeats: {', '.join(WEIGHT_SCHEMES)}."
    ),
    val_fraction: float = typer.Option(
        0.0, "--val-fraction", help="Share of each label held out for validation."
    ),
    human_labels_only: bool = typer.Option(
        False, "--human-labels-only", help="Leave out imported-only labels."
    ),
    pseudo_label: float | None = typer.Option(
        None, "--pseudo-label", help="Add unlabeled items the scorer predicts above this probability."
    ),
    max_repeats: int = typer.Option(
        3, "--max-repeats", help="Extra copies allowed per item when up-sampling."
    ),
    downsample: str = typer.Option(
        "random", "--downsample", help="random, or quality (lowest quality dropped first)."
    ),
    curriculum: bool = typer.Option(False, "--curriculum", help="Order train records easy to hard."),
) -> None:
    """Export the project's labeled items (dropped out, edits in, one per near-duplicate group)."""
    db = database()
    upgrade(db)
    try:
        settings = ExportSettings(
            format=format_,
            mixture=tuple(parse_mixture(spec) for spec in mixture),
            size=size,
            weights=weights,
            val_fraction=val_fraction,
            seed=seed,
            human_labels_only=human_labels_only,
            pseudo_label_threshold=pseudo_label,
            max_repeats=max_repeats,
            downsample=downsample,
            curriculum=curriculum,
        )
        with db.read() as session:
            found = get_project(session, project)
            if found is None:
                raise fail(f"no project named {project!r}")
            plan = plan_export(session, found.id, settings)
    except (MixtureError, ExportSettingsError) as exc:
        raise fail(str(exc)) from None
    manifest = write_export(plan, out)
    with db.write() as session:
        audit.record(
            session,
            actor="cli",
            action="export",
            entity="project",
            entity_id=plan.project_id,
            project_id=plan.project_id,
            after={"out": str(out), "files": manifest["files"], "settings": manifest["settings"]},
        )
    for row in preview(plan):
        typer.echo(
            f"{row['field']}={row['value']:<24} before {row['before']:>7}  after {row['after']:>7}  "
            f"repeats {row['repeats']:>6}  drops {row['drops']:>6}"
        )
    for name, info in manifest["files"].items():
        if "records" in info:
            typer.echo(f"wrote {out / name}: {info['records']} records")
