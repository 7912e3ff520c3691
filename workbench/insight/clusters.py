"""Embedding clusters of a project: which cluster each item is in, and what each cluster holds.

The clusters are those of the stored embedding map (``workbench.insight.map``), so the Data map's
colours, its cluster table and the Review queue's cluster filter all agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy.orm import Session

from workbench.insight.map import (
    NO_LABEL,
    active_positions,
    latest_predictions,
    load_map,
    map_path,
    read_clusters,
    snippets,
)
from workbench.samplers.clustering import subsample
from workbench.store.gold import gold_labels


def item_clusters(session: Session, project_id: int) -> dict[int, int]:
    """Cluster number of each of the project's active items on its stored map.

    Items dropped since the map was computed are left out, and so are items imported since
    (they join a cluster at the next map). Empty while no map has been computed for the project.

    Returns
    -------
    dict
        item id -> cluster number (0 = the largest cluster).
    """
    stored = read_clusters(map_path(project_id))
    if stored is None:
        return {}
    item_ids, cluster = stored
    active = active_positions(session, project_id, item_ids)
    return dict(zip(item_ids[active].tolist(), cluster[active].tolist()))


#: Texts per cluster fed to the term weighting (a random subset beyond), each cut to ``TERM_CHARS``.
TERM_TEXTS = 400
TERM_CHARS = 2_000
#: Words of two or more letters: numbers and ids would otherwise be "typical" of one cluster.
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"


@dataclass(frozen=True)
class ClusterSummary:
    """One cluster of the stored map, as the Data map's cluster table shows it.

    Attributes
    ----------
    cluster : int
    size : int
        Active items in it.
    n_labeled : int
        Of those, items with a gold label now.
    label_mix : list of (label, count)
        Their gold labels, most frequent first.
    n_scored : int
        Labeled items scored out of fold when the map was computed.
    n_errors : int
        Of those, items whose out-of-fold prediction differs from their gold label.
    uncertainty : float or None
        Mean ``1 - confidence`` of the latest round's predictions for its unlabeled items (the
        error rate expected on them if the scorer's confidence is calibrated); None without any.
    n_uncertain : int
        Unlabeled items that mean is over.
    top_terms : list of str
        Its most characteristic words (c-TF-IDF), most characteristic first.
    representatives : list of int
        Item ids nearest its center, nearest first.
    """

    cluster: int
    size: int
    n_labeled: int
    label_mix: list[tuple[str, int]]
    n_scored: int
    n_errors: int
    uncertainty: float | None
    n_uncertain: int
    top_terms: list[str]
    representatives: list[int]

    @property
    def labeled_share(self) -> float:
        return self.n_labeled / self.size if self.size else 0.0

    @property
    def error_rate(self) -> float | None:
        """Share of the scored labeled items the out-of-fold scorer disagrees with; None if none."""
        return self.n_errors / self.n_scored if self.n_scored else None


def top_terms(documents: list[str], n_terms: int) -> list[list[str]]:
    """c-TF-IDF: each document is one cluster's texts joined; a word weighs more the more often
    the cluster uses it (sublinear) and the fewer clusters do.

    Returns
    -------
    list of list of str
        Per document, up to ``n_terms`` words, heaviest first (ties alphabetical).
    """
    if not any(documents):
        return [[] for _ in documents]
    vectorizer = TfidfVectorizer(stop_words="english", token_pattern=WORD_PATTERN, sublinear_tf=True)
    try:
        weights = vectorizer.fit_transform(documents).toarray()
    except ValueError:  # only stop words or no words at all
        return [[] for _ in documents]
    vocabulary = vectorizer.get_feature_names_out()
    out = []
    for row in weights:
        order = np.lexsort((vocabulary, -row))[:n_terms]
        out.append([str(vocabulary[i]) for i in order if row[i] > 0])
    return out


def cluster_summaries(
    session: Session,
    project_id: int,
    *,
    n_terms: int = 8,
    n_representatives: int = 3,
    seed: int = 0,
    models_dir: Path | None = None,
) -> list[ClusterSummary] | None:
    """Every cluster of the project's stored map, largest first; None while no map exists.

    Dropped items count nowhere; the error estimate is the map's (computed with it), the rest is
    read now.
    """
    embedding_map = load_map(map_path(project_id, models_dir))
    if embedding_map is None:
        return None
    active = active_positions(session, project_id, embedding_map.item_ids)
    item_ids = embedding_map.item_ids[active]
    cluster = embedding_map.cluster[active]
    distance = embedding_map.distance[active]
    scored = embedding_map.oof[active] != NO_LABEL
    wrong = scored & (embedding_map.oof[active] != embedding_map.gold[active])
    gold = gold_labels(session, project_id, include_imported=True)
    labels = np.array([gold[i].label if i in gold else None for i in item_ids.tolist()], dtype=object)
    predictions = latest_predictions(session, project_id)
    if predictions is None:
        confidence = np.full(len(item_ids), np.nan, dtype=np.float32)
    else:
        confidence = predictions.lookup(item_ids)[1]
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(cluster == number) for number in range(embedding_map.info.n_clusters)]
    members = [rows for rows in members if len(rows)]
    nearest = [rows[np.argsort(distance[rows], kind="stable")[:n_representatives]] for rows in members]
    for_terms = [subsample(rows, TERM_TEXTS, rng) for rows in members]
    texts = snippets(session, item_ids[np.concatenate(for_terms)].tolist() if for_terms else [], TERM_CHARS)
    terms = top_terms(
        [" ".join(texts.get(i, "") for i in item_ids[rows].tolist()) for rows in for_terms], n_terms
    )
    summaries = []
    for rows, closest, words in zip(members, nearest, terms):
        labeled = rows[labels[rows] != None]  # noqa: E711  (elementwise on an object array)
        unlabeled = rows[(labels[rows] == None) & ~np.isnan(confidence[rows])]  # noqa: E711
        mix = Counter(labels[labeled].tolist()).most_common()
        summaries.append(ClusterSummary(
            cluster=int(cluster[rows[0]]),
            size=len(rows),
            n_labeled=len(labeled),
            label_mix=mix,
            n_scored=int(scored[rows].sum()),
            n_errors=int(wrong[rows].sum()),
            uncertainty=float(np.mean(1.0 - confidence[unlabeled])) if len(unlabeled) else None,
            n_uncertain=len(unlabeled),
            top_terms=words,
            representatives=item_ids[closest].tolist(),
        ))
    return summaries
