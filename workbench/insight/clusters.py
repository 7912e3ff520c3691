"""Embedding clusters of a project: which cluster each item is in, and what each cluster holds.

The clusters are those of the stored embedding map (``workbench.insight.map``), so the Data map's
colours, its cluster table and the Review queue's cluster filter all agree.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.insight.map import map_path, read_clusters
from workbench.store.schema import Item


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
    active = session.scalars(select(Item.id).where(Item.project_id == project_id, Item.status == "active"))
    position = dict(zip(item_ids.tolist(), cluster.tolist()))
    return {item_id: position[item_id] for item_id in active if item_id in position}
