"""``simulate DATA ...``: active learning on a labeled file, writing the learning curve.

The interface is stable (benchmarks call it)::

    python -m workbench simulate DATA --text-field text --label-field label [--split-field split]
        --sampler NAME --initial N --batch N --rounds N --seed S --out curve.csv [--model NAME]
"""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.app import EmbeddingProgress, app, database, fail
from workbench.config import Settings
from workbench.embed import ModelLoadError, embed_texts
from workbench.samplers import DEFAULT_SAMPLER, UnknownSamplerError, sampler_names, sampler_spec
from workbench.simulate import CurvePoint, SimulationError, pool_and_test, read_labeled_file, simulate, write_curve
from workbench.store.migrate import upgrade


def _print_point(point: CurvePoint) -> None:
    typer.echo(
        f"round {point.round:>3}: {point.n_labeled:>6} labels, "
        f"accuracy {point.accuracy:.4f}, macro-F1 {point.macro_f1:.4f}"
    )


@app.command("simulate")
def simulate_command(
    data: Path = typer.Argument(..., help="Labeled JSONL, JSON, CSV or Parquet file; its labels act as the oracle."),
    text_field: str = typer.Option("text", "--text-field", help="Field holding the text to embed."),
    label_field: str = typer.Option("label", "--label-field", help="Field holding the gold label."),
    split_field: str = typer.Option(
        None,
        "--split-field",
        help="Field naming each row's split: pool = 'train' rows (else all non-'test' rows), "
        "test = 'test' rows (else a stratified 20% holdout fixed by the seed).",
    ),
    sampler: str = typer.Option(DEFAULT_SAMPLER, "--sampler", help=f"One of: {', '.join(sampler_names())}."),
    initial: int = typer.Option(20, "--initial", min=1, help="Labels drawn at random before round 1."),
    batch: int = typer.Option(20, "--batch", min=1, help="Labels the sampler selects per round."),
    rounds: int = typer.Option(10, "--rounds", min=0, help="Rounds after the initial draw."),
    seed: int = typer.Option(0, "--seed", help="Fixes the holdout, the initial draw and the sampler."),
    out: Path = typer.Option(..., "--out", help="CSV to write: round,n_labeled,accuracy,macro_f1."),
    model: str = typer.Option(
        None, "--model", help="Embedding model (default: WORKBENCH_MODEL, else the bundled MiniLM)."
    ),
) -> None:
    """Simulate active learning on a labeled file and write the test-set learning curve."""
    db = database()
    upgrade(db)
    model = model or Settings.from_env().embedding_model
    try:
        sampler_spec(sampler)  # an unknown name fails now, not after minutes of embedding
        rows = read_labeled_file(data, text_field=text_field, label_field=label_field, split_field=split_field)
        pool, test = pool_and_test(rows, seed)
        typer.echo(f"{len(rows.texts)} rows: pool {len(pool)}, test {len(test)}, {len(set(rows.labels))} labels")
        embeddings = embed_texts(db, rows.texts, model=model, progress=EmbeddingProgress())
        curve = simulate(
            embeddings,
            rows.labels,
            pool,
            test,
            sampler=sampler,
            initial=initial,
            batch=batch,
            rounds=rounds,
            seed=seed,
            on_round=_print_point,
        )
    except (SimulationError, UnknownSamplerError, ModelLoadError) as exc:
        raise fail(str(exc)) from None
    write_curve(curve, out)
    typer.echo(f"wrote {out}")
