"""Label efficiency of every sampler: simulated active learning on labeled datasets.

For each dataset and seed, ``workbench.simulate.simulate`` runs the same protocol for every
sampler (same pool, test set and initial random labels per seed), with the app's scorer and the
app's embedding cache. Printed per dataset, from the curves averaged over seeds:

- final accuracy and mean accuracy over the curve (rounds 0..R, test set);
- labels needed to reach random's final accuracy: where the sampler's mean curve first crosses
  it, interpolated linearly between rounds ("-" if it never does), and that as a share of
  random's labels.

Protocol (issue 3): banking77 with initial 77, batch 77, 15 rounds, 3 seeds. Measured reference
for this protocol: random needs 1,232 labels, margin ~850, diverse mini-batch (Zhdanov 2019,
``diverse_margin``) ~620; the default ``hybrid`` must need at most as many as that reference.
sst2 and sms_spam (initial 20, batch 20, 15 rounds; sms_spam has no split, so a stratified 20%
holdout) check that the hybrid never falls below random.

``--control-shares 0.05`` adds an arm ``hybrid+control5%``: the default hybrid budget with that
share of every batch kept for the uniformly random control slice (``random_control``), and prints
what the slice costs: the extra labels it needs to reach random's final accuracy. Run from the
repository root::

    PYTHONPATH=. python benchmarks/label_efficiency.py [--datasets banking77 sst2 sms_spam]
        [--samplers ...] [--control-shares 0.05 ...] [--seeds 3] [--curves-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.cli.app import database
from workbench.config import REPO_ROOT, Settings
from workbench.embed import embed_texts
from workbench.samplers import DEFAULT_BUDGET, DEFAULT_SAMPLER, SamplerContext, with_control
from workbench.simulate import CurvePoint, pool_and_test, read_labeled_file, simulate, write_curve
from workbench.store.migrate import upgrade

DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLERS = [
    "random",
    "margin",
    "least_confidence",
    "entropy",
    "diversity",
    "error_rate",
    "diverse_margin",
    "diverse_margin_wide",
    DEFAULT_SAMPLER,
]
REFERENCE = "diverse_margin"


@dataclass(frozen=True)
class Protocol:
    path: Path
    initial: int
    batch: int
    rounds: int


PROTOCOLS = {
    "banking77": Protocol(DATA / "banking77" / "banking77.jsonl", initial=77, batch=77, rounds=15),
    "sst2": Protocol(DATA / "sst2" / "sst2.jsonl", initial=20, batch=20, rounds=15),
    "sms_spam": Protocol(DATA / "sms_spam" / "sms_spam.jsonl", initial=20, batch=20, rounds=15),
}


def labels_to_reach(n_labeled: np.ndarray, accuracy: np.ndarray, target: float) -> float:
    """Labels at which the curve first reaches ``target``, interpolated; NaN if it never does."""
    if accuracy[0] >= target:
        return float(n_labeled[0])
    for i in range(1, len(accuracy)):
        if accuracy[i] >= target:
            share = (target - accuracy[i - 1]) / (accuracy[i] - accuracy[i - 1])
            return float(n_labeled[i - 1] + share * (n_labeled[i] - n_labeled[i - 1]))
    return float("nan")


@dataclass(frozen=True)
class Arm:
    """One curve to simulate: a sampler, with a hybrid budget or not."""

    sampler: str
    context: SamplerContext | None = None


def control_arm_name(share: float) -> str:
    return f"{DEFAULT_SAMPLER}+control{share * 100:g}%"


def make_arms(samplers: list[str], control_shares: list[float]) -> dict[str, Arm]:
    arms = {sampler: Arm(sampler) for sampler in samplers}
    for share in control_shares:
        arms[control_arm_name(share)] = Arm(
            DEFAULT_SAMPLER, SamplerContext(budget=with_control(DEFAULT_BUDGET, share))
        )
    return arms


def run_dataset(name: str, protocol: Protocol, arms: dict[str, Arm], seeds: int, curves_dir: Path | None):
    """Curves per arm, each an array (seeds, rounds + 1, 3) of n_labeled, accuracy, macro-F1."""
    rows = read_labeled_file(protocol.path, text_field="text", label_field="label", split_field="split")
    db = database()
    upgrade(db)
    embeddings = embed_texts(db, rows.texts, model=Settings.from_env().embedding_model)
    curves: dict[str, list[list[CurvePoint]]] = {s: [] for s in arms}
    for seed in range(seeds):
        pool, test = pool_and_test(rows, seed)
        for sampler, arm in arms.items():
            started = time.perf_counter()
            curve = simulate(
                embeddings,
                rows.labels,
                pool,
                test,
                sampler=arm.sampler,
                context=arm.context,
                initial=protocol.initial,
                batch=protocol.batch,
                rounds=protocol.rounds,
                seed=seed,
            )
            curves[sampler].append(curve)
            print(
                f"  {name} seed {seed} {sampler:<17} final accuracy {curve[-1].accuracy:.4f}"
                f"  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            if curves_dir is not None:
                write_curve(curve, curves_dir / f"{name}-{sampler}-seed{seed}.csv")
    return {
        sampler: np.array([[(p.n_labeled, p.accuracy, p.macro_f1) for p in curve] for curve in runs])
        for sampler, runs in curves.items()
    }


def print_table(name: str, curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Print the table; return labels-to-reach-random per sampler."""
    mean = {s: c.mean(axis=0) for s, c in curves.items()}  # (rounds + 1, 3)
    target = mean["random"][-1, 1]
    random_labels = mean["random"][-1, 0]
    n_seeds = len(curves["random"])
    print(f"\n{name}: {n_seeds} seeds; random's final accuracy {target:.4f} at {random_labels:.0f} labels")
    header = ("sampler", "final acc", "mean acc", "final F1", "labels to reach random", "vs random")
    print(f"{header[0]:<20} {header[1]:>9} {header[2]:>9} {header[3]:>9} {header[4]:>23} {header[5]:>9}")
    needed = {}
    for sampler, m in mean.items():
        needed[sampler] = labels_to_reach(m[:, 0], m[:, 1], target)
        reach = "-" if np.isnan(needed[sampler]) else f"{needed[sampler]:,.0f}"
        share = "-" if np.isnan(needed[sampler]) else f"{needed[sampler] / random_labels:.2f}"
        print(f"{sampler:<20} {m[-1, 1]:>9.4f} {m[:, 1].mean():>9.4f} {m[-1, 2]:>9.4f} {reach:>23} {share:>9}")
    return needed


def print_verdicts(results: dict[str, tuple[dict[str, np.ndarray], dict[str, float]]]) -> None:
    print("\nchecks")
    if "banking77" in results:
        _, needed = results["banking77"]
        if DEFAULT_SAMPLER in needed and REFERENCE in needed:
            ok = needed[DEFAULT_SAMPLER] <= needed[REFERENCE]
            print(
                f"  banking77: {DEFAULT_SAMPLER} needs {needed[DEFAULT_SAMPLER]:,.0f} labels, "
                f"{REFERENCE} (reference) {needed[REFERENCE]:,.0f}: {'ok' if ok else 'MISSED'}"
            )
    for name in ("sst2", "sms_spam"):
        if name in results and DEFAULT_SAMPLER in results[name][0]:
            curves = results[name][0]
            ours, base = curves[DEFAULT_SAMPLER].mean(axis=0), curves["random"].mean(axis=0)
            ok = ours[-1, 1] >= base[-1, 1] and ours[:, 1].mean() >= base[:, 1].mean()
            print(
                f"  {name}: {DEFAULT_SAMPLER} final {ours[-1, 1]:.4f} vs random {base[-1, 1]:.4f}, "
                f"mean {ours[:, 1].mean():.4f} vs {base[:, 1].mean():.4f}: {'ok' if ok else 'BELOW RANDOM'}"
            )


def print_control_cost(name: str, needed: dict[str, float], shares: list[float]) -> None:
    """Extra labels the control slice costs the hybrid to reach random's final accuracy."""
    plain = needed.get(DEFAULT_SAMPLER, float("nan"))
    for share in shares:
        with_slice = needed.get(control_arm_name(share), float("nan"))
        print(
            f"  {name}: {control_arm_name(share)} needs {with_slice:,.0f} labels to reach random's final "
            f"accuracy, {DEFAULT_SAMPLER} {plain:,.0f}: cost {with_slice - plain:+,.0f} labels "
            f"({with_slice / plain - 1:+.1%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS)
    parser.add_argument("--control-shares", nargs="*", type=float, default=[],
                        help="Also run the default hybrid with these random control shares (e.g. 0.05).")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--curves-dir", type=Path, help="Also write every curve as CSV here.")
    args = parser.parse_args()
    samplers = args.samplers if "random" in args.samplers else ["random", *args.samplers]
    if args.control_shares and DEFAULT_SAMPLER not in samplers:
        samplers.append(DEFAULT_SAMPLER)
    arms = make_arms(samplers, args.control_shares)
    results = {}
    for name in args.datasets:
        curves = run_dataset(name, PROTOCOLS[name], arms, args.seeds, args.curves_dir)
        results[name] = (curves, print_table(name, curves))
    print_verdicts(results)
    if args.control_shares:
        print("\ncontrol slice cost")
        for name, (_, needed) in results.items():
            print_control_cost(name, needed, args.control_shares)


if __name__ == "__main__":
    main()
