"""The real bundled model: loads offline, gives unit vectors that put similar sentences together."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from workbench.config import BUNDLED_MODEL, REPO_ROOT
from workbench.embed import Embedder, ModelLoadError, embed_texts, model
from workbench.store.engine import Database

SENTENCES = [
    "The cat sat on the mat.",
    "A kitten is sitting on a rug.",
    "Quarterly revenue grew by eight percent.",
]


def test_importing_the_workbench_does_not_import_torch() -> None:
    code = (
        "import sys, workbench.cli, workbench.embed;"
        "print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_bundled_model_loads_offline_and_embeds(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[tuple[object, ...]] = []

    def no_network(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(model, "_loaded", {})  # load it here, under the network block

    embedder = Embedder(BUNDLED_MODEL)
    vectors = embedder.encode(SENTENCES)

    assert attempts == []
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert embedder.dim == 384
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.3


@pytest.mark.slow
def test_cached_vectors_equal_a_plain_encode(sqlite_db: Database) -> None:
    embedder = Embedder(BUNDLED_MODEL)
    texts = SENTENCES + ["A short one.", "Tell me a story about a dragon who learns to bake bread. " * 5]

    cold = embed_texts(sqlite_db, texts, model=BUNDLED_MODEL, embedder=embedder)
    warm = embed_texts(sqlite_db, texts, model=BUNDLED_MODEL)

    plain = embedder.model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(cold, plain, atol=1e-5)
    np.testing.assert_array_equal(warm, cold)


@pytest.mark.parametrize("name", ["no-such-org/no-such-model", "/no/such/folder"])
def test_unknown_model_gives_a_clear_error(name: str) -> None:
    with pytest.raises(ModelLoadError) as caught:
        Embedder(name).load()
    message = str(caught.value)
    assert repr(name) in message
    assert BUNDLED_MODEL in message and "folder" in message
