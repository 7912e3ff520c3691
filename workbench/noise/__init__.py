"""Noise detection: registered detectors that flag suspicious items with evidence for the lead.

Typical use::

    from workbench.noise import NoiseData, run_detectors

    findings = run_detectors(NoiseData(ids, labels=labels, embeddings=vectors))

Importing this package registers every detector (label issues, annotator disagreement,
duplicates and contradictions, SFT response heuristics).
"""

from workbench.noise import disagreement, duplicates, heuristics, label_issues  # noqa: F401  (registers)
from workbench.noise.label_issues import (
    QUALITY_METHODS,
    LabelQuality,
    label_quality,
    label_quality_from_probas,
)
from workbench.noise.neighbors import near_duplicate_pairs
from workbench.noise.registry import (
    DETECTORS,
    DetectorSpec,
    Finding,
    MissingInputError,
    NoiseData,
    NoiseSettings,
    UnknownDetectorError,
    applicable,
    detector_names,
    detector_spec,
    run_detectors,
)

__all__ = [
    "DETECTORS",
    "QUALITY_METHODS",
    "DetectorSpec",
    "Finding",
    "LabelQuality",
    "MissingInputError",
    "NoiseData",
    "NoiseSettings",
    "UnknownDetectorError",
    "applicable",
    "detector_names",
    "detector_spec",
    "label_quality",
    "label_quality_from_probas",
    "near_duplicate_pairs",
    "run_detectors",
]
