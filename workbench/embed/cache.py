"""The ``embeddings`` table: float32 vectors keyed by (model, content hash), shared by all projects.

Storage functions: they take a Session and never commit; the caller owns the transaction. Every
row is complete on its own, so a cache that a killed run filled halfway is still valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workbench.store.schema import Embedding, Item

#: Vectors are stored as little-endian float32 bytes, ``dim`` values each.
VECTOR_DTYPE = np.dtype("<f4")
#: Hashes per ``IN (...)`` lookup: far below every database's limit on bound parameters.
LOOKUP_CHUNK = 1000
#: Rows fetched at a time when loading a project's vectors.
LOAD_CHUNK = 5000


def read_vectors(session: Session, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """Cached vectors of ``model`` for those of ``hashes`` that have one.

    Returns
    -------
    dict
        content hash -> np.ndarray, shape (dim,), float32 (read-only views of the stored bytes).
    """
    wanted = list(hashes)
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        rows = session.execute(
            select(Embedding.content_hash, Embedding.vector).where(
                Embedding.model == model,
                Embedding.content_hash.in_(wanted[start : start + LOOKUP_CHUNK]),
            )
        )
        for content_hash, vector in rows:
            found[content_hash] = np.frombuffer(vector, dtype=VECTOR_DTYPE)
    return found


def _insert_sqlite(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(sqlite.insert(Embedding).on_conflict_do_nothing(), rows)


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(postgresql.insert(Embedding).on_conflict_do_nothing(), rows)


def _insert_portable(session: Session, rows: list[dict[str, Any]]) -> None:
    stored = set(read_vectors(session, rows[0]["model"], (row["content_hash"] for row in rows)))
    new = [row for row in rows if row["content_hash"] not in stored]
    if new:
        session.execute(insert(Embedding), new)


# Another process may cache the same text meanwhile (the worker and a CLI run, two projects):
# an existing row is kept, never an error. SQLite and PostgreSQL skip it atomically.
_INSERT_NEW: dict[str, Callable[[Session, list[dict[str, Any]]], None]] = {
    "sqlite": _insert_sqlite,
    "postgresql": _insert_postgresql,
}


def store_vectors(session: Session, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
    """Cache ``vectors[i]`` as the embedding of ``hashes[i]`` under ``model``; existing rows are kept.

    Parameters
    ----------
    hashes : sequence of str, length n
        Distinct content hashes.
    vectors : np.ndarray, shape (n, dim)
    """
    if len(hashes) != len(vectors):
        raise ValueError(f"{len(hashes)} hashes but {len(vectors)} vectors")
    if not len(hashes):
        return
    data = np.ascontiguousarray(vectors, dtype=VECTOR_DTYPE)
    dim = data.shape[1]
    rows = [
        {"model": model, "content_hash": h, "dim": dim, "vector": data[i].tobytes()}
        for i, h in enumerate(hashes)
    ]
    _INSERT_NEW.get(session.get_bind().dialect.name, _insert_portable)(session, rows)


def _has_vector(model: str):
    return and_(Embedding.model == model, Embedding.content_hash == Item.content_hash)


def _active(project_id: int):
    return and_(Item.project_id == project_id, Item.status == "active")


def count_active_items(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Item).where(_active(project_id))) or 0


def unembedded_items(session: Session, project_id: int, model: str) -> list[tuple[int, int]]:
    """Active items of the project with no cached vector for ``model``.

    Returns
    -------
    list of (item id, length of its text in characters)
        Lengths let the caller sort by length without holding every text in memory.
    """
    rows = session.execute(
        select(Item.id, func.length(Item.text))
        .outerjoin(Embedding, _has_vector(model))
        .where(_active(project_id), Embedding.content_hash.is_(None))
    )
    return [(item_id, length) for item_id, length in rows]


def item_texts(session: Session, item_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """``(id, text, content_hash)`` of the given items in the order of ``item_ids``; missing ids left out."""
    by_id = {
        row[0]: (row[0], row[1], row[2])
        for row in session.execute(
            select(Item.id, Item.text, Item.content_hash).where(Item.id.in_(item_ids))
        )
    }
    return [by_id[item_id] for item_id in item_ids if item_id in by_id]


def load_embeddings(session: Session, project_id: int, model: str) -> tuple[np.ndarray, np.ndarray]:
    """The cached vectors of a project's active items, in item-id order.

    Items without a vector for ``model`` yet (not embedded) are left out; ``item_ids`` says which
    items the rows belong to.

    Returns
    -------
    item_ids : np.ndarray, shape (n,), int64
    vectors : np.ndarray, shape (n, dim), float32
        ``dim`` is 0 when no item has a vector.

    Raises
    ------
    ValueError
        If the vectors cached under ``model`` differ in length (the model behind the name changed).
    """
    embedded = select(Item.id).join(Embedding, _has_vector(model)).where(_active(project_id))
    # The ids first, sorted here: an ORDER BY would make the database sort the vector bytes too.
    item_ids = np.sort(np.fromiter(session.scalars(embedded), dtype=np.int64))
    if not len(item_ids):
        return item_ids, np.empty((0, 0), dtype=np.float32)
    rows = session.connection().execute(
        embedded.add_columns(Embedding.dim, Embedding.vector), execution_options={"yield_per": LOAD_CHUNK}
    )
    vectors: np.ndarray | None = None
    seen = np.zeros(len(item_ids), dtype=bool)
    for part in rows.partitions():
        ids, dims, blobs = zip(*part)
        if vectors is None:
            vectors = np.empty((len(item_ids), dims[0]), dtype=np.float32)
        if set(dims) != {vectors.shape[1]}:
            raise ValueError(
                f"cached embeddings of model {model!r} have different lengths "
                f"({', '.join(map(str, sorted(set(dims) | {vectors.shape[1]})))}): the model behind "
                "this name changed; give the new model a new name (or path) and embed again"
            )
        # PostgreSQL reads each statement afresh: skip items embedded since the ids were read.
        at = np.searchsorted(item_ids, ids)
        known = item_ids[np.minimum(at, len(item_ids) - 1)] == ids
        block = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE).reshape(len(ids), -1)
        vectors[at[known]] = block[known]
        seen[at[known]] = True
    if vectors is None:  # every item dropped since the ids were read
        return item_ids[:0], np.empty((0, 0), dtype=np.float32)
    if not seen.all():  # some dropped since the ids were read
        return item_ids[seen], vectors[seen]
    return item_ids, vectors
