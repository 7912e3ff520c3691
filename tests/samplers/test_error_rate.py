"""error_rate draws from the regions where out-of-fold predictions were wrong."""

from __future__ import annotations

import numpy as np

from tests.samplers.pools import make_blobs
from workbench.samplers import SamplerContext, get_sampler, pool_errors

N_PER_BLOB = 60


def _pool_with_errors_in_blob(bad_blob: int):
    """4 blobs, 20 labels each; the labels of ``bad_blob`` are mostly predicted wrong."""
    embeddings, blob = make_blobs(n_per_blob=N_PER_BLOB, n_blobs=4, dim=16, seed=11)
    labeled = (np.arange(len(blob)) % N_PER_BLOB) < 20
    oof_error = np.full(len(blob), np.nan, dtype=np.float32)
    oof_error[labeled] = 0.0
    oof_error[labeled & (blob == bad_blob)] = np.resize([1.0, 1.0, 1.0, 0.0], 20)
    probas = np.random.default_rng(0).dirichlet(np.ones(3), size=len(blob)).astype(np.float32)
    return embeddings, blob, labeled, oof_error, probas


def test_most_picks_come_from_the_region_with_errors():
    embeddings, blob, labeled, oof_error, probas = _pool_with_errors_in_blob(bad_blob=2)
    selection = get_sampler("error_rate")(
        probas, embeddings, labeled, 20, rng=np.random.default_rng(0), context=SamplerContext(oof_error=oof_error)
    )
    picked_blobs = blob[selection.indices]
    # Picks go in proportion to expected errors: ~0.7 in blob 2 against ~0.1 elsewhere.
    assert (picked_blobs == 2).sum() >= 12
    assert blob[selection.indices[0]] == 2
    assert selection.reasons[0].startswith("est. error 0.")
    assert float(selection.reasons[0].split()[2]) > 0.5


def test_within_a_region_the_most_uncertain_come_first():
    embeddings, blob, labeled, oof_error, probas = _pool_with_errors_in_blob(bad_blob=1)
    selection = get_sampler("error_rate")(
        probas, embeddings, labeled, 5, rng=np.random.default_rng(0), context=SamplerContext(oof_error=oof_error)
    )
    top_two = np.sort(probas, axis=1)[:, -2:]
    margin = top_two[:, 1] - top_two[:, 0]
    candidates = np.flatnonzero((blob == 1) & ~labeled)
    assert set(selection.indices) == set(candidates[np.argsort(margin[candidates])[:5]])


def test_a_metadata_slice_with_errors_attracts_picks():
    embeddings, blob = make_blobs(n_per_blob=100, n_blobs=1, dim=8, seed=12)  # one region in embedding space
    source = np.where(np.arange(100) % 2 == 0, "forum", "mail")
    labeled = np.arange(100) < 40
    oof_error = np.full(100, np.nan, dtype=np.float32)
    oof_error[labeled] = (source[labeled] == "forum").astype(np.float32)  # every forum label wrong
    probas = np.full((100, 2), 0.5, dtype=np.float32)
    selection = get_sampler("error_rate")(
        probas,
        embeddings,
        labeled,
        10,
        rng=np.random.default_rng(0),
        context=SamplerContext(oof_error=oof_error, slices={"source": source}),
    )
    # Estimated error = mean of the cluster's (about 0.5) and the slice's (forum ~0.95, mail ~0.05).
    assert (source[selection.indices] == "forum").sum() >= 7
    assert "source=forum 20/20 wrong" in selection.reasons[0]


def test_pool_errors_marks_wrong_out_of_fold_predictions():
    oof = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    errors = pool_errors(5, np.array([0, 2, 4]), oof, np.array(["ham", "spam"]), np.array(["ham", "ham", "spam"]))
    np.testing.assert_array_equal(errors, [0.0, np.nan, 1.0, np.nan, 1.0])


def test_without_out_of_fold_errors_it_falls_back_to_margin():
    embeddings, blob, labeled, _, probas = _pool_with_errors_in_blob(bad_blob=0)
    selection = get_sampler("error_rate")(probas, embeddings, labeled, 4, rng=np.random.default_rng(0))
    assert set(selection.samplers) == {"margin"}
