"""``diversity``: representatives of the embedding regions that labels do not cover yet.

k-means of the unlabeled items into ``k`` clusters plus one per label, at most ``2k``. A
cluster's coverage gap is its number of unlabeled items divided by one plus its labels; the
``k`` clusters with the largest gap give their member nearest the center (a second member of a
cluster only when there are fewer clusters than picks). With no labels at all this is the cold
start: one representative of each of ``k`` clusters. It needs no probabilities.
"""

from __future__ import annotations

import numpy as np

from workbench.samplers.base import SamplerContext, Selection
from workbench.samplers.clustering import MAX_CLUSTERED, kmeans, nearest_center, subsample
from workbench.samplers.ranking import top_k
from workbench.samplers.registry import register



def _reason(cluster: int, n_clusters: int, n_labels: float, size: float) -> str:
    if n_labels == 0:
        return f"cluster {cluster} of {n_clusters} has no labels ({size:.0f} unlabeled items)"
    return f"cluster {cluster} of {n_clusters}: {n_labels:.0f} labels for {size:.0f} unlabeled items"


@register("diversity", diverse=True)
def diversity(
    probas: np.ndarray | None,
    embeddings: np.ndarray,
    labeled_mask: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    context: SamplerContext | None = None,
) -> Selection:
    """Items nearest the centers of the embedding clusters with the fewest labels per item."""
    all_unlabeled = np.flatnonzero(~labeled_mask)
    unlabeled = subsample(all_unlabeled, max(MAX_CLUSTERED, k), rng)
    labeled = np.flatnonzero(labeled_mask)
    # Up to twice as many clusters as picks, so well-labeled regions can be skipped; without
    # labels, exactly one cluster per pick.
    clustering = kmeans(embeddings, unlabeled, k + min(k, len(labeled)), rng)
    n_clusters = clustering.n_clusters
    counted = subsample(labeled, MAX_CLUSTERED, rng)
    # Counts in the subsamples, scaled back to the whole pool.
    sizes = np.bincount(clustering.assignments, minlength=n_clusters) * (len(all_unlabeled) / len(unlabeled))
    labels_per_cluster = np.bincount(
        nearest_center(embeddings, clustering.centers, counted), minlength=n_clusters
    ) * (len(labeled) / max(len(counted), 1))

    gap = sizes / (1.0 + labels_per_cluster)
    member_gap = gap[clustering.assignments]
    order = clustering.spread_order(member_gap, rng)[:k]
    clusters = clustering.assignments[order]
    reasons = tuple(
        _reason(int(c), n_clusters, float(labels_per_cluster[c]), float(sizes[c])) for c in clusters
    )
    return Selection(clustering.members[order], member_gap[order], reasons)
