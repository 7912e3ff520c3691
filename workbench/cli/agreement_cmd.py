"""``agreement --project P [--json]``: the annotators' figures and their agreement.

Prints the per-annotator table (labels, throughput per active hour, time per item, skips, flags,
agreement with the reference label, the lead's overturns), each annotator's most frequent
differences from the reference, Cohen's kappa for every pair of annotators with the items they
share, and the project's Fleiss' kappa and Krippendorff's alpha with a 95% bootstrap interval.
``--json`` prints the same figures as one JSON object. The definitions are in
``workbench.insight.annotators``.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from workbench.cli.app import app, database, fail
from workbench.insight.agreement import LANDIS_KOCH_LEGEND, Score, landis_koch
from workbench.insight.annotators import N_BOOT, AnnotatorReport, annotator_report, table_rows, top_confusions
from workbench.store.migrate import upgrade
from workbench.store.projects import get_project

NO_OVERLAP = (
    "no overlap yet: no item has two annotations. Set the project's overlap to 2 (the Annotators "
    "page has a button) so that items are labeled twice, then agreement can be measured."
)


#: How the table's float columns print (others: integers with thousands separators).
FORMATS = {
    "per active hour": "{:.0f}",
    "active h": "{:.1f}",
    "median s": "{:.0f}",
    "p90 s": "{:.0f}",
    "agreement": "{:.0%}",
    "overturn rate": "{:.0%}",
}


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in FORMATS:
        return FORMATS[column].format(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_score(name: str, score: Score) -> str:
    """``name 0.721 [0.712, 0.730] (substantial) over 1,234 items``, or why it is undefined."""
    if score.value is None:
        return f"{name}: undefined ({score.undefined}) over {score.n_items:,} items"
    interval = f" [{score.low:.3f}, {score.high:.3f}]" if score.low is not None else ""
    return f"{name} {score.value:.3f}{interval} ({landis_koch(score.value)}) over {score.n_items:,} items"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """Aligned columns: the first (the names) to the left, the figures to the right."""
    columns = list(rows[0])
    cells = [[_cell(column, row[column]) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]

    def line(values: list[str]) -> str:
        name, *figures = values
        aligned = [value.rjust(width) for value, width in zip(figures, widths[1:], strict=True)]
        return "  ".join([name.ljust(widths[0]), *aligned])

    return [line(columns), *(line(values) for values in cells)]


def report_lines(report: AnnotatorReport, project: str) -> list[str]:
    """The text report."""
    if not report.annotators:
        return [f"project {project!r}: nobody has labeled, skipped or flagged an item yet"]
    lines = [
        f"project {project!r}: overlap {report.overlap}, {report.overlapped_items:,} overlapped items",
        "",
    ]
    lines += _table(table_rows(report))
    lines.append("")
    if report.overlapped_items == 0:
        return [*lines, NO_OVERLAP]
    confusions = [
        f"  {stats.username}: " + ", ".join(f"{c.given} for {c.reference} ({c.n})" for c in top)
        for stats in report.annotators
        if (top := top_confusions(report, stats.username, k=3))
    ]
    if confusions:
        lines += ["Most frequent differences from the reference (gave X for reference Y):", *confusions, ""]
    lines.append("Cohen's kappa per pair (n = items both labeled):")
    for pair in report.pairs:
        kappa = pair.kappa
        value = kappa.undefined
        if kappa.value is not None:
            value = f"{kappa.value:.3f} ({landis_koch(kappa.value)})"
        same = f", same label on {pair.observed:.0%}" if pair.observed is not None else ""
        lines.append(f"  {pair.user_a} / {pair.user_b}: {value}{same}, n={kappa.n_items:,}")
    lines.append("")
    lines.append(format_score("Fleiss' kappa", report.fleiss))
    lines.append(format_score("Krippendorff's alpha (nominal)", report.alpha))
    lines.append(LANDIS_KOCH_LEGEND)
    return lines


@app.command("agreement")
def agreement_command(
    project: str = typer.Option(..., "--project", help="Project name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    n_boot: int = typer.Option(
        N_BOOT, "--boot", min=0, help="Bootstrap resamples for the intervals (0: no interval)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds the bootstrap, so the intervals repeat."),
) -> None:
    """Per-annotator figures, Cohen's kappa per pair, and the project's Fleiss' kappa and alpha."""
    db = database()
    upgrade(db)
    with db.read() as session:
        found = get_project(session, project)
        if found is None:
            raise fail(f"no project named {project!r}")
        report = annotator_report(session, found.id, n_boot=n_boot, seed=seed)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    for line in report_lines(report, project):
        typer.echo(line)
