"""Clusters of the stored embedding map: each item's cluster, and what each cluster holds."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from sqlalchemy import select

from map_seed import TOPICS, seed_topic_project
from workbench.insight.clusters import cluster_summaries, item_clusters
from workbench.insight.map import build_map, load_map, map_path
from workbench.store.engine import Database
from workbench.store.schema import Item, Prediction, Round, utcnow


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def _topics(db: Database, project_id: int) -> dict[int, str]:
    """Topic of each active item."""
    with db.read() as session:
        rows = session.execute(select(Item.id, Item.meta).where(Item.project_id == project_id, Item.status == "active"))
        return {item_id: meta["topic"] for item_id, meta in rows}


def test_item_clusters_is_empty_until_a_map_exists_then_groups_the_topics(db: Database) -> None:
    project_id = seed_topic_project(db)
    with db.read() as session:
        assert item_clusters(session, project_id) == {}
    build_map(db, project_id)
    with db.read() as session:
        clusters = item_clusters(session, project_id)
    topics = _topics(db, project_id)
    assert set(clusters) == set(topics)
    topics_of_cluster = defaultdict(set)
    for item_id, cluster in clusters.items():
        topics_of_cluster[cluster].add(topics[item_id])
    assert all(len(found) == 1 for found in topics_of_cluster.values())  # no cluster mixes topics
    assert sorted(set(clusters.values())) == list(range(len(topics_of_cluster)))


def test_item_clusters_leaves_out_items_dropped_since_the_map(db: Database) -> None:
    project_id = seed_topic_project(db)
    build_map(db, project_id)
    with db.write() as session:
        dropped = session.scalars(select(Item).where(Item.project_id == project_id).limit(1)).one()
        dropped.status = "dropped"
    with db.read() as session:
        clusters = item_clusters(session, project_id)
    assert dropped.id not in clusters and set(clusters) == set(_topics(db, project_id))


def _cluster_members(db: Database, project_id: int) -> dict[int, list[int]]:
    with db.read() as session:
        clusters = item_clusters(session, project_id)
    members = defaultdict(list)
    for item_id, cluster in sorted(clusters.items()):
        members[cluster].append(item_id)
    return members


def test_each_clusters_top_terms_are_its_topics_words(db: Database) -> None:
    project_id = seed_topic_project(db)
    build_map(db, project_id)
    topics = _topics(db, project_id)
    with db.read() as session:
        summaries = cluster_summaries(session, project_id, n_terms=4)
    assert [s.cluster for s in summaries] == list(range(len(summaries)))
    assert [s.size for s in summaries] == sorted((s.size for s in summaries), reverse=True)
    assert sum(s.size for s in summaries) == 150
    for summary in summaries:
        members = _cluster_members(db, project_id)[summary.cluster]
        words = set(TOPICS[topics[members[0]]].split())
        assert len(summary.top_terms) == 4 and set(summary.top_terms) <= words, summary.top_terms


def test_error_rate_is_the_share_of_labeled_items_the_out_of_fold_scorer_disagrees_with(db: Database) -> None:
    project_id = seed_topic_project(db, label_every=2, flip=3)  # 3 "card" items imported as "weather"
    build_map(db, project_id)
    with db.read() as session:
        summaries = {s.cluster: s for s in cluster_summaries(session, project_id)}
        meta = dict(session.execute(select(Item.id, Item.meta)).all())
        labels = dict(session.execute(select(Item.id, Item.imported_label)).all())
    total_errors = 0
    for cluster, members in _cluster_members(db, project_id).items():
        labeled = [i for i in members if labels[i] is not None]
        flipped = [i for i in labeled if meta[i]["flipped"]]
        summary = summaries[cluster]
        # By hand: the scorer learns the topics, so exactly the flipped labels disagree with it.
        assert (summary.n_labeled, summary.n_scored, summary.n_errors) == (len(labeled), len(labeled), len(flipped))
        assert summary.error_rate == pytest.approx(len(flipped) / len(labeled))
        assert summary.labeled_share == pytest.approx(len(labeled) / len(members))
        assert dict(summary.label_mix) == dict(Counter(labels[i] for i in labeled))
        total_errors += summary.n_errors
    assert total_errors == 3


def test_unlabeled_uncertainty_is_one_minus_the_latest_rounds_mean_confidence(db: Database) -> None:
    project_id = seed_topic_project(db, label_every=2)
    build_map(db, project_id)
    members = _cluster_members(db, project_id)
    with db.read() as session:
        labels = dict(session.execute(select(Item.id, Item.imported_label)).all())
    confidence = {item_id: 0.3 + 0.6 * (item_id % 5) / 4 for item_id in labels}
    with db.write() as session:
        stale = Round(project_id=project_id, number=1, classes=["card"], finished_at=utcnow())
        latest = Round(project_id=project_id, number=2, classes=["card"], finished_at=utcnow())
        session.add_all([stale, latest])
        session.flush()
        for item_id, value in confidence.items():
            session.add(Prediction(round_id=latest.id, item_id=item_id, predicted_label="card", confidence=value,
                                   probabilities=b""))
            session.add(Prediction(round_id=stale.id, item_id=item_id, predicted_label="card", confidence=0.0,
                                   probabilities=b""))
    with db.read() as session:
        summaries = cluster_summaries(session, project_id)
    for summary in summaries:
        unlabeled = [i for i in members[summary.cluster] if labels[i] is None]
        assert summary.n_uncertain == len(unlabeled)
        expected = sum(1 - confidence[i] for i in unlabeled) / len(unlabeled) if unlabeled else None
        assert summary.uncertainty == pytest.approx(expected)


def test_representatives_are_the_items_nearest_the_center(db: Database) -> None:
    project_id = seed_topic_project(db)
    build_map(db, project_id)
    stored = load_map(map_path(project_id))
    with db.read() as session:
        summaries = cluster_summaries(session, project_id, n_representatives=3)
    for summary in summaries:
        rows = np.flatnonzero(stored.cluster == summary.cluster)
        by_distance = stored.item_ids[rows[np.argsort(stored.distance[rows], kind="stable")]]
        assert summary.representatives == by_distance[: min(3, len(rows))].tolist()
        assert summary.uncertainty is None and summary.error_rate is None  # no round, no labels


def test_no_summaries_before_the_first_map(db: Database) -> None:
    project_id = seed_topic_project(db)
    with db.read() as session:
        assert cluster_summaries(session, project_id) is None
