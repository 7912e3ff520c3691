"""The detector registry and annotator disagreement."""

from __future__ import annotations

from collections import Counter

import pytest

from workbench.noise import MissingInputError, NoiseData, UnknownDetectorError, applicable, run_detectors


def test_an_unknown_detector_names_the_valid_ones():
    with pytest.raises(UnknownDetectorError, match="valid detectors: .*label_issue"):
        run_detectors(NoiseData([0]), ["label_issues"])


def test_a_named_detector_without_its_inputs_is_a_clear_error():
    with pytest.raises(MissingInputError, match="'label_issue' needs labels, embeddings"):
        run_detectors(NoiseData([0]), ["label_issue"])


def test_by_default_only_detectors_with_their_inputs_run():
    assert applicable(NoiseData([0], content_hashes=["h"])) == ["exact_duplicate"]


def test_inputs_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="labels has 1 rows but there are 2 ids"):
        NoiseData([0, 1], labels=["a"])


def test_disagreement_reports_majority_or_the_need_to_adjudicate():
    votes = {0: Counter(a=2, b=1), 1: Counter(a=1, b=1), 2: Counter(a=3)}
    findings = {f.index: f for f in run_detectors(NoiseData([10, 11, 12], votes=votes), ["disagreement"])}
    assert set(findings) == {0, 1}  # unanimous item 2 is fine
    assert findings[0].evidence["majority_label"] == "a"
    assert not findings[0].evidence["needs_adjudication"]
    assert findings[1].evidence["needs_adjudication"] and findings[1].severity == 1.0
    assert findings[0].severity < findings[1].severity
