"""``find-noise`` on a labeled file: the label-issue and duplicate detectors, one verdict per row.

The file's labels are taken as given. The CSV written by ``write_flags`` has the stable columns
``id,given_label,suggested_label,label_quality,flagged,detectors``: ``detectors`` lists every
detector that fired on the row, ``flagged`` is 1 when one of the ``LABEL_DETECTORS`` did, i.e. the
row's label is suspect. A near-duplicate with a consistent label is worth a look (keep one of the
group) but its label is not wrong: banking77 has 2,767 of 10,003 rows in near-duplicate groups.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.ingest.errors import RowProblem
from workbench.ingest.fields import read_external_id
from workbench.ingest.readers import format_for
from workbench.noise.label_issues import labeled_quality
from workbench.noise.registry import NoiseData, NoiseSettings, run_detectors
from workbench.text import content_hash, normalize_text

FLAG_COLUMNS = ("id", "given_label", "suggested_label", "label_quality", "flagged", "detectors")
#: What ``find-noise`` runs on a file.
FILE_DETECTORS = ("label_issue", "exact_duplicate", "near_duplicate", "label_conflict")
#: Detectors whose finding means the row's label is suspect (``flagged``).
LABEL_DETECTORS = frozenset({"label_issue", "label_conflict"})


@dataclass(frozen=True)
class RowVerdict:
    """One input row's line of ``flags.csv``."""

    id: str
    given_label: str
    suggested_label: str
    label_quality: float
    detectors: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(LABEL_DETECTORS & set(self.detectors))


def read_row_ids(path: str | os.PathLike[str], id_field: str) -> list[str]:
    """Each row's ``id_field`` value, or its row number (from 0) where it has none.

    Raises
    ------
    ValueError
        As ``file:line: reason`` for an id that is not a string or an integer.
    """
    path = Path(path)
    ids = []
    for number, row in enumerate(format_for(path).read(path)):
        try:
            external = read_external_id(row.record, id_field) if row.error is None else None
        except RowProblem as exc:
            raise ValueError(f"{path}:{row.line}: {exc}") from None
        ids.append(external if external is not None else str(number))
    return ids


def file_report(
    ids: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[str],
    embeddings: np.ndarray,
    settings: NoiseSettings | None = None,
) -> list[RowVerdict]:
    """Run ``FILE_DETECTORS`` and give every row its verdict.

    Parameters
    ----------
    ids, texts, labels : sequences of str, length n
    embeddings : np.ndarray, shape (n, d)
    """
    settings = settings or NoiseSettings()
    data = NoiseData(
        ids=list(ids),
        labels=list(labels),
        embeddings=np.asarray(embeddings, dtype=np.float32),
        content_hashes=[content_hash(normalize_text(text)) for text in texts],
    )
    fired: dict[int, list[str]] = defaultdict(list)
    for finding in run_detectors(data, FILE_DETECTORS, settings):
        fired[finding.index].append(finding.detector)
    rows, quality = labeled_quality(data, settings)
    suggested = np.asarray(labels, dtype=object).copy()
    scores = np.ones(len(ids))
    if quality is not None:
        suggested[rows] = quality.suggested
        scores[rows] = quality.quality
    return [
        RowVerdict(str(ids[i]), str(labels[i]), str(suggested[i]), float(scores[i]), tuple(fired.get(i, ())))
        for i in range(len(ids))
    ]


def write_flags(verdicts: Sequence[RowVerdict], path: str | os.PathLike[str]) -> None:
    """Write ``flags.csv`` (folders created), one line per verdict in input order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FLAG_COLUMNS)
        for v in verdicts:
            writer.writerow(
                [
                    v.id,
                    v.given_label,
                    v.suggested_label,
                    f"{v.label_quality:.6f}",
                    int(v.flagged),
                    ";".join(v.detectors),
                ]
            )
