"""Label issues: planted flipped labels are found from out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.noise import NoiseData, label_quality, label_quality_from_probas, run_detectors


def _clusters(n_per_class: int = 40, n_classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian clusters in 16 dimensions, shape (n, 16), and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.eye(n_classes, 16) * 6
    X = np.vstack([centres[c] + rng.normal(size=(n_per_class, 16)) for c in range(n_classes)])
    y = np.repeat(np.array([f"class{c}" for c in range(n_classes)]), n_per_class)
    return X.astype(np.float32), y


def test_planted_flipped_labels_are_flagged_and_score_lowest():
    X, y = _clusters()
    flipped = np.array([3, 45, 90, 130, 150])
    noisy = y.copy()
    noisy[flipped] = [f"class{(int(label[-1]) + 1) % 4}" for label in y[flipped]]
    findings = run_detectors(
        NoiseData(list(range(len(y))), labels=noisy.tolist(), embeddings=X), ["label_issue"]
    )
    flagged = {f.index for f in findings}
    assert set(flipped) <= flagged
    assert len(flagged - set(flipped)) <= 2
    by_index = {f.index: f for f in findings}
    assert (by_index[3].evidence["given_label"], by_index[3].evidence["suggested_label"]) == (
        "class1",
        "class0",
    )
    quality = label_quality(X, noisy).quality
    assert set(np.argsort(quality)[: len(flipped)]) == set(flipped)
    assert all(0.0 <= f.severity <= 1.0 for f in findings)


def test_clean_labels_give_no_issues_and_high_quality():
    X, y = _clusters(seed=1)
    result = label_quality(X, y)
    assert not result.is_issue.any()
    assert result.quality.min() > 0.5


def test_unlabeled_rows_are_left_out():
    X, y = _clusters()
    labels: list[str | None] = y.tolist()
    labels[0] = None
    findings = run_detectors(NoiseData(list(range(len(y))), labels=labels, embeddings=X), ["label_issue"])
    assert all(f.index != 0 for f in findings)


def test_bad_inputs_name_the_valid_choices():
    with pytest.raises(ValueError, match="valid methods: self_confidence"):
        label_quality_from_probas(["a"], np.array([[1.0, 0.0]]), ["a", "b"], method="entropy")
    with pytest.raises(ValueError, match=r"expected \(1, 2\)"):
        label_quality_from_probas(["a"], np.array([[1.0, 0.0, 0.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="not among the classes"):
        label_quality_from_probas(["c"], np.array([[1.0, 0.0]]), ["a", "b"])
