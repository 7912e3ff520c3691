"""``find-noise DATA ...``: label issues and duplicates of a labeled file, written as flags.csv.

The interface is stable (benchmarks call it)::

    python -m workbench find-noise DATA --text-field text --label-field label --out flags.csv
        [--id-field id] [--model NAME] [--threshold 0.95] [--seed 0]

writes ``id,given_label,suggested_label,label_quality,flagged,detectors``, one line per row:
``detectors`` lists every detector that fired (``label_issue``, ``label_conflict``,
``exact_duplicate``, ``near_duplicate``), ``flagged`` is 1 when the label is suspect (one of the
first two fired).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from workbench.cli.app import EmbeddingProgress, app, database, fail
from workbench.config import Settings
from workbench.embed import ModelLoadError, embed_texts
from workbench.noise import NoiseSettings
from workbench.noise.file_report import file_report, read_row_ids, write_flags
from workbench.scorer import TooFewClassesError
from workbench.simulate import SimulationError, read_labeled_file
from workbench.store.migrate import upgrade


@app.command("find-noise")
def find_noise_command(
    data: Path = typer.Argument(
        ..., help="Labeled JSONL, JSON, CSV or Parquet file; its labels are taken as given."
    ),
    text_field: str = typer.Option("text", "--text-field", help="Field holding the text to embed."),
    label_field: str = typer.Option("label", "--label-field", help="Field holding the given label."),
    id_field: str = typer.Option(
        "id", "--id-field", help="Field naming each row (else its row number from 0)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="CSV to write: " + "id,given_label,suggested_label,label_quality,flagged,detectors.",
    ),
    model: str = typer.Option(
        None, "--model", help="Embedding model (default: WORKBENCH_MODEL, else the bundled MiniLM)."
    ),
    threshold: float = typer.Option(
        NoiseSettings.near_duplicate_threshold,
        "--threshold",
        min=0.01,
        max=1.0,
        help="Cosine similarity from which two rows are near-duplicates.",
    ),
    seed: int = typer.Option(0, "--seed", help="Fixes the folds of the out-of-fold probabilities."),
) -> None:
    """Flag likely label errors and (near-)duplicates of a labeled file."""
    db = database()
    upgrade(db)
    model = model or Settings.from_env().embedding_model
    try:
        rows = read_labeled_file(data, text_field=text_field, label_field=label_field)
        ids = read_row_ids(data, id_field)
        typer.echo(f"{len(rows.texts)} rows, {len(set(rows.labels))} labels")
        embeddings = embed_texts(db, rows.texts, model=model, progress=EmbeddingProgress())
        verdicts = file_report(
            ids,
            rows.texts,
            rows.labels.tolist(),
            embeddings,
            NoiseSettings(near_duplicate_threshold=threshold, seed=seed),
        )
    except (SimulationError, ModelLoadError, TooFewClassesError, ValueError) as exc:
        raise fail(str(exc)) from None
    write_flags(verdicts, out)
    counts = Counter(name for v in verdicts for name in v.detectors)
    summary = ", ".join(f"{name} {n}" for name, n in counts.most_common()) or "none"
    typer.echo(f"{sum(v.flagged for v in verdicts)} of {len(verdicts)} rows flagged ({summary}); wrote {out}")
