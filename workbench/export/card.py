"""The dataset card (``README.md``): counts and provenance, deterministic (no timestamps)."""

from __future__ import annotations

from typing import Any

from workbench.export.formats import FORMATS
from workbench.export.plan import ExportPlan


def _cell(value: Any) -> str:
    # A "|" inside a value would end the table cell.
    return "" if value is None else str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def dataset_card(plan: ExportPlan, files: dict[str, int], mixture_rows: list[dict[str, Any]]) -> str:
    """Markdown for ``README.md``; front matter tells the Hugging Face hub which file is which split."""
    fmt = FORMATS[plan.settings.format]
    loader = "json" if fmt.extension == "jsonl" else fmt.extension
    front = ["---", "configs:", "- config_name: default", "  data_files:"]
    front += [f"  - split: {name.rsplit('.', 1)[0]}\n    path: {name}" for name in files]
    front.append("---")
    settings = plan.settings
    scorer_round = plan.round_number if plan.round_number is not None else "none"
    lines = [
        *front,
        "",
        f"# {plan.project_name}: SFT export",
        "",
        f"Exported by the annotation workbench as {fmt.description}. Load it with "
        f'`datasets.load_dataset("{loader}", data_files={{...}})`.',
        "",
        "## Files",
        "",
        *_table(["file", "records"], [[name, n] for name, n in files.items()]),
        "",
        "## Provenance",
        "",
        "- labels: the lead's review decision, else the annotators' agreed label"
        + ("" if settings.human_labels_only else ", else the label the item was imported with")
        + (
            f"; unlabeled items the scorer predicts above {settings.pseudo_label_threshold} as pseudo-labels"
            if settings.pseudo_label_threshold is not None
            else ""
        ),
        "- each record's `label_source` says which (`lead`, `agreed`, `imported`, `pseudo`); "
        "`source` is where the item came from",
        "- items dropped in review are left out; text edits are applied; one item per near-duplicate group",
        f"- scorer round used for quality and confidence: {scorer_round}",
        f"- seed {settings.seed}; validation fraction {settings.val_fraction}, stratified by label",
        "",
        "## Mixture (train split)",
        "",
        *_table(
            ["field", "value", "before", "after", "target share", "achieved share", "repeats", "drops"],
            [
                [
                    r["field"],
                    r["value"],
                    r["before"],
                    r["after"],
                    r["target_weight"],
                    r["achieved_weight"],
                    r["repeats"],
                    r["drops"],
                ]
                for r in mixture_rows
            ],
        ),
        "",
        "Left out: " + ", ".join(f"{reason} {n}" for reason, n in _left_out_counts(plan).items()) + ".",
        "",
    ]
    if settings.format == "csv":
        lines += [
            "Text cells starting with `=`, `+`, `-`, `@`, tab or carriage return are prefixed with `'` "
            "so spreadsheet programs do not run them as formulas.",
            "",
        ]
    return "\n".join(lines)


def _left_out_counts(plan: ExportPlan) -> dict[str, int]:
    counts = dict(plan.excluded)
    counts.update((reason, len(ids)) for reason, ids in plan.left_out.items())
    return counts
