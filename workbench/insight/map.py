"""The embedding map: k-means clusters and a 2-D projection of a project's pool, stored as one file.

The ``map`` job (``workbench/tasks.py``) computes it in the worker after every round and when the
lead asks; the Data map page, the cluster table and the Review queue's cluster filter only read
the file. It lives at ``<models dir>/project-<id>/map.npz`` and is written under a temporary name
and renamed, so a killed job leaves the previous map in place and a reader never sees half a file.

Clusters: k-means with ``k = round(sqrt(n / 2))``, at least 2 and at most 50 (the rule of thumb
``sqrt(n/2)``; beyond 50 rows a cluster table stops being read). The centers are fitted on at most
``FIT_LIMIT`` items and every item then goes to its nearest center, so beyond that the cost grows
by one matrix product. Clusters are numbered by size, 0 the largest.

Projection: PCA (``DEFAULT_PROJECTION``). UMAP draws tighter islands but took 23 minutes on
100,000 items on a busy 2-core machine (144 s fitted on 10,000 and applied to all), PCA 0.6 s
(``benchmarks/data_map.py``, README).

Error estimate: the job also scores each labeled item out of fold (a scorer that never saw it,
five folds over at most ``OOF_LIMIT`` labeled items), because the latest round's predictions of
its own training items are nearly always right and would hide label errors.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from sklearn.decomposition import PCA
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from workbench.config import Settings
from workbench.embed import load_embeddings
from workbench.samplers.clustering import kmeans, nearest_center, subsample
from workbench.scorer import Scorer, out_of_fold_probas
from workbench.store import jobs
from workbench.store.engine import Database
from workbench.store.gold import gold_labels
from workbench.store.schema import Item, Job, NoiseFlag, Prediction, Project, Round, utcnow
from workbench.store.scored_rounds import latest_scored_round

MAP_JOB = "map"
MAP_FILE = "map.npz"
MAX_CLUSTERS = 50
MIN_CLUSTERS = 2
#: Most items the k-means centers are fitted on; 20,000 fit in ~3 s on one core at k = 50.
FIT_LIMIT = 20_000
#: Most labeled items scored out of fold for the clusters' error estimates (a random subset beyond).
OOF_LIMIT = 10_000
OOF_FOLDS = 5
#: Rows per chunk when projecting or measuring distances (16,384 x 384 floats: a 25 MB temporary).
CHUNK = 16_384
#: Format of the stored file; a reader treats another version as no map (the next job rewrites it).
MAP_FORMAT = 1
NO_LABEL = -1

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
    """The two principal components: linear, seconds on 100,000 items, stable across rounds.

    Fitted on at most ``FIT_LIMIT`` items and applied in chunks, so no copy of the whole pool
    is made (100,000 x 384 floats are 150 MB).
    """
    if len(vectors) < 2 or vectors.shape[1] < 2:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    model = PCA(n_components=2, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1)))
    out = np.empty((len(vectors), 2), dtype=np.float32)
    # One BLAS thread, as the samplers' k-means: two fight on 2 cores. Identical vectors have no
    # variance to explain: every point lands on the origin, without a divide-by-zero warning.
    with threadpool_limits(limits=1), np.errstate(invalid="ignore", divide="ignore"):
        model.fit(vectors[subsample(np.arange(len(vectors)), FIT_LIMIT, rng)])
        for start in range(0, len(vectors), CHUNK):
            out[start : start + CHUNK] = model.transform(vectors[start : start + CHUNK])
    return out


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
        Computation time (clusters, projection, out-of-fold scores), reading excluded.
    classes : list of str
        Label names the stored ``gold`` and ``oof`` codes index.
    n_labeled : int
        Items with a gold label at the time.
    n_scored : int
        Labeled items scored out of fold (at most ``OOF_LIMIT``; 0 with fewer than two classes).
    """

    model: str
    n_items: int
    n_clusters: int
    projection: str
    round: int | None
    computed_at: str
    seconds: float
    classes: list[str]
    n_labeled: int
    n_scored: int


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
    gold : np.ndarray, shape (n,), int32
        Gold label at the time, as an index into ``info.classes`` (``NO_LABEL`` = none).
    oof : np.ndarray, shape (n,), int32
        Out-of-fold predicted label of the scored labeled items (``NO_LABEL`` elsewhere).
    centers : np.ndarray, shape (n_clusters, d), float32
    info : MapInfo
    """

    item_ids: np.ndarray
    xy: np.ndarray
    cluster: np.ndarray
    distance: np.ndarray
    gold: np.ndarray
    oof: np.ndarray
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


def cluster_pool(
    vectors: np.ndarray, n_clusters: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means of the pool, centers fitted on at most ``FIT_LIMIT`` items.

    Returns
    -------
    cluster : np.ndarray, shape (n,), int32
        0 = the largest cluster.
    distance : np.ndarray, shape (n,), float32
        Squared distance to the item's center.
    centers : np.ndarray, shape (k, d), float32
    """
    rows = np.arange(len(vectors))
    fitted = kmeans(vectors, subsample(rows, FIT_LIMIT, rng), n_clusters, rng)
    cluster, centers = _relabel_by_size(nearest_center(vectors, fitted.centers, rows), fitted.centers)
    distance = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), CHUNK):
        part = slice(start, start + CHUNK)
        distance[part] = np.sum((vectors[part] - centers[cluster[part]]) ** 2, axis=1)
    return cluster, distance, centers


def out_of_fold_codes(vectors: np.ndarray, gold: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Out-of-fold predicted label codes of (at most ``OOF_LIMIT``) labeled items.

    Parameters
    ----------
    vectors : np.ndarray, shape (n, d), float32
    gold : np.ndarray, shape (n,), int32
        Label codes, ``NO_LABEL`` for unlabeled items.
    n_classes : int

    Returns
    -------
    np.ndarray, shape (n,), int32
        Predicted code of each scored item, ``NO_LABEL`` elsewhere and everywhere when fewer than
        two classes are labeled.
    """
    out = np.full(len(gold), NO_LABEL, dtype=np.int32)
    labeled = subsample(np.flatnonzero(gold != NO_LABEL), OOF_LIMIT, np.random.default_rng(seed))
    present = np.unique(gold[labeled])
    if len(present) < 2:
        return out
    probas = out_of_fold_probas(Scorer(), vectors[labeled], gold[labeled], n_folds=OOF_FOLDS, seed=seed)
    out[labeled] = present[probas.argmax(axis=1)]  # columns follow np.unique(y), i.e. ``present``
    return out


def compute_map(
    item_ids: np.ndarray,
    vectors: np.ndarray,
    *,
    model: str,
    gold: np.ndarray | None = None,
    classes: list[str] | None = None,
    round_number: int | None = None,
    n_clusters: int | None = None,
    projection_name: str = DEFAULT_PROJECTION,
    seed: int = 0,
) -> EmbeddingMap:
    """Cluster, project and score the pool out of fold.

    Parameters
    ----------
    item_ids : np.ndarray, shape (n,), int64
        Ascending, as ``load_embeddings`` returns them.
    vectors : np.ndarray, shape (n, d), float32
    model, round_number
        Recorded in ``info``.
    gold : np.ndarray, shape (n,), int32, optional
        Gold label codes into ``classes`` (``NO_LABEL`` = none); default: nothing labeled.
    classes : list of str, optional
    n_clusters : int, optional
        Default: ``choose_n_clusters(n)``.
    projection_name : str
        A key of ``PROJECTIONS``.
    seed : int
        The same seed and inputs give the same map.

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
    gold = np.full(len(item_ids), NO_LABEL, dtype=np.int32) if gold is None else gold.astype(np.int32)
    cluster, distance, centers = cluster_pool(vectors, n_clusters or choose_n_clusters(len(item_ids)), rng)
    xy = PROJECTIONS[projection_name](vectors, rng)
    oof = out_of_fold_codes(vectors, gold, len(classes or []), seed)
    info = MapInfo(
        model=model,
        n_items=int(len(item_ids)),
        n_clusters=int(len(centers)),
        projection=projection_name,
        round=round_number,
        computed_at=utcnow().isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 3),
        classes=list(classes or []),
        n_labeled=int((gold != NO_LABEL).sum()),
        n_scored=int((oof != NO_LABEL).sum()),
    )
    return EmbeddingMap(
        np.asarray(item_ids, dtype=np.int64), xy, cluster, distance, gold, oof, centers, info
    )


def map_path(project_id: int, models_dir: Path | None = None) -> Path:
    """Where the project's map is stored (``WORKBENCH_MODELS_DIR`` unless ``models_dir`` is given)."""
    return (models_dir or Settings.from_env().models_dir) / f"project-{project_id}" / MAP_FILE


ARRAYS = ("item_ids", "xy", "cluster", "distance", "gold", "oof", "centers")


def save_map(embedding_map: EmbeddingMap, path: Path) -> Path:
    """Write the map to ``path`` atomically (temporary file, then rename); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # What a worker killed mid-write left behind (one map job per project runs at a time).
    for stale in path.parent.glob(f"{path.name}.*.partial"):
        stale.unlink(missing_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            np.savez(
                out,
                format=np.array(MAP_FORMAT),
                info=np.array(json.dumps(asdict(embedding_map.info))),
                **{name: getattr(embedding_map, name) for name in ARRAYS},
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


def read_info(path: Path) -> MapInfo | None:
    """What the stored map was computed from, without its arrays; None if there is no map."""
    arrays = _read(path, ("info",))
    return None if arrays is None else MapInfo(**json.loads(str(arrays["info"])))


def load_map(path: Path) -> EmbeddingMap | None:
    """The stored map at ``path``, or None if none has been computed (or its format is outdated)."""
    arrays = _read(path, ("info", *ARRAYS))
    if arrays is None:
        return None
    info = MapInfo(**json.loads(str(arrays.pop("info"))))
    return EmbeddingMap(info=info, **arrays)


def latest_round_number(session: Session, project_id: int) -> int | None:
    return session.scalar(select(func.max(Round.number)).where(Round.project_id == project_id))


def gold_codes(session: Session, project_id: int, item_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Gold labels of ``item_ids`` as codes, imported labels included (where label errors hide).

    Returns
    -------
    codes : np.ndarray, shape (n,), int32
        Index into ``classes``, ``NO_LABEL`` for items without a gold label.
    classes : list of str
        Sorted label names.
    """
    gold = gold_labels(session, project_id, include_imported=True)
    classes = sorted({label.label for label in gold.values()})
    code_of = {name: code for code, name in enumerate(classes)}
    codes = np.array([code_of[gold[i].label] if i in gold else NO_LABEL for i in item_ids.tolist()],
                     dtype=np.int32)
    return codes, classes


def build_map(
    db: Database,
    project_id: int,
    *,
    models_dir: Path | None = None,
    n_clusters: int | None = None,
    projection_name: str = DEFAULT_PROJECTION,
    progress: Callable[[float], None] | None = None,
) -> MapInfo:
    """Read the project's embeddings and labels, compute its map and store it (the ``map`` job).

    Raises
    ------
    ValueError
        If the project does not exist or none of its items is embedded yet.
    """
    report = progress or (lambda fraction: None)
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise ValueError(f"no project with id {project_id}")
        item_ids, vectors = load_embeddings(session, project_id, project.embedding_model)
        gold, classes = gold_codes(session, project_id, item_ids)
        round_number = latest_round_number(session, project_id)
        model, seed = project.embedding_model, int((project.settings or {}).get("seed", 0))
    report(0.2)
    embedding_map = compute_map(
        item_ids, vectors, model=model, gold=gold, classes=classes, round_number=round_number,
        n_clusters=n_clusters, projection_name=projection_name, seed=seed,
    )
    report(0.9)
    save_map(embedding_map, map_path(project_id, models_dir))
    report(1.0)
    return embedding_map.info


def request_map(session: Session, project_id: int, *, user_id: int | None = None) -> Job:
    """Queue a map job for the project (or return the one already queued or running)."""
    return jobs.enqueue(session, MAP_JOB, project_id=project_id, created_by=user_id)


def latest_map_job(session: Session, project_id: int) -> Job | None:
    """The project's most recent map job, whatever its status."""
    return session.scalars(
        select(Job).where(Job.project_id == project_id, Job.kind == MAP_JOB).order_by(Job.id.desc()).limit(1)
    ).first()


def schedule_due_maps(session: Session, models_dir: Path | None = None) -> list[Job]:
    """Queue a map for every idle project whose latest round is newer than its map.

    A project with a job queued or running waits (a round about to finish would make the map
    stale at once), and a map job that failed since the latest round is not retried until the
    next round or a request: it would fail the same way.
    """
    busy = set(session.scalars(select(Job.project_id).where(Job.status.in_(jobs.ACTIVE))))
    latest = session.execute(
        select(Round.project_id, func.max(Round.number), func.max(Round.finished_at)).group_by(Round.project_id)
    ).all()
    queued = []
    for project_id, number, finished_at in latest:
        if project_id in busy:
            continue
        info = read_info(map_path(project_id, models_dir))
        if info is not None and info.round is not None and info.round >= number:
            continue
        last = latest_map_job(session, project_id)
        if last is not None and last.status == "failed" and (finished_at is None or last.finished_at >= finished_at):
            continue
        queued.append(request_map(session, project_id))
    return queued


# --- The page's data: the stored map joined with what each item is now ---------------------------

#: Most points drawn. WebGL draws 100,000 as fast as 20,000 (0.2 s), but with their hover texts
#: the figure sent to the browser grows from 4 MB to 20 MB (``benchmarks/data_map.py``).
MAX_POINTS = 20_000
#: Characters of an item's text shown on hover.
SNIPPET_CHARS = 160
#: Ids per ``IN (...)`` query.
ID_CHUNK = 1000
UNLABELED = "(unlabeled)"
NOT_PREDICTED = "(no prediction)"
NOT_FLAGGED = "none"


@dataclass(frozen=True)
class LatestPredictions:
    """The latest round's predictions of a project's items.

    Attributes
    ----------
    round : int
        Round number.
    item_ids : np.ndarray, shape (m,), int64, ascending
    predicted : np.ndarray, shape (m,), object
        Predicted label (str).
    confidence : np.ndarray, shape (m,), float32
        Probability of the predicted label; ``1 - confidence`` is the uncertainty shown.
    """

    round: int
    item_ids: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray

    def lookup(self, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(predicted, confidence)`` of ``item_ids``; ``NOT_PREDICTED`` and NaN where none."""
        at = np.minimum(np.searchsorted(self.item_ids, item_ids), max(len(self.item_ids) - 1, 0))
        found = self.item_ids[at] == item_ids if len(self.item_ids) else np.zeros(len(item_ids), dtype=bool)
        predicted = np.full(len(item_ids), NOT_PREDICTED, dtype=object)
        confidence = np.full(len(item_ids), np.nan, dtype=np.float32)
        predicted[found] = self.predicted[at[found]]
        confidence[found] = self.confidence[at[found]]
        return predicted, confidence


def latest_predictions(session: Session, project_id: int) -> LatestPredictions | None:
    """Predictions of the project's latest round that trained a scorer; None before any did."""
    latest = latest_scored_round(session, project_id)
    if latest is None:
        return None
    rows = session.execute(
        select(Prediction.item_id, Prediction.predicted_label, Prediction.confidence)
        .where(Prediction.round_id == latest[0]).order_by(Prediction.item_id)
    ).all()
    item_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    predicted = np.array([row[1] for row in rows], dtype=object)
    confidence = np.fromiter((row[2] for row in rows), dtype=np.float32, count=len(rows))
    return LatestPredictions(latest[1], item_ids, predicted, confidence)


def active_positions(session: Session, project_id: int, item_ids: np.ndarray) -> np.ndarray:
    """Positions into ``item_ids`` (a map's, ascending) of the items that are still active."""
    active = np.fromiter(
        session.scalars(select(Item.id).where(Item.project_id == project_id, Item.status == "active")),
        dtype=np.int64,
    )
    return np.flatnonzero(np.isin(item_ids, active))


def snippets(session: Session, item_ids: list[int], length: int = SNIPPET_CHARS) -> dict[int, str]:
    """The first ``length`` characters of each item's text (whitespace collapsed), by item id."""
    out: dict[int, str] = {}
    for start in range(0, len(item_ids), ID_CHUNK):
        rows = session.execute(
            select(Item.id, func.substr(Item.text, 1, length + 1))
            .where(Item.id.in_(item_ids[start : start + ID_CHUNK]))
        )
        for item_id, text in rows:
            flat = " ".join(text.split())
            out[item_id] = flat if len(flat) <= length else flat[: length - 1] + "…"
    return out


def open_flag_detectors(session: Session, project_id: int) -> dict[int, str]:
    """Item id -> the detectors of its open noise flags, sorted and joined with ' + '."""
    found: dict[int, set[str]] = {}
    rows = session.execute(
        select(NoiseFlag.item_id, NoiseFlag.detector)
        .where(NoiseFlag.project_id == project_id, NoiseFlag.status == "open")
    )
    for item_id, detector in rows:
        found.setdefault(item_id, set()).add(detector)
    return {item_id: " + ".join(sorted(detectors)) for item_id, detectors in found.items()}


def stratified_sample(cluster: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``limit`` positions, every cluster represented.

    Each cluster first keeps up to ``limit // (2 k)`` points (so a small cluster stays visible);
    the rest of the budget goes to the clusters with points left, in proportion to how many.

    Parameters
    ----------
    cluster : np.ndarray, shape (n,), int
    limit : int

    Returns
    -------
    np.ndarray, shape (min(n, limit),), int64, ascending (all of ``range(n)`` when n <= limit).
    """
    if len(cluster) <= limit:
        return np.arange(len(cluster))
    numbers, inverse, sizes = np.unique(cluster, return_inverse=True, return_counts=True)
    quotas = np.minimum(sizes, limit // (2 * len(numbers)))
    while (left := limit - int(quotas.sum())) > 0:
        room = sizes - quotas
        add = np.minimum(room, left * room // room.sum())
        if not add.any():  # a few points left: one each to the clusters with the most room
            add[np.argsort(-room, kind="stable")[:left]] = 1
        quotas += np.minimum(add, room)
    picked = [
        rng.choice(np.flatnonzero(inverse == index), quota, replace=False)
        for index, quota in enumerate(quotas)
    ]
    return np.sort(np.concatenate(picked))


def drawn_positions(
    cluster: np.ndarray, flagged: np.ndarray, limit: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Which points to draw: all when at most ``limit``, else the flagged ones first (up to a
    quarter of ``limit``, a random subset beyond: so the noise colouring shows where every flag
    is) and the rest ``stratified_sample``-d by cluster.

    Parameters
    ----------
    cluster : np.ndarray, shape (n,), int
    flagged : np.ndarray, shape (n,), bool
        Items with open noise flags.

    Returns
    -------
    positions : np.ndarray, shape (min(n, limit),), int64, ascending
    n_flagged : int
        Flagged positions drawn ahead of the sample (0 when every point is drawn).
    """
    if len(cluster) <= limit:
        return np.arange(len(cluster)), 0
    first = subsample(np.flatnonzero(flagged), limit // 4, rng)
    others = np.flatnonzero(~np.isin(np.arange(len(cluster)), first))
    rest = others[stratified_sample(cluster[others], limit - len(first), rng)]
    return np.sort(np.concatenate([first, rest])), len(first)


@dataclass(frozen=True)
class MapView:
    """What the Data map draws.

    Attributes
    ----------
    info : MapInfo
    n_items : int
        Items on the map that are still active.
    points : pandas.DataFrame
        The drawn points (all active items, or a sample stratified by cluster), one row each:
        ``item_id``, ``x``, ``y``, ``cluster`` (int), ``label`` (gold label now, or
        ``UNLABELED``), ``predicted`` (latest round's, or ``NOT_PREDICTED``), ``uncertainty``
        (``1 - confidence`` of the latest round's prediction, NaN without one), ``noise`` (open
        flags' detectors, or ``NOT_FLAGGED``) and ``snippet`` (start of the text).
    prediction_round : int or None
        Round the predictions come from.
    n_flagged : int
        Drawn items with open noise flags, when the points are a sample (they are drawn first).
    """

    info: MapInfo
    n_items: int
    points: pd.DataFrame
    prediction_round: int | None
    n_flagged: int = 0

    @property
    def n_shown(self) -> int:
        return len(self.points)


def map_view(
    session: Session, project_id: int, *, max_points: int = MAX_POINTS, seed: int = 0,
    models_dir: Path | None = None,
) -> MapView | None:
    """The project's stored map with each drawn point's current attributes; None without a map."""
    stored = _read(map_path(project_id, models_dir), ("info", "item_ids", "xy", "cluster"))
    if stored is None:
        return None
    info = MapInfo(**json.loads(str(stored["info"])))
    active = active_positions(session, project_id, stored["item_ids"])
    flags = open_flag_detectors(session, project_id)
    flagged = np.isin(stored["item_ids"][active], np.fromiter(flags, dtype=np.int64, count=len(flags)))
    picked, n_flagged = drawn_positions(stored["cluster"][active], flagged, max_points, np.random.default_rng(seed))
    shown = active[picked]
    item_ids = stored["item_ids"][shown]
    ids = item_ids.tolist()
    gold = gold_labels(session, project_id, include_imported=True)
    predictions = latest_predictions(session, project_id)
    if predictions is None:
        predicted = np.full(len(ids), NOT_PREDICTED, dtype=object)
        confidence = np.full(len(ids), np.nan, dtype=np.float32)
    else:
        predicted, confidence = predictions.lookup(item_ids)
    texts = snippets(session, ids)
    points = pd.DataFrame({
        "item_id": item_ids,
        "x": stored["xy"][shown, 0],
        "y": stored["xy"][shown, 1],
        "cluster": stored["cluster"][shown],
        "label": [gold[i].label if i in gold else UNLABELED for i in ids],
        "predicted": predicted,
        "uncertainty": 1.0 - confidence,
        "noise": [flags.get(i, NOT_FLAGGED) for i in ids],
        "snippet": [texts.get(i, "") for i in ids],
    })
    return MapView(info, int(len(active)), points, None if predictions is None else predictions.round, n_flagged)


# --- The chart ------------------------------------------------------------------------------------

#: What the points can be coloured by: column of ``MapView.points`` -> name shown.
COLOUR_BY = {
    "label": "Label",
    "predicted": "Predicted label",
    "uncertainty": "Uncertainty",
    "cluster": "Cluster",
    "noise": "Noise flag",
}
#: Categories drawn first, in grey, under the others.
BACKGROUND = {UNLABELED, NOT_PREDICTED, NOT_FLAGGED}
PALETTE = (*px.colors.qualitative.Dark24, *px.colors.qualitative.Light24, *px.colors.qualitative.Alphabet)
GREY = "#c8c8c8"


def _hover(points: pd.DataFrame) -> list[str]:
    """Hover text per point. Plotly reads a few HTML tags in hover text, so the sample's own text
    is escaped: ``<b>`` in a sample shows as ``<b>``, never as bold (or a link)."""
    return [
        f"item {item_id} · cluster {cluster}<br>label: {html.escape(label)} · predicted: "
        f"{html.escape(predicted)}<br>{html.escape(snippet)}"
        for item_id, cluster, label, predicted, snippet in zip(
            points["item_id"], points["cluster"], points["label"], points["predicted"], points["snippet"]
        )
    ]


def category_colours(points: pd.DataFrame, colour_by: str) -> dict[str, str]:
    """A colour per category that depends only on the set of names, not on their counts.

    Labels and predicted labels share one assignment, so a label keeps its colour when the lead
    switches between the two and from one round (or map) to the next; numbered categories
    (clusters) are ordered by number, not as text.
    """
    columns = ("label", "predicted") if colour_by in ("label", "predicted") else (colour_by,)
    names = {str(value) for column in columns for value in points[column].unique()} - BACKGROUND
    ordered = sorted(names, key=lambda name: (0, int(name), "") if name.isdigit() else (1, 0, name))
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(ordered)}


def _marker_size(n_points: int) -> int:
    return 4 if n_points > 5_000 else 6 if n_points > 500 else 9


def map_figure(view: MapView, colour_by: str) -> go.Figure:
    """A WebGL scatter of the map's points coloured by ``colour_by`` (a key of ``COLOUR_BY``).

    Each point's ``customdata`` is its item id, so a selected point names its item. Categories
    get a trace each (a legend entry that hides or shows them), the largest first; uncertainty is
    one trace on a colour scale.

    Raises
    ------
    ValueError
        For an unknown ``colour_by``.
    """
    if colour_by not in COLOUR_BY:
        raise ValueError(f"cannot colour by {colour_by!r}; choose one of {sorted(COLOUR_BY)}")
    points = view.points
    # Plain numpy arrays and one dict per trace: Plotly validates each trace once, and quickly
    # (Series and add_trace took 2.0 s instead of 0.6 s for 78 label traces of 20,000 points).
    x, y = points["x"].to_numpy(), points["y"].to_numpy()
    item_ids, hover = points["item_id"].to_numpy(), np.array(_hover(points), dtype=object)
    marker = {"size": _marker_size(len(points)), "opacity": 0.75}
    traces = []

    def add(rows: np.ndarray, name: str, **style: Any) -> None:
        traces.append({
            "type": "scattergl", "mode": "markers", "name": name, "x": x[rows], "y": y[rows],
            "customdata": item_ids[rows], "hovertext": hover[rows], "hovertemplate": "%{hovertext}<extra></extra>",
            "marker": {**marker, **style},
        })

    if colour_by == "uncertainty":
        uncertainty = points["uncertainty"].to_numpy()
        scored = ~np.isnan(uncertainty)
        if (~scored).any():
            add(np.flatnonzero(~scored), NOT_PREDICTED, color=GREY)
        if scored.any():
            add(np.flatnonzero(scored), "uncertainty", color=uncertainty[scored], colorscale="Viridis",
                cmin=0.0, cmax=1.0, colorbar={"title": {"text": "1 − confidence"}})
    else:
        values = points[colour_by].to_numpy()
        groups = {value: rows for value, rows in pd.Series(values).groupby(values, sort=False).indices.items()}
        ordered = sorted(groups, key=lambda value: (str(value) not in BACKGROUND, -len(groups[value]), str(value)))
        colour_of = category_colours(points, colour_by)
        for value in ordered:
            colour = colour_of.get(str(value), GREY)
            name = f"cluster {value}" if colour_by == "cluster" else str(value)
            add(groups[value], f"{name} ({len(groups[value]):,})", color=colour)
    figure = go.Figure(data=traces)
    figure.update_layout(
        height=620, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="pan", hovermode="closest",
        legend={"title": {"text": COLOUR_BY[colour_by]}, "itemsizing": "constant"},
        xaxis={"showticklabels": False, "title": None, "zeroline": False},
        yaxis={"showticklabels": False, "title": None, "zeroline": False},
    )
    return figure
