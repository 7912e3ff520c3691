"""Embedding throughput of the workbench against a plain ``SentenceTransformer.encode``.

The workbench path (``workbench.embed.embed_texts``: normalize, hash, look up the cache, encode
what is missing, store it) must reach at least 0.9x the texts/s of one plain ``encode`` call on
the same texts with the same batch size. After one untimed warm-up encode, each dataset is timed
in the order plain, workbench, workbench, plain (per round) so that load from other processes
falls on both sides alike; every workbench run starts from a fresh SQLite file (cold cache) and
is followed by a warm call. The time spent outside encoding is printed too: unlike the ratio, it
hardly depends on what else the machine is doing.

Usage::

    python benchmarks/embedding_throughput.py [--alpaca 2000] [--banking 5000] [--rounds 1] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workbench.config import BUNDLED_MODEL, REPO_ROOT
from workbench.embed import Embedder, embed_texts
from workbench.store.engine import Database
from workbench.store.migrate import upgrade

DATA = REPO_ROOT.parent / "shared" / "data"


def alpaca_texts(n: int) -> list[str]:
    """Instruction, input and output of the first ``n`` Alpaca rows (long texts, often truncated)."""
    texts = []
    with open(DATA / "alpaca" / "alpaca_data.jsonl", encoding="utf-8") as lines:
        for line, _ in zip(lines, range(n)):
            row = json.loads(line)
            parts = (row["instruction"], row["input"], row["output"])
            texts.append("\n\n".join(part for part in parts if part))
    return texts


def banking_texts(n: int) -> list[str]:
    """The first ``n`` Banking77 customer messages (short texts)."""
    with open(DATA / "banking77" / "banking77.jsonl", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line, _ in zip(lines, range(n))]


class TimedEmbedder:
    """An Embedder that adds up the seconds spent inside ``encode`` (the rest is cache overhead)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.dim = embedder.dim
        self.seconds = 0.0

    def encode(self, texts, progress=None):
        started = time.perf_counter()
        vectors = self.embedder.encode(texts, progress)
        self.seconds += time.perf_counter() - started
        return vectors


@dataclass
class Run:
    """Wall-clock and CPU seconds of one timed call (CPU time is less sensitive to other load)."""

    wall: float
    cpu: float


@contextmanager
def timed(runs: list[Run]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    runs.append(Run(time.perf_counter() - wall, time.process_time() - cpu))


def run_plain(embedder: Embedder, texts: list[str], runs: list[Run]) -> None:
    with timed(runs):
        embedder.model.encode(texts, batch_size=embedder.batch_size, show_progress_bar=False)


def run_workbench(
    embedder: Embedder, texts: list[str], cold: list[Run], warm: list[Run], overhead: list[float]
) -> None:
    """A cold ``embed_texts`` call on a fresh database, then a second (warm) one."""
    encoder = TimedEmbedder(embedder)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        upgrade(db)
        with timed(cold):
            embed_texts(db, texts, model=BUNDLED_MODEL, embedder=encoder)
        overhead.append(cold[-1].wall - encoder.seconds)
        with timed(warm):
            embed_texts(db, texts, model=BUNDLED_MODEL, embedder=encoder)
        db.dispose()


def _rates(n: int, runs: list[Run]) -> str:
    return ", ".join(f"{n / run.wall:6.1f}" for run in runs)


def _ratio(plain: list[Run], cold: list[Run], clock: str) -> float:
    """Throughput of the workbench over plain: the ratio of the mean ``clock`` ("wall" or "cpu") times."""
    return statistics.mean(getattr(run, clock) for run in plain) / statistics.mean(
        getattr(run, clock) for run in cold
    )


def compare(name: str, texts: list[str], embedder: Embedder, rounds: int) -> float:
    """Print per-run figures and the throughput ratios for one dataset; return the wall-clock ratio."""
    # The first encode of each padded length pays one-off kernel set-up: keep it out of both sides.
    run_plain(embedder, texts, [])
    plain: list[Run] = []
    cold: list[Run] = []
    warm: list[Run] = []
    overhead: list[float] = []
    for _ in range(rounds):
        run_plain(embedder, texts, plain)
        for _ in range(2):
            run_workbench(embedder, texts, cold, warm, overhead)
        run_plain(embedder, texts, plain)
    n = len(texts)
    print(f"\n{name}: {n} texts, {statistics.mean(len(t) for t in texts):.0f} characters on average")
    print(f"  plain encode      {_rates(n, plain)} texts/s")
    print(f"  workbench (cold)  {_rates(n, cold)} texts/s")
    outside = ", ".join(f"{s:.3f}" for s in overhead)
    print(f"    of which outside encoding (hash, look-up, store): {outside} s")
    print(f"  workbench (warm)  {', '.join(f'{r.wall:.3f}' for r in warm)} s for all {n} texts (all cached)")
    wall, cpu = _ratio(plain, cold, "wall"), _ratio(plain, cold, "cpu")
    print(f"  ratio workbench / plain throughput: {wall:.3f} wall-clock, {cpu:.3f} CPU time")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpaca", type=int, default=2000, help="Alpaca rows (long texts)")
    parser.add_argument("--banking", type=int, default=5000, help="Banking77 messages (short texts)")
    parser.add_argument("--rounds", type=int, default=1, help="plain/workbench/workbench/plain rounds")
    parser.add_argument(
        "--threads", type=int, help="torch threads; 1 makes CPU time a steady measure on a busy machine"
    )
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    embedder = Embedder(BUNDLED_MODEL).load()
    print(f"model {BUNDLED_MODEL}, batch size {embedder.batch_size}, torch threads {torch.get_num_threads()}")
    ratios = [
        compare("banking77", banking_texts(args.banking), embedder, args.rounds),
        compare("alpaca", alpaca_texts(args.alpaca), embedder, args.rounds),
    ]
    print(f"\nlowest wall-clock ratio {min(ratios):.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
