"""The scorer follows scikit-learn's rules; out-of-fold probabilities and evaluation; artefacts."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn

from tests.samplers.pools import make_blobs
from workbench.scorer import (
    Scorer,
    ScorerLoadError,
    TooFewClassesError,
    cv_folds,
    evaluate,
    fold_spread,
    learning_curve,
    load_scorer,
    out_of_fold_probas,
    save_scorer,
    stratified_folds,
)


@pytest.fixture
def data():
    embeddings, blob = make_blobs(n_per_blob=30, n_blobs=3, dim=12, seed=0, spread=0.3)
    labels = np.array(["neutral", "angry", "happy"])[blob]
    return embeddings, labels


def test_fit_returns_self_and_classes_order_the_columns(data):
    X, y = data
    scorer = Scorer()
    assert scorer.fit(X, y) is scorer
    assert scorer.classes_.tolist() == ["angry", "happy", "neutral"]
    probas = scorer.predict_proba(X)
    assert probas.shape == (len(y), 3) and probas.dtype == np.float32
    np.testing.assert_allclose(probas.sum(axis=1), 1.0, rtol=1e-5)
    # The column of each item's own blob is the largest: classes_ is the column order.
    assert (scorer.classes_[probas.argmax(axis=1)] == y).mean() > 0.9
    assert (scorer.predict(X) == scorer.classes_[probas.argmax(axis=1)]).all()


def test_init_only_stores_parameters_so_clone_and_get_params_work(data):
    scorer = Scorer(C=0.5, class_weight=None)
    assert scorer.get_params() == {"C": 0.5, "class_weight": None, "max_iter": 1000}
    clone = sklearn.clone(scorer)
    assert clone.get_params() == scorer.get_params()
    assert not hasattr(clone, "classes_")


def test_binary_probabilities_match_scikit_learn(data):
    X, y = data
    binary = y != "neutral"
    ours = Scorer().fit(X[binary], y[binary]).predict_proba(X)
    theirs = sklearn.linear_model.LogisticRegression(C=3.0, class_weight="balanced", max_iter=1000)
    np.testing.assert_allclose(ours, theirs.fit(X[binary], y[binary]).predict_proba(X), atol=1e-5)


def test_one_class_is_a_clear_error(data):
    X, _ = data
    with pytest.raises(TooFewClassesError, match="at least two classes"):
        Scorer().fit(X, np.full(len(X), "happy"))


def test_unfitted_scorer_refuses_to_predict(data):
    X, _ = data
    with pytest.raises(sklearn.exceptions.NotFittedError):
        Scorer().predict_proba(X)


def test_save_and_load_give_the_same_probabilities(data, tmp_path):
    X, y = data
    scorer = Scorer().fit(X, y)
    path = save_scorer(scorer, tmp_path / "models" / "round-3.joblib")
    loaded = load_scorer(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), scorer.predict_proba(X))
    assert loaded.classes_.tolist() == scorer.classes_.tolist()
    assert [p.name for p in path.parent.iterdir()] == ["round-3.joblib"]  # no partial file left


def test_loading_something_else_names_the_file(tmp_path):
    bogus = tmp_path / "bogus.joblib"
    bogus.write_bytes(b"not a pickle")
    with pytest.raises(ScorerLoadError, match="bogus.joblib"):
        load_scorer(bogus)
    with pytest.raises(ScorerLoadError, match="missing.joblib"):
        load_scorer(tmp_path / "missing.joblib")


def test_folds_spread_each_class_evenly_even_when_it_is_smaller_than_the_folds():
    y = np.array(["a"] * 12 + ["b"] * 3 + ["c"])
    folds = stratified_folds(y, 5, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [3, 3, 3, 3, 4]
    assert len(set(folds[y == "b"])) == 3  # the three b's land in three different folds
    assert np.bincount(folds[y == "a"], minlength=5).max() - np.bincount(folds[y == "a"], minlength=5).min() <= 1


def test_out_of_fold_probabilities_come_from_models_that_did_not_see_the_item(data):
    X, y = data
    y = y.copy()
    y[0] = "angry" if y[0] != "angry" else "happy"  # a mislabeled item
    oof = out_of_fold_probas(Scorer(), X, y, n_folds=5, seed=0)
    in_sample = Scorer().fit(X, y).predict_proba(X)
    classes = np.unique(y)
    own = np.searchsorted(classes, y[0])
    # A model that saw the wrong label believes it more than the ones that did not.
    assert oof[0, own] < in_sample[0, own]
    assert oof.shape == (len(y), 3)
    assert evaluate(y, oof, classes).accuracy < 1.0


def test_out_of_fold_handles_a_class_with_a_single_member(data):
    X, y = data
    y = y.copy()
    y[5] = "rare"
    oof = out_of_fold_probas(Scorer(), X, y, n_folds=5, seed=0)
    rare = np.searchsorted(np.unique(y), "rare")
    assert oof[5, rare] == 0.0  # its fold's model never saw the class
    np.testing.assert_allclose(oof.sum(axis=1), 1.0, rtol=1e-5)


def test_out_of_fold_with_two_items_of_two_classes():
    X = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    oof = out_of_fold_probas(Scorer(), X, np.array(["a", "b"]))
    # Each fold trains on one class only and predicts it with certainty.
    np.testing.assert_array_equal(oof, [[0.0, 1.0], [1.0, 0.0]])


def test_evaluate_reports_accuracy_macro_f1_and_per_class_figures():
    y = np.array(["a", "a", "a", "b", "c"])
    probas = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.6, 0.4]])
    ev = evaluate(y, probas, np.array(["a", "b"]))
    assert ev.n_labels == 5
    assert ev.accuracy == pytest.approx(3 / 5)
    assert ev.per_class["a"].recall == pytest.approx(2 / 3)
    assert ev.per_class["b"].precision == pytest.approx(1 / 2)
    assert ev.per_class["c"].support == 1 and ev.per_class["c"].f1 == 0.0  # never predicted
    assert ev.macro_f1 == pytest.approx(np.mean([ev.per_class[c].f1 for c in "abc"]))
    assert ev.to_dict()["per_class"]["a"]["support"] == 3


def test_fold_spread_scores_each_fold_on_its_own():
    y = np.array(["a", "a", "b", "b", "a", "b"])
    classes = np.array(["a", "b"])
    folds = np.array([0, 0, 0, 1, 1, 1])
    # Fold 0 gets all three right; fold 1 one of three.
    predicted = np.array(["a", "a", "b", "b", "b", "a"])
    probas = (predicted[:, None] == classes).astype(np.float32)
    spread = fold_spread(y, probas, classes, folds)
    assert spread["n_folds"] == 2
    assert spread["accuracy"]["per_fold"] == pytest.approx([1.0, 1 / 3])
    assert spread["accuracy"]["mean"] == pytest.approx(2 / 3)
    assert spread["accuracy"]["std"] == pytest.approx(1 / 3)
    assert (spread["accuracy"]["min"], spread["accuracy"]["max"]) == pytest.approx((1 / 3, 1.0))
    assert spread["macro_f1"]["per_fold"][0] == pytest.approx(1.0)
    assert spread["macro_f1"]["per_fold"][1] == pytest.approx((0.0 + 0.5) / 2)


def test_cv_folds_are_the_folds_out_of_fold_probabilities_use(data):
    X, y = data
    folds = cv_folds(y, 5, seed=4)
    np.testing.assert_array_equal(folds, stratified_folds(y, 5, 4))
    assert cv_folds(y[:3], 5, seed=4).max() == 2  # fewer items than folds: one fold each


def test_the_learning_curve_rises_and_levels_off():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(2, 16))
    y = rng.integers(0, 2, 300)
    X = (centers[y] + 2.2 * rng.normal(size=(300, 16))).astype(np.float32)
    curve = learning_curve(X, y)
    assert curve.params is not None and curve.message == ""
    a, b, c = curve.params
    assert 0.5 < a <= 1.0 and b >= 0 and c > 0
    assert curve.sizes[0] == 60 and curve.sizes[-1] == 240 and len(curve.sizes) == len(curve.accuracy)
    assert curve.at(60) <= curve.at(240) <= curve.at(1000) <= a + 1e-9
    assert curve.accuracy[-1] > 0.6  # the two classes are learnable


def test_too_few_labels_for_a_learning_curve_say_how_many_are_needed():
    curve = learning_curve(np.zeros((7, 4), np.float32), np.array(["a", "b"] * 3 + ["a"]))
    assert curve.params is None and curve.message == "not enough control labels yet (7 of 20 needed)"
    assert curve.at(100) is None
    one_class = learning_curve(np.zeros((25, 4), np.float32), np.array(["a"] * 25))
    assert one_class.params is None and "all have one label" in one_class.message
