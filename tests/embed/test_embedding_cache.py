"""The embedding cache never computes a text twice and hands back the right vector for every item."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.fakes import FakeEmbedder, MakeProject, add_project
from workbench.embed import compute, embed_project, embed_texts, load_embeddings
from workbench.store.engine import Database
from workbench.store.schema import Embedding, Item, Project
from workbench.text import content_hash, normalize_text

TEXTS = [
    "How do I reset my password?",
    "My card was charged twice for one purchase.",
    "Where is my parcel? It is two weeks late.",
    "Please close my account.",
    "Can I change the delivery address?",
]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


def _cached_rows(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Embedding))


def test_second_embed_computes_nothing(db: Database, make_project: MakeProject, fake: FakeEmbedder) -> None:
    make_project("tickets", TEXTS + ["an item that was dropped"], model=fake.model_name, dropped=1)

    first = embed_project(db, "tickets", embedder=fake)
    second = embed_project(db, "tickets", embedder=fake)

    assert (first.n_items, first.n_cached, first.n_computed) == (5, 0, 5)
    assert (second.n_items, second.n_cached, second.n_computed) == (5, 5, 0)
    assert fake.n_encoded == 5  # the dropped item was never embedded, nothing twice
    assert _cached_rows(db) == 5


def test_same_text_in_two_projects_is_computed_once(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    make_project("first", TEXTS[:3], model=fake.model_name)
    second = make_project("second", TEXTS[2:], model=fake.model_name)

    embed_project(db, "first", embedder=fake)
    stats = embed_project(db, second, embedder=fake)  # by id this time

    assert (stats.n_cached, stats.n_computed) == (1, 2)
    assert fake.n_encoded == 5
    assert _cached_rows(db) == 5


def test_cache_rows_hold_each_items_vector(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    make_project("tickets", TEXTS, model=fake.model_name)
    embed_project(db, "tickets", embedder=fake)

    with db.read() as session:
        items = {item.content_hash: item.text for item in session.scalars(select(Item))}
        rows = session.scalars(select(Embedding)).all()
        assert {row.content_hash for row in rows} == set(items)
        for row in rows:
            assert (row.model, row.dim, len(row.vector)) == (fake.model_name, 32, 32 * 4)
            stored = np.frombuffer(row.vector, dtype="<f4")
            np.testing.assert_array_equal(stored, fake.encode([items[row.content_hash]])[0])


def test_another_model_gets_its_own_vectors(db: Database, make_project: MakeProject) -> None:
    small, large = FakeEmbedder("fake-a", dim=16), FakeEmbedder("fake-b", dim=48)
    project_id = make_project("tickets", TEXTS, model="fake-a")
    embed_project(db, "tickets", embedder=small)
    with db.write() as session:
        session.get(Project, project_id).embedding_model = "fake-b"

    stats = embed_project(db, "tickets", embedder=large)

    assert stats.n_computed == 5
    with db.read() as session:
        assert load_embeddings(session, project_id, "fake-a")[1].shape == (5, 16)
        assert load_embeddings(session, project_id, "fake-b")[1].shape == (5, 48)


def test_load_embeddings_in_item_order_without_unembedded_or_dropped(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    project_id = make_project("tickets", TEXTS, model=fake.model_name, dropped=1)
    embed_project(db, "tickets", embedder=fake)
    with db.write() as session:  # imported after the embedding run: no vector yet
        late = normalize_text("A late arrival")
        session.add(
            Item(project_id=project_id, shape="text", sample={}, text=late, content_hash=content_hash(late))
        )

    with db.read() as session:
        item_ids, vectors = load_embeddings(session, project_id, fake.model_name)
        texts = dict(session.execute(select(Item.id, Item.text)).all())

    assert item_ids.dtype == np.int64 and vectors.dtype == np.float32
    assert vectors.shape == (4, 32)
    assert list(item_ids) == sorted(item_ids)
    assert [texts[i] for i in item_ids] == TEXTS[:4]
    np.testing.assert_array_equal(vectors, fake.encode(TEXTS[:4]))


def test_load_embeddings_of_unembedded_project_is_empty(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    project_id = make_project("tickets", TEXTS, model=fake.model_name)
    with db.read() as session:
        item_ids, vectors = load_embeddings(session, project_id, fake.model_name)
    assert item_ids.shape == (0,) and vectors.shape == (0, 0)


def test_load_embeddings_rejects_vectors_of_different_lengths(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    project_id = make_project("tickets", TEXTS, model=fake.model_name)
    embed_project(db, "tickets", embedder=fake)
    with db.write() as session:
        row = session.scalars(select(Embedding).limit(1)).one()
        row.dim, row.vector = 8, bytes(8 * 4)

    with db.read() as session, pytest.raises(ValueError, match="different lengths"):
        load_embeddings(session, project_id, fake.model_name)


def test_embed_texts_keeps_input_order_and_computes_duplicates_once(db: Database, fake: FakeEmbedder) -> None:
    texts = ["beta", "alpha", "beta", "  alpha \r\n", "gamma"]

    vectors = embed_texts(db, texts, model=fake.model_name, embedder=fake)

    assert fake.n_encoded == 3
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode([normalize_text(t) for t in texts]))
    embed_texts(db, ["gamma", "delta"], model=fake.model_name, embedder=fake)
    assert fake.n_encoded == 4


def test_embed_texts_uses_the_rows_of_imported_items(
    db: Database, make_project: MakeProject, fake: FakeEmbedder
) -> None:
    raw = ["  Spaces   and\ttabs  ", "line one\r\nline two"]
    make_project("tickets", raw, model=fake.model_name)
    embed_project(db, "tickets", embedder=fake)

    embed_texts(db, raw, model=fake.model_name, embedder=fake)

    assert fake.n_encoded == 2


def test_empty_input(db: Database, fake: FakeEmbedder) -> None:
    assert embed_texts(db, [], model=fake.model_name, embedder=fake).shape == (0, 32)


def test_embedder_must_match_the_model(db: Database, make_project: MakeProject, fake: FakeEmbedder) -> None:
    make_project("tickets", TEXTS, model="some-other-model")
    with pytest.raises(ValueError, match="fake-trigram-32.*some-other-model"):
        embed_project(db, "tickets", embedder=fake)
    with pytest.raises(ValueError, match="some-other-model"):
        embed_texts(db, TEXTS, model="some-other-model", embedder=fake)
    assert _cached_rows(db) == 0


def test_unknown_project(db: Database, fake: FakeEmbedder) -> None:
    with pytest.raises(LookupError, match="no project named 'nope'"):
        embed_project(db, "nope", embedder=fake)


class FailingOnSecondChunk(FakeEmbedder):
    def encode(self, texts, progress=None):
        if self.n_encoded:
            raise KeyboardInterrupt
        return super().encode(texts, progress)


def test_interrupted_run_keeps_finished_chunks_and_resumes(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compute, "COMMIT_CHUNK", 2)
    add_project(sqlite_db, "tickets", TEXTS, model="fake-trigram-32")

    with pytest.raises(KeyboardInterrupt):
        embed_project(sqlite_db, "tickets", embedder=FailingOnSecondChunk())
    assert _cached_rows(sqlite_db) == 2

    resumed = FakeEmbedder()
    stats = embed_project(sqlite_db, "tickets", embedder=resumed)
    assert (stats.n_cached, stats.n_computed, resumed.n_encoded) == (2, 3, 3)


def test_progress_counts_up_to_the_texts_computed(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compute, "COMMIT_CHUNK", 2)
    add_project(sqlite_db, "tickets", TEXTS, model="fake-trigram-32")
    reports: list[tuple[int, int]] = []

    embed_project(sqlite_db, "tickets", embedder=FakeEmbedder(), progress=lambda *r: reports.append(r))

    assert reports == [(0, 5), (2, 5), (4, 5), (5, 5)]
