"""Real label errors: 20 Newsgroups test set against the errors people verified (issue 5).

``find-noise`` (the stable CLI) runs on ``label_errors_20news/20news_test.jsonl`` with its labels as
given. Truth: the 93 candidates people checked (``20news_label_error_candidates.jsonl``), of which
``is_label_error`` marks 82; rows never checked count as "not known to be wrong", so precision is
a lower bound. Printed: precision and recall of the flagged rows, and the precision of the 93
rows with the lowest label quality. Embedding 7,532 long documents takes minutes the first time;
they are cached in the app database. Run from the repository root::

    PYTHONPATH=. python benchmarks/noise_20news.py
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.noise_common import DATA, find_noise, precision_recall_f1

FOLDER = DATA / "label_errors_20news"


def main() -> None:
    candidates = [json.loads(line) for line in (FOLDER / "20news_label_error_candidates.jsonl").open()]
    errors = {str(c["id"]) for c in candidates if c["is_label_error"]}
    checked = {str(c["id"]) for c in candidates}
    with tempfile.TemporaryDirectory() as tmp:
        flags = find_noise(FOLDER / "20news_test.jsonl", Path(tmp) / "flags.csv")
    truth = np.array([i in errors for i in flags.ids])
    print(
        f"20news test: {len(flags.ids)} rows, {len(errors)} verified errors among {len(checked)} checked; "
        f"find-noise took {flags.seconds:.0f} s"
    )
    print("detectors fired:", dict(Counter(name for d in flags.detectors for name in d)))
    print(f"{'set':<34} {'rows':>5} {'precision':>9} {'recall':>7} {'F1':>6}")
    p, r, f = precision_recall_f1(flags.flagged, truth)
    print(f"{'flagged':<34} {int(flags.flagged.sum()):>5} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    lowest = np.zeros(len(truth), dtype=bool)
    lowest[np.argsort(flags.quality, kind="stable")[: len(checked)]] = True
    p, r, f = precision_recall_f1(lowest, truth)
    print(f"{f'{len(checked)} lowest label quality':<34} {len(checked):>5} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    ids = np.array(flags.ids)
    print(f"of those {len(checked)}, checked by people: {int(np.isin(ids[lowest], list(checked)).sum())}")


if __name__ == "__main__":
    main()
