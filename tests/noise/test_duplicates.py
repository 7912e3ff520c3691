"""Duplicates and contradictions: exact copies, near-duplicate groups, conflicting labels and responses."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.noise import NoiseData, near_duplicate_pairs, run_detectors
from workbench.noise.neighbors import LIST_SIZE


def _random_unit(n: int, d: int = 24, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _near_copy(v: np.ndarray, seed: int) -> np.ndarray:
    """A vector with cosine similarity about 0.99 to ``v``."""
    noise = np.random.default_rng(seed).normal(size=v.shape).astype(np.float32)
    w = v + 0.1 * noise / np.linalg.norm(noise)
    return w / np.linalg.norm(w)


def test_the_search_finds_every_planted_pair_beyond_one_list():
    n = 6 * LIST_SIZE  # several lists: the inverted-file path, not the exact single list
    X = _random_unit(n)
    planted = [(i, n - 1 - i) for i in range(0, 400, 7)]
    for k, (a, b) in enumerate(planted):
        X[b] = _near_copy(X[a], k)
    first, second, sim = near_duplicate_pairs(X, 0.95)
    assert set(zip(first.tolist(), second.tolist())) == set(planted)
    assert (sim >= 0.95).all() and (first < second).all()


def _clusters(n_per_class: int = 30) -> np.ndarray:
    """Two well-separated Gaussian clusters in 24 dimensions: rows 0..n-1 and n..2n-1, shape (2n, 24)."""
    rng = np.random.default_rng(4)
    centres = np.eye(2, 24) * 6
    return np.vstack([centres[c] + rng.normal(size=(n_per_class, 24)) for c in range(2)]).astype(np.float32)


def test_of_a_near_duplicate_pair_with_different_labels_the_doubtful_one_is_flagged():
    X = _clusters()
    X[7] = _near_copy(X[2], 0) * np.linalg.norm(X[2])
    labels = ["a"] * 30 + ["b"] * 30
    labels[7] = "b"  # a copy of an "a" item, labeled "b"
    data = NoiseData([f"r{i}" for i in range(60)], labels=labels, embeddings=X)
    findings = run_detectors(data, ["near_duplicate", "label_conflict"])
    conflicts = [f for f in findings if f.detector == "label_conflict"]
    assert [f.index for f in conflicts] == [7]  # a 1-1 tie, broken by the scorer's doubt
    assert conflicts[0].evidence["conflicts"] == [
        {"id": "r2", "label": "a", "similarity": pytest.approx(0.99, abs=0.01)}
    ]
    groups = {f.index: f.evidence for f in findings if f.detector == "near_duplicate"}
    assert set(groups) == {2, 7} and groups[2]["group"] == groups[7]["group"] == "r2"


def test_only_the_minority_label_of_a_duplicate_group_is_flagged():
    X = _random_unit(20, seed=2)
    for k, row in enumerate((11, 12)):
        X[row] = _near_copy(X[10], k)
    labels = ["x"] * 20
    labels[12] = "y"
    findings = run_detectors(NoiseData(list(range(20)), labels=labels, embeddings=X), ["label_conflict"])
    assert [f.index for f in findings] == [12]
    assert findings[0].evidence["duplicate_labels"] == {"y": 1, "x": 2}


def test_near_duplicates_with_the_same_label_are_no_conflict():
    X = _random_unit(20, seed=3)
    X[5] = _near_copy(X[4], 0)
    findings = run_detectors(NoiseData(list(range(20)), labels=["x"] * 20, embeddings=X), ["label_conflict"])
    assert findings == []


def test_exact_duplicates_are_grouped_by_content_hash():
    hashes = ["h1", "h2", "h1", "h3", "h1"]
    findings = run_detectors(NoiseData(["a", "b", "c", "d", "e"], content_hashes=hashes), ["exact_duplicate"])
    assert sorted(f.index for f in findings) == [0, 2, 4]
    assert {f.evidence["group_size"] for f in findings} == {3}
    assert findings[0].evidence["members"] == ["a", "c", "e"]


def test_same_instruction_with_different_outputs_conflicts():
    samples = [
        ("alpaca", {"instruction": "Capital of France?", "output": "Paris."}),
        ("alpaca", {"instruction": "Capital of  France?", "output": "Lyon."}),
        ("alpaca", {"instruction": "Capital of Spain?", "output": "Madrid."}),
        ("alpaca", {"instruction": "Capital of Spain?", "output": "Madrid. "}),
    ]
    findings = run_detectors(NoiseData(["p", "l", "m1", "m2"], samples=samples), ["conflicting_responses"])
    assert sorted(f.index for f in findings) == [0, 1]
    assert findings[0].evidence["others"] == [{"id": "l", "response": "Lyon."}]
