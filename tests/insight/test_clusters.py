"""Clusters of the stored embedding map: each item's cluster, and what each cluster holds."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import select

from map_seed import seed_topic_project
from workbench.insight.clusters import item_clusters
from workbench.insight.map import build_map
from workbench.store.engine import Database
from workbench.store.schema import Item


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
