"""The contract every registered sampler keeps; a newly registered sampler is tested here too."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.samplers import EmptyPoolError, SamplerContext, UnknownSamplerError, get_sampler, sampler_names

ALL = sampler_names()


def _context(pool) -> SamplerContext:
    rng = np.random.default_rng(2)
    oof_error = np.full(len(pool.labels), np.nan, dtype=np.float32)
    oof_error[pool.labeled_mask] = rng.integers(0, 2, int(pool.labeled_mask.sum()))
    source = np.array(["forum", "mail", None], dtype=object)[rng.integers(0, 3, len(pool.labels))]
    return SamplerContext(oof_error=oof_error, slices={"source": source})


@pytest.fixture(params=["with probas", "cold start"])
def probas(request, pool):
    return pool.probas if request.param == "with probas" else None


@pytest.mark.parametrize("name", ALL)
def test_selects_exactly_k_unique_unlabeled_items(name, pool, probas):
    selection = get_sampler(name)(
        probas, pool.embeddings, pool.labeled_mask, 25, rng=np.random.default_rng(0), context=_context(pool)
    )
    assert len(selection.indices) == 25
    assert len(np.unique(selection.indices)) == 25
    assert not pool.labeled_mask[selection.indices].any()
    assert len(selection.scores) == len(selection.reasons) == len(selection.samplers) == 25
    assert all(reason.strip() for reason in selection.reasons)
    assert set(selection.samplers) <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_selection(name, pool, probas):
    def run(seed: int):
        return get_sampler(name)(
            probas, pool.embeddings, pool.labeled_mask, 12, rng=np.random.default_rng(seed), context=_context(pool)
        )

    first, again = run(7), run(7)
    np.testing.assert_array_equal(first.indices, again.indices)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert first.reasons == again.reasons


@pytest.mark.parametrize("name", ALL)
def test_works_without_context(name, pool, probas):
    selection = get_sampler(name)(probas, pool.embeddings, pool.labeled_mask, 5, rng=np.random.default_rng(0))
    assert len(np.unique(selection.indices)) == 5


@pytest.mark.parametrize("name", ALL)
def test_empty_pool_raises(name, pool, probas):
    everything_labeled = np.ones(len(pool.labels), dtype=bool)
    with pytest.raises(EmptyPoolError, match="no unlabeled item"):
        get_sampler(name)(probas, pool.embeddings, everything_labeled, 3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("name", ALL)
def test_k_beyond_the_pool_selects_every_unlabeled_item(name, pool, probas):
    mask = np.ones(len(pool.labels), dtype=bool)
    mask[[3, 70, 150, 200]] = False
    selection = get_sampler(name)(probas, pool.embeddings, mask, 10, rng=np.random.default_rng(0))
    assert sorted(selection.indices.tolist()) == [3, 70, 150, 200]


@pytest.mark.parametrize("name", ALL)
def test_rejects_a_mask_of_the_wrong_shape(name, pool):
    with pytest.raises(ValueError, match="labeled_mask"):
        get_sampler(name)(pool.probas, pool.embeddings, pool.labeled_mask[:-1], 3, rng=np.random.default_rng(0))


def test_unknown_sampler_names_the_registered_ones():
    with pytest.raises(UnknownSamplerError, match="choose one of: .*margin"):
        get_sampler("magin")
