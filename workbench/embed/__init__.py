"""Sentence embeddings of item texts, cached by (model, content hash) in the ``embeddings`` table.

torch and sentence-transformers are imported only when a model is first loaded, so importing
this package is cheap. Typical use::

    from workbench.embed import embed_project, load_embeddings

    stats = embed_project(db, "support-tickets")          # computes only what is not cached
    with db.read() as session:
        item_ids, vectors = load_embeddings(session, project.id, project.embedding_model)
"""

from workbench.embed.cache import load_embeddings
from workbench.embed.model import Embedder, ModelLoadError, Progress, TextEncoder
from workbench.embed.compute import EmbedStats, embed_project, embed_texts

__all__ = [
    "EmbedStats",
    "Embedder",
    "ModelLoadError",
    "Progress",
    "TextEncoder",
    "embed_project",
    "embed_texts",
    "load_embeddings",
]
