"""The embedding map: k-means clusters and a 2-D projection of a project's pool, stored as one file.

The ``map`` job (``workbench/tasks.py``) computes it in the worker after every round and when the
lead asks; the Data map page and the cluster table only read the file. It lives at
``<models dir>/project-<id>/map.npz`` and is written under a temporary name and renamed, so a
killed job leaves the previous map in place and a reader never sees half a file.

Clusters: k-means with ``k = round(sqrt(n / 2))``, at least 2 and at most 50 (the rule of thumb
``sqrt(n/2)``; beyond 50 a table of clusters stops being readable). The centers are fitted on at
most ``FIT_LIMIT`` items and every item then goes to its nearest center, so the cost does not grow
with the pool beyond one matrix product. Clusters are numbered by size, 0 the largest.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from workbench.config import Settings
from workbench.embed import load_embeddings
from workbench.samplers.clustering import kmeans, nearest_center, subsample
from workbench.store.engine import Database
from workbench.store.schema import Project, Round, utcnow

MAP_JOB = "map"
MAP_FILE = "map.npz"
MAX_CLUSTERS = 50
MIN_CLUSTERS = 2
#: Most items the k-means centers are fitted on; 20,000 fit in ~3 s on one core at k = 50.
FIT_LIMIT = 20_000
#: Format of the stored file; a reader refuses other versions (they are recomputed).
MAP_FORMAT = 1

Projection = Callable[[np.ndarray, np.random.Generator], np.ndarray]
PROJECTIONS: dict[str, Projection] = {}
DEFAULT_PROJECTION = "pca"


def projection(name: str) -> Callable[[Projection], Projection]:
    """Register ``fn(vectors (n, d) float32, rng) -> (n, 2) float32`` as 2-D projection ``name``."""

    def register(fn: Projection) -> Projection:
        PROJECTIONS[name] = fn
        return fn

    return register


@projection("pca")
def pca_projection(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The two principal components: linear, a second on 100,000 items, stable across rounds."""
    from sklearn.decomposition import PCA

    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    model = PCA(n_components=2, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1)))
    with threadpool_limits(limits=1):
        points = model.fit_transform(vectors)
    if points.shape[1] < 2:  # one feature (d = 1): a flat second axis
        points = np.column_stack([points, np.zeros(len(points))])
    return points.astype(np.float32)


@dataclass(frozen=True)
class MapInfo:
    """What a stored map was computed from.

    Attributes
    ----------
    model : str
        Embedding model of the vectors.
    n_items : int
        Items on the map (the project's embedded active items at the time).
    n_clusters : int
    projection : str
        Registered projection name.
    round : int or None
        Number of the project's latest round when the map was computed (None before the first).
    computed_at : str
        ISO-8601 UTC time the computation finished.
    seconds : float
        Computation time (clusters + projection), reading excluded.
    """

    model: str
    n_items: int
    n_clusters: int
    projection: str
    round: int | None
    computed_at: str
    seconds: float


@dataclass(frozen=True)
class EmbeddingMap:
    """A project's map: one row per item, ascending item id.

    Attributes
    ----------
    item_ids : np.ndarray, shape (n,), int64
    xy : np.ndarray, shape (n, 2), float32
        Projected coordinates.
    cluster : np.ndarray, shape (n,), int32
        Cluster number, 0 the largest cluster.
    distance : np.ndarray, shape (n,), float32
        Squared distance of each item to its cluster's center.
    centers : np.ndarray, shape (n_clusters, d), float32
    info : MapInfo
    """

    item_ids: np.ndarray
    xy: np.ndarray
    cluster: np.ndarray
    distance: np.ndarray
    centers: np.ndarray
    info: MapInfo


def choose_n_clusters(n_items: int) -> int:
    """``round(sqrt(n / 2))`` clipped to [2, 50], and never more clusters than items."""
    k = min(MAX_CLUSTERS, max(MIN_CLUSTERS, round(math.sqrt(n_items / 2))))
    return max(1, min(k, n_items))


def _relabel_by_size(assignments: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber clusters by size (0 = largest) and drop empty ones (duplicates leave some)."""
    sizes = np.bincount(assignments, minlength=len(centers))
    order = np.lexsort((np.arange(len(sizes)), -sizes))  # largest first, ties by old number
    order = order[sizes[order] > 0]
    new_number = np.full(len(centers), -1, dtype=np.int64)
    new_number[order] = np.arange(len(order))
    return new_number[assignments].astype(np.int32), centers[order]


def compute_map(
    item_ids: np.ndarray,
    vectors: np.ndarray,
    *,
    model: str,
    round_number: int | None = None,
    n_clusters: int | None = None,
    projection_name: str = DEFAULT_PROJECTION,
    seed: int = 0,
) -> EmbeddingMap:
    """Cluster and project the vectors.

    Parameters
    ----------
    item_ids : np.ndarray, shape (n,), int64
        Ascending, as ``load_embeddings`` returns them.
    vectors : np.ndarray, shape (n, d), float32
    model, round_number
        Recorded in ``info``.
    n_clusters : int, optional
        Default: ``choose_n_clusters(n)``.
    projection_name : str
        A key of ``PROJECTIONS``.
    seed : int
        The same seed and vectors give the same map.

    Raises
    ------
    ValueError
        If there are no vectors or the projection is unknown.
    """
    if not len(item_ids):
        raise ValueError("no embedded items to map: embed the project first")
    if projection_name not in PROJECTIONS:
        raise ValueError(f"unknown projection {projection_name!r}; choose one of {sorted(PROJECTIONS)}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    k = n_clusters or choose_n_clusters(len(item_ids))
    rows = np.arange(len(item_ids))
    fitted = kmeans(vectors, subsample(rows, FIT_LIMIT, rng), k, rng)
    assignments = nearest_center(vectors, fitted.centers, rows)
    cluster, centers = _relabel_by_size(assignments, fitted.centers)
    distance = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), 65_536):  # chunks: never an (n, d) temporary on a big pool
        part = slice(start, start + 65_536)
        distance[part] = np.sum((vectors[part] - centers[cluster[part]]) ** 2, axis=1)
    xy = PROJECTIONS[projection_name](vectors, rng)
    info = MapInfo(
        model=model,
        n_items=int(len(item_ids)),
        n_clusters=int(len(centers)),
        projection=projection_name,
        round=round_number,
        computed_at=utcnow().isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 3),
    )
    return EmbeddingMap(np.asarray(item_ids, dtype=np.int64), xy, cluster, distance, centers, info)


def map_path(project_id: int, models_dir: Path | None = None) -> Path:
    """Where the project's map is stored (``WORKBENCH_MODELS_DIR`` unless ``models_dir`` is given)."""
    return (models_dir or Settings.from_env().models_dir) / f"project-{project_id}" / MAP_FILE


def save_map(embedding_map: EmbeddingMap, path: Path) -> Path:
    """Write the map to ``path`` atomically (temporary file, then rename); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            np.savez(
                out,
                format=np.array(MAP_FORMAT),
                info=np.array(json.dumps(asdict(embedding_map.info))),
                item_ids=embedding_map.item_ids,
                xy=embedding_map.xy,
                cluster=embedding_map.cluster,
                distance=embedding_map.distance,
                centers=embedding_map.centers,
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _read(path: Path, names: tuple[str, ...]) -> dict[str, Any] | None:
    """The named arrays of a stored map, or None if there is none (or it has another format)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["format"]) != MAP_FORMAT:
                return None
            return {name: stored[name] for name in names}
    except FileNotFoundError:
        return None


def read_clusters(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(item_ids, cluster)`` of a stored map without reading the rest; None if there is no map."""
    arrays = _read(path, ("item_ids", "cluster"))
    return None if arrays is None else (arrays["item_ids"], arrays["cluster"])


def load_map(path: Path) -> EmbeddingMap | None:
    """The stored map at ``path``, or None if none has been computed (or its format is outdated)."""
    arrays = _read(path, ("info", "item_ids", "xy", "cluster", "distance", "centers"))
    if arrays is None:
        return None
    info = MapInfo(**json.loads(str(arrays.pop("info"))))
    return EmbeddingMap(info=info, **arrays)


def latest_round_number(session: Session, project_id: int) -> int | None:
    return session.scalar(select(func.max(Round.number)).where(Round.project_id == project_id))


def build_map(
    db: Database,
    project_id: int,
    *,
    models_dir: Path | None = None,
    n_clusters: int | None = None,
    projection_name: str = DEFAULT_PROJECTION,
    progress: Callable[[float], None] | None = None,
) -> MapInfo:
    """Read the project's embeddings, compute its map and store it (the ``map`` job's work).

    Raises
    ------
    ValueError
        If no item of the project is embedded yet.
    """
    report = progress or (lambda fraction: None)
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise ValueError(f"no project with id {project_id}")
        item_ids, vectors = load_embeddings(session, project_id, project.embedding_model)
        round_number = latest_round_number(session, project_id)
        model, seed = project.embedding_model, int((project.settings or {}).get("seed", 0))
    report(0.2)
    embedding_map = compute_map(
        item_ids, vectors, model=model, round_number=round_number, n_clusters=n_clusters,
        projection_name=projection_name, seed=seed,
    )
    report(0.9)
    save_map(embedding_map, map_path(project_id, models_dir))
    report(1.0)
    return embedding_map.info
