"""Diversity covers the regions without labels first; it is also the cold start."""

from __future__ import annotations

import numpy as np

from tests.samplers.pools import make_blobs
from workbench.samplers import get_sampler


def test_picks_come_from_the_unlabeled_blobs_first():
    embeddings, blob = make_blobs(n_per_blob=50, n_blobs=6, dim=24, seed=3)
    labeled = np.isin(blob, [0, 1, 2, 3]) & (np.arange(len(blob)) % 5 == 0)  # 10 labels in each of blobs 0-3
    selection = get_sampler("diversity")(None, embeddings, labeled, 2, rng=np.random.default_rng(0))
    assert sorted(blob[selection.indices].tolist()) == [4, 5]
    assert all("has no labels" in reason for reason in selection.reasons)


def test_cold_start_spreads_one_pick_over_each_blob():
    embeddings, blob = make_blobs(n_per_blob=40, n_blobs=5, dim=24, seed=4)
    selection = get_sampler("diversity")(None, embeddings, np.zeros(len(blob), bool), 5, rng=np.random.default_rng(1))
    assert sorted(blob[selection.indices].tolist()) == [0, 1, 2, 3, 4]


def test_representative_is_near_the_center_of_its_blob():
    embeddings, blob = make_blobs(n_per_blob=80, n_blobs=1, dim=8, seed=5, spread=0.3)
    selection = get_sampler("diversity")(None, embeddings, np.zeros(len(blob), bool), 1, rng=np.random.default_rng(0))
    center = embeddings.mean(axis=0)
    distances = np.linalg.norm(embeddings - center, axis=1)
    # Among the closest tenth of the blob (k-means centers of one cluster = the mean).
    assert distances[selection.indices[0]] <= np.quantile(distances, 0.1)


def test_a_pool_of_duplicates_still_gives_k_distinct_items():
    embeddings = np.tile(np.eye(3, dtype=np.float32), (10, 1))  # 3 distinct points, 10 copies each
    selection = get_sampler("diversity")(None, embeddings, np.zeros(30, bool), 6, rng=np.random.default_rng(0))
    assert len(np.unique(selection.indices)) == 6
