"""Embed what the cache lacks: texts on request, or every item of a project.

Nothing is embedded twice: texts are looked up by (model, content hash) first, and only the
missing distinct texts are encoded. All of them are sorted by length once and encoded in large
chunks, so batches stay evenly padded (sentence-transformers sorts only within one call). Each
chunk is committed on its own: a killed run keeps what it finished and a rerun resumes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.embed import cache
from workbench.embed.model import Embedder, Progress, TextEncoder
from workbench.store.engine import Database
from workbench.store.projects import get_project
from workbench.store.schema import Project
from workbench.text import content_hash, normalize_text

#: Texts encoded and committed together; also bounds the texts held in memory.
COMMIT_CHUNK = 2048


@dataclass(frozen=True)
class EmbedStats:
    """What ``embed_project`` did.

    Attributes
    ----------
    n_items : int
        Active items in the project.
    n_cached : int
        Of those, items whose vector was already cached.
    n_computed : int
        Vectors computed and stored by this run.
    seconds : float
        Wall-clock time of the run.
    """

    n_items: int
    n_cached: int
    n_computed: int
    seconds: float


def _encoder_for(model: str, embedder: TextEncoder | None) -> TextEncoder:
    if embedder is None:
        return Embedder(model)  # loads only when it first encodes
    if embedder.model_name != model:
        # Its vectors would be cached under the wrong model's name.
        raise ValueError(f"embedder is for model {embedder.model_name!r}, but {model!r} is asked for")
    return embedder


def _from(progress: Progress | None, done_before: int, total: int) -> Progress | None:
    """A chunk's progress callback that reports towards the whole run."""
    if progress is None:
        return None
    return lambda done, _chunk_total: progress(done_before + done, total)


def _encode_and_store(
    db: Database, encoder: TextEncoder, hashes: list[str], texts: list[str], progress: Progress | None
) -> np.ndarray:
    """Encode one chunk and commit its vectors. Returns shape (len(texts), dim)."""
    vectors = encoder.encode(texts, progress=progress)
    with db.write() as session:
        cache.store_vectors(session, encoder.model_name, hashes, vectors)
    return vectors


def embed_texts(
    db: Database,
    texts: Sequence[str],
    *,
    model: str,
    embedder: TextEncoder | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Vectors of raw texts, from the cache where possible; computed ones are cached.

    Each text is normalized (``workbench.text.normalize_text``) before hashing and encoding, so a
    text's cache row is the one its imported item uses.

    Parameters
    ----------
    texts : sequence of str, length n
        May repeat; each distinct normalized text is encoded at most once.
    model : str
        The model name, the cache key (e.g. ``Project.embedding_model``).
    embedder : TextEncoder, optional
        Defaults to ``Embedder(model)``; must be for ``model``.
    progress : callable, optional
        ``progress(done, total)`` over the texts that had to be computed.

    Returns
    -------
    np.ndarray, shape (n, dim), float32
        Row ``i`` is the vector of ``texts[i]``.
    """
    encoder = _encoder_for(model, embedder)
    normalized = [normalize_text(text) for text in texts]
    hashes = [content_hash(text) for text in normalized]
    text_of = dict(zip(hashes, normalized))
    with db.read() as session:
        found = cache.read_vectors(session, model, text_of)

    missing = sorted((h for h in text_of if h not in found), key=lambda h: -len(text_of[h]))
    if missing and progress is not None:
        _ = encoder.dim  # load the model first, so that progress rates time the encoding only
        progress(0, len(missing))
    for start in range(0, len(missing), COMMIT_CHUNK):
        chunk = missing[start : start + COMMIT_CHUNK]
        vectors = _encode_and_store(
            db, encoder, chunk, [text_of[h] for h in chunk], _from(progress, start, len(missing))
        )
        found.update(zip(chunk, vectors))

    if not hashes:
        return np.empty((0, encoder.dim), dtype=np.float32)
    out = np.empty((len(hashes), len(found[hashes[0]])), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = found[h]
    return out


def _find_project(db: Database, project: str | int) -> Project:
    with db.read() as session:
        found = session.get(Project, project) if isinstance(project, int) else get_project(session, project)
    if found is None:
        raise LookupError(f"no project {'with id' if isinstance(project, int) else 'named'} {project!r}")
    return found


def embed_project(
    db: Database,
    project: str | int,
    *,
    embedder: TextEncoder | None = None,
    progress: Progress | None = None,
) -> EmbedStats:
    """Embed every active item of a project that has no cached vector for the project's model.

    Items are read in chunks of ``COMMIT_CHUNK`` (memory stays bounded for any project size) and
    each chunk is committed when done, so an interrupted run resumes where it stopped.

    Parameters
    ----------
    project : str or int
        Project name or id.
    embedder : TextEncoder, optional
        Defaults to ``Embedder(project.embedding_model)``; must be for that model.
    progress : callable, optional
        ``progress(done, total)`` over the items that have to be computed.

    Raises
    ------
    LookupError
        If there is no such project.
    ModelLoadError
        If the project's model cannot be loaded.
    """
    started = time.perf_counter()
    found = _find_project(db, project)
    model = found.embedding_model
    encoder = _encoder_for(model, embedder)
    with db.read() as session:
        n_items = cache.count_active_items(session, found.id)
        pending = cache.unembedded_items(session, found.id, model)
    # Longest first, as sentence-transformers does, and the same order on every rerun.
    pending.sort(key=lambda row: (-row[1], row[0]))

    if pending and progress is not None:
        _ = encoder.dim  # load the model first, so that progress rates time the encoding only
        progress(0, len(pending))
    n_computed = 0
    for start in range(0, len(pending), COMMIT_CHUNK):
        with db.read() as session:
            chunk = [item_id for item_id, _ in pending[start : start + COMMIT_CHUNK]]
            rows = cache.item_texts(session, chunk)
        _encode_and_store(
            db,
            encoder,
            [h for _, _, h in rows],
            [text for _, text, _ in rows],
            _from(progress, start, len(pending)),
        )
        n_computed += len(rows)
    return EmbedStats(
        n_items=n_items,
        n_cached=n_items - len(pending),
        n_computed=n_computed,
        seconds=time.perf_counter() - started,
    )
