"""The detector registry: small registered functions that each report what looks wrong.

A detector is ``fn(data: NoiseData, settings: NoiseSettings) -> list[Finding]``. It reads only the
inputs it declares in ``needs`` (``run_detectors`` skips it, or fails with a clear message, when
they are missing) and returns one finding per suspicious item, with evidence a lead can read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Inputs a detector may need; each names a ``NoiseData`` attribute.
INPUTS = ("labels", "embeddings", "content_hashes", "samples", "votes")


class UnknownDetectorError(ValueError):
    """A detector name that is not registered; the message lists the valid ones."""


class MissingInputError(ValueError):
    """A detector asked for on data that lacks an input it needs."""


@dataclass(frozen=True)
class Finding:
    """One suspicious item.

    Attributes
    ----------
    index : int
        Row of the item in the ``NoiseData``.
    detector : str
    severity : float
        In [0, 1], higher = more urgent.
    evidence : dict
        JSON-ready; what the lead reads (labels, scores, the other item of a pair, ...).
    """

    index: int
    detector: str
    severity: float
    evidence: dict[str, Any]


@dataclass(frozen=True)
class NoiseSettings:
    """Thresholds of the detectors.

    Attributes
    ----------
    near_duplicate_threshold : float
        Cosine similarity from which two items count as near-duplicates.
    n_folds : int
        Folds of the out-of-fold probabilities behind label issues.
    large_set : int
        From this many labeled items on, ``large_set_folds`` folds are used instead: each fold's
        scorer then still trains on tens of thousands of items, and fitting takes half the time
        (2 training sets' worth of items instead of 4), which keeps 100,000 items within a minute.
    large_set_folds : int
    seed : int
        Fixes the folds (and every other random choice).
    """

    near_duplicate_threshold: float = 0.95
    n_folds: int = 5
    large_set: int = 50_000
    large_set_folds: int = 3
    seed: int = 0

    def folds_for(self, n_labeled: int) -> int:
        """Folds of the out-of-fold probabilities for ``n_labeled`` items."""
        return self.large_set_folds if n_labeled >= self.large_set else self.n_folds


@dataclass
class NoiseData:
    """The items to check, one row each; any input may be None when it is not known.

    Attributes
    ----------
    ids : list, length n
        How the caller names each row (item ids, file ids); copied into evidence of pairs.
    labels : list of (str or None), length n, optional
        The label each item currently has (None = unlabeled).
    embeddings : np.ndarray, shape (n, d), float32, optional
    content_hashes : list of str, length n, optional
    samples : list of (shape, sample dict), length n, optional
    votes : dict of row -> Counter(label -> n annotators), optional
    """

    ids: Sequence[Any]
    labels: Sequence[str | None] | None = None
    embeddings: np.ndarray | None = None
    content_hashes: Sequence[str] | None = None
    samples: Sequence[tuple[str, dict[str, Any]]] | None = None
    votes: dict[int, Counter[str]] | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # results shared between detectors of one run

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("labels", "embeddings", "content_hashes", "samples"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} rows but there are {n} ids")

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None


Detect = Callable[[NoiseData, NoiseSettings], list[Finding]]


@dataclass(frozen=True)
class DetectorSpec:
    """A registered detector: its name, family (for grouping in the UI), inputs and function."""

    name: str
    family: str
    needs: tuple[str, ...]
    fn: Detect
    description: str


DETECTORS: dict[str, DetectorSpec] = {}


def register(
    name: str, *, family: str, needs: tuple[str, ...], description: str
) -> Callable[[Detect], Detect]:
    """Register ``fn`` as detector ``name``."""
    unknown = set(needs) - set(INPUTS)
    if unknown:
        raise ValueError(f"unknown inputs {sorted(unknown)}; valid inputs: {', '.join(INPUTS)}")

    def decorate(fn: Detect) -> Detect:
        if name in DETECTORS:
            raise ValueError(f"detector {name!r} is already registered")
        DETECTORS[name] = DetectorSpec(name, family, needs, fn, description)
        return fn

    return decorate


def detector_names() -> list[str]:
    return list(DETECTORS)


def detector_spec(name: str) -> DetectorSpec:
    try:
        return DETECTORS[name]
    except KeyError:
        raise UnknownDetectorError(
            f"unknown detector {name!r}; valid detectors: {', '.join(DETECTORS)}"
        ) from None


def applicable(data: NoiseData) -> list[str]:
    """Registered detectors whose inputs ``data`` has."""
    return [spec.name for spec in DETECTORS.values() if all(data.has(need) for need in spec.needs)]


def run_detectors(
    data: NoiseData, names: Sequence[str] | None = None, settings: NoiseSettings | None = None
) -> list[Finding]:
    """Run the named detectors (default: every applicable one) and return all their findings.

    Raises
    ------
    UnknownDetectorError
        For a name that is not registered.
    MissingInputError
        When an explicitly named detector lacks an input.
    """
    settings = settings or NoiseSettings()
    specs = [detector_spec(name) for name in (applicable(data) if names is None else names)]
    findings: list[Finding] = []
    for spec in specs:
        missing = [need for need in spec.needs if not data.has(need)]
        if missing:
            raise MissingInputError(
                f"detector {spec.name!r} needs {', '.join(missing)}, which the data lacks"
            )
        findings.extend(spec.fn(data, settings))
    return findings
