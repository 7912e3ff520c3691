"""How often each SFT response heuristic fires on real instruction data, with examples to read.

On Alpaca (52k, English) and the BELLE eval set (Chinese) every response heuristic runs over the
samples; printed: findings per heuristic, the share of samples, the time, and the first examples
(to judge the false alarms by eye). Run from the repository root::

    PYTHONPATH=. python benchmarks/noise_heuristics.py [--examples 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

from benchmarks.noise_common import DATA
from workbench.noise import DETECTORS, NoiseData, run_detectors

FILES = {
    "alpaca": DATA / "alpaca" / "alpaca_data.jsonl",
    "belle_eval_zh": DATA / "belle_eval_zh" / "belle_eval_set.jsonl",
}


def _sample(record: dict) -> tuple[str, dict]:
    return "alpaca", {key: record.get(key) or "" for key in ("instruction", "input", "output")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args()
    heuristics = [name for name, spec in DETECTORS.items() if spec.family == "response"]
    for name, path in FILES.items():
        samples = [_sample(json.loads(line)) for line in path.open(encoding="utf-8")]
        started = time.perf_counter()
        findings = run_detectors(NoiseData(list(range(len(samples))), samples=samples), heuristics)
        seconds = time.perf_counter() - started
        by_detector = defaultdict(list)
        for finding in findings:
            by_detector[finding.detector].append(finding)
        print(f"\n{name}: {len(samples)} samples, {seconds:.1f} s")
        for detector in heuristics:
            found = by_detector[detector]
            print(f"  {detector:<20} {len(found):>6} ({len(found) / len(samples):.2%})")
            for finding in found[: args.examples]:
                instruction = samples[finding.index][1]["instruction"][:80].replace("\n", " ")
                evidence = json.dumps(finding.evidence, ensure_ascii=False)[:160]
                print(f"      #{finding.index} {instruction!r} -> {evidence}")


if __name__ == "__main__":
    main()
