"""Test doubles and set-up shared by the test suite.

``FakeEmbedder`` stands in for ``workbench.embed.Embedder`` in tests that are not about the
real model: instant, deterministic across processes, and similar texts get nearby vectors.
``add_project`` makes a project with text items without going through the import code.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

from workbench.embed import Progress
from workbench.store import projects
from workbench.store.engine import Database
from workbench.store.schema import Item
from workbench.text import content_hash, normalize_text


class FakeEmbedder:
    """Hashed character-trigram bags projected to ``dim`` signed buckets, L2-normalized.

    Texts sharing many trigrams (e.g. differing by one word) have a high dot product; unrelated
    texts are near orthogonal. ``n_encoded`` counts the texts encoded so far, so a test can tell
    what the cache computed.

    Parameters
    ----------
    model_name : str
        The cache key; a project embedded with this fake must have this ``embedding_model``.
    dim : int
        Vector length.
    """

    def __init__(self, model_name: str = "fake-trigram-32", dim: int = 32) -> None:
        self.model_name = model_name
        self.dim = dim
        self.n_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        padded = f"  {text.lower()} "
        for i in range(len(padded) - 2):
            # crc32, not hash(): Python randomizes str hashes per process.
            code = zlib.crc32(padded[i : i + 3].encode("utf-8"))
            vector[code % self.dim] += 1.0 if (code >> 16) & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # trigram counts cancelled out; any fixed unit vector will do
            vector[0], norm = 1.0, 1.0
        return vector / norm

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Shape (len(texts), dim), float32, unit rows; reports progress once at the end."""
        vectors = np.array([self._vector(text) for text in texts], dtype=np.float32).reshape(-1, self.dim)
        self.n_encoded += len(texts)
        if progress is not None:
            progress(len(texts), len(texts))
        return vectors


#: ``make_project(name, texts, model=..., dropped=0) -> project id`` (``add_project`` on a fixed db).
MakeProject = Callable[..., int]


def add_project(db: Database, name: str, texts: list[str], *, model: str, dropped: int = 0) -> int:
    """Create project ``name`` with one active item per text (the last ``dropped`` ones dropped).

    Returns the project id.
    """
    with db.write() as session:
        project = projects.create_project(
            session, name, labels=projects.make_label_schema(["a", "b"]), embedding_model=model
        )
        for i, raw in enumerate(texts):
            text = normalize_text(raw)
            session.add(
                Item(
                    project_id=project.id,
                    shape="text",
                    sample={"text": raw},
                    text=text,
                    content_hash=content_hash(text),
                    source_line=i + 1,
                    status="dropped" if i >= len(texts) - dropped else "active",
                )
            )
        return project.id
