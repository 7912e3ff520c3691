"""Import throughput and peak memory for a large SFT file (issue 2: "100,000 rows import in bounded memory").

Builds N Alpaca-shaped rows from ``/work/shared/data/alpaca`` (rows repeat with a "(variant k)"
prefix so every row is distinct), writes them in each requested format, and imports each file
into a new SQLite database in a fresh process, printing rows/s and the peak RSS next to the
file size. The import's peak RSS (``VmHWM``, reset just before the import) staying flat while rows
and file size grow is what "bounded" means here; ``getrusage``'s process-wide peak is printed too.

    python benchmarks/import_memory.py                 # 100,000 rows, JSONL
    python benchmarks/import_memory.py --rows 20000 100000 --formats jsonl json csv parquet
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ALPACA = Path("/work/shared/data/alpaca/alpaca_data.jsonl")
FIELDS = ("id", "instruction", "input", "output", "source")


def alpaca_rows(n: int) -> Iterator[dict]:
    """``n`` distinct Alpaca rows, streamed from the source file (cycled with a variant prefix)."""
    produced = 0
    variant = 0
    while True:
        with ALPACA.open(encoding="utf-8") as file:
            for line in file:
                record = json.loads(line)
                prefix = f"(variant {variant}) " if variant else ""
                yield {
                    "id": f"bench-{produced}",
                    "instruction": prefix + record["instruction"],
                    "input": record["input"],
                    "output": record["output"],
                    "source": "alpaca",
                }
                produced += 1
                if produced == n:
                    return
        variant += 1


def write_file(path: Path, n: int) -> None:
    rows = alpaca_rows(n)
    suffix = path.suffix
    if suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif suffix == ".json":
        with path.open("w", encoding="utf-8") as file:
            file.write("[\n")
            for i, row in enumerate(rows):
                file.write(("" if i == 0 else ",\n") + json.dumps(row, ensure_ascii=False, indent=2))
            file.write("\n]\n")
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(list(rows)), path, row_group_size=10_000)


def peak_rss_mb() -> float:
    """Peak RSS of this process so far (``getrusage``; KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_status_mb(key: str) -> float | None:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) from /proc/self/status, if present."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS counter (``VmHWM``), so the import's own peak can be read.

    ``getrusage``'s peak cannot be used for that: it already holds the transient memory of
    loading SQLAlchemy and running the migrations, and on Linux it even carries over the parent's
    RSS across fork+exec. It is printed as the process-wide figure.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure(path: Path, db_path: Path) -> dict:
    """Import ``path`` into a new SQLite database in this process; return the figures."""
    sys.path.insert(0, str(REPO_ROOT))
    from workbench.ingest import import_file
    from workbench.store.engine import Database
    from workbench.store.migrate import upgrade

    db = Database(f"sqlite:///{db_path}")
    upgrade(db)
    if path.suffix == ".parquet":
        import pyarrow.parquet  # noqa: F401  (loaded before the baseline, like the other modules)
    reset_peak_rss()
    before = proc_status_mb("VmRSS")
    start = time.perf_counter()
    report = import_file(db, path, "bench")
    seconds = time.perf_counter() - start
    return {
        "rows": report.n_rows,
        "imported": report.n_imported,
        "seconds": seconds,
        "rss_before_mb": before,
        "import_peak_mb": proc_status_mb("VmHWM") or peak_rss_mb(),
        "process_peak_mb": peak_rss_mb(),
        "db_mb": db_path.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--formats", nargs="+", default=["jsonl"], choices=["jsonl", "json", "csv", "parquet"]
    )
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), Path(args.child[1]))))
        return

    print(
        f"{'format':<8} {'rows':>8} {'file MB':>8} {'seconds':>8} {'rows/s':>8} {'RSS before':>10} "
        f"{'import peak':>11} {'growth':>7} {'getrusage':>10} {'db MB':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            for file_format in args.formats:
                path = Path(tmp) / f"alpaca_{n}.{file_format}"
                write_file(path, n)
                db_path = Path(tmp) / f"bench_{n}_{file_format}.sqlite"
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), str(db_path)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(done.stdout.strip().splitlines()[-1])
                assert r["imported"] == n, r
                growth = r["import_peak_mb"] - (r["rss_before_mb"] or 0)
                print(
                    f"{file_format:<8} {n:>8} {path.stat().st_size / 2**20:>8.1f} {r['seconds']:>8.1f} "
                    f"{n / r['seconds']:>8.0f} {r['rss_before_mb'] or 0:>8.0f}MB "
                    f"{r['import_peak_mb']:>9.0f}MB "
                    f"{growth:>5.0f}MB {r['process_peak_mb']:>8.0f}MB {r['db_mb']:>6.0f}",
                    flush=True,
                )
                path.unlink()
                db_path.unlink()


if __name__ == "__main__":
    main()
