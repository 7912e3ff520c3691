"""Embedding throughput of the workbench against a plain ``SentenceTransformer.encode``.

The workbench path (``workbench.embed.embed_texts``: normalize, hash, look up the cache, encode
what is missing, store it) must reach at least 0.9x the texts/s of one plain ``encode`` call on
the same texts with the same batch size. After one untimed warm-up encode, each dataset is timed
in the order plain, workbench, workbench, plain (per round) so that load from other processes
falls on both sides alike; every workbench run starts from a fresh SQLite file (cold cache) and
is followed by a warm call. The time spent outside encoding is printed too: unlike the ratio, it
hardly depends on what else the machine is doing.

Usage::

    python benchmarks/embedding_throughput.py [--alpaca 2000] [--banking 5000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
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
            texts.append("\n\n".join(part for part in (row["instruction"], row["input"], row["output"]) if part))
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


def time_plain(embedder: Embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.model.encode(texts, batch_size=embedder.batch_size, show_progress_bar=False)
    return time.perf_counter() - started


def time_workbench(embedder: Embedder, texts: list[str]) -> tuple[float, float, float]:
    """Seconds of a cold ``embed_texts`` call on a fresh database, of the encoding within it,
    and of a second (warm) call."""
    timed = TimedEmbedder(embedder)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        upgrade(db)
        started = time.perf_counter()
        embed_texts(db, texts, model=BUNDLED_MODEL, embedder=timed)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        embed_texts(db, texts, model=BUNDLED_MODEL, embedder=timed)
        warm = time.perf_counter() - started
        db.dispose()
    return cold, timed.seconds, warm


def compare(name: str, texts: list[str], embedder: Embedder, rounds: int) -> float:
    """Print per-run figures and the throughput ratio for one dataset; return the ratio."""
    # The first encode of each padded length pays one-off kernel set-up: keep it out of both sides.
    time_plain(embedder, texts)
    plain: list[float] = []
    cold: list[float] = []
    overhead: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        plain.append(time_plain(embedder, texts))
        for _ in range(2):
            seconds_cold, seconds_encoding, seconds_warm = time_workbench(embedder, texts)
            cold.append(seconds_cold)
            overhead.append(seconds_cold - seconds_encoding)
            warm.append(seconds_warm)
        plain.append(time_plain(embedder, texts))
    n = len(texts)
    mean_chars = statistics.mean(len(text) for text in texts)
    ratio = statistics.mean(plain) / statistics.mean(cold)
    print(f"\n{name}: {n} texts, {mean_chars:.0f} characters on average")
    print(f"  plain encode      {', '.join(f'{n / s:7.1f}' for s in plain)} texts/s")
    print(f"  workbench (cold)  {', '.join(f'{n / s:7.1f}' for s in cold)} texts/s")
    print(f"  of which outside encoding (hash, cache look-up, store): "
          f"{', '.join(f'{s:.3f}' for s in overhead)} s")
    print(f"  workbench (warm)  {', '.join(f'{s:7.3f}' for s in warm)} s for all {n} texts (all cached)")
    print(f"  ratio workbench / plain (mean times): {ratio:.3f}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpaca", type=int, default=2000, help="Alpaca rows (long texts)")
    parser.add_argument("--banking", type=int, default=5000, help="Banking77 messages (short texts)")
    parser.add_argument("--rounds", type=int, default=1, help="plain/workbench/workbench/plain rounds")
    args = parser.parse_args()

    import torch

    embedder = Embedder(BUNDLED_MODEL).load()
    print(f"model {BUNDLED_MODEL}, batch size {embedder.batch_size}, torch threads {torch.get_num_threads()}")
    ratios = [
        compare("banking77", banking_texts(args.banking), embedder, args.rounds),
        compare("alpaca", alpaca_texts(args.alpaca), embedder, args.rounds),
    ]
    print(f"\nlowest ratio {min(ratios):.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
