"""The overview's figures and item pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from workbench.store import overview, projects, users
from workbench.store.overview import ItemFilter, LabelChoice
from workbench.store.schema import Annotation, Embedding, ImportBatch, Item, Project, utcnow
from workbench.text import content_hash, normalize_text

MODEL = "test-model"


def _project(session, name: str = "demo") -> Project:
    return projects.create_project(
        session, name, labels=projects.make_label_schema(["pos", "neg"]), embedding_model=MODEL
    )


def _item(session, project: Project, text: str, *, label: str | None = None,
          status: str = "active") -> Item:
    normalized = normalize_text(text)
    item = Item(
        project_id=project.id, shape="text", sample={"text": text}, text=normalized,
        content_hash=content_hash(normalized), imported_label=label, status=status,
    )
    session.add(item)
    session.flush()
    return item


def _embed(session, item: Item, model: str = MODEL) -> None:
    session.add(Embedding(model=model, content_hash=item.content_hash, dim=2,
                          vector=np.zeros(2, dtype=np.float32).tobytes()))


def test_project_stats_count_items_annotations_and_embeddings_of_the_project_model(db):
    with db.write() as session:
        project = _project(session)
        other = _project(session, "other")
        first, second, third = (_item(session, project, f"text {i}") for i in range(3))
        dropped = _item(session, project, "dropped one", status="dropped")
        _item(session, other, "text 0")  # same text in another project counts only there
        _embed(session, first)
        _embed(session, second, model="another-model")
        _embed(session, dropped)  # dropped items are not part of the embedded share
        alice = users.add_user(session, "alice", "password-1", "annotator")
        bob = users.add_user(session, "bob", "password-2", "annotator")
        for user in (alice, bob):
            session.add(Annotation(project_id=project.id, item_id=third.id, user_id=user.id,
                                   label="pos"))

    with db.read() as session:
        stats = overview.project_stats(session, project)
        counts = overview.item_counts(session)

    assert stats.items == overview.ItemCounts(active=3, dropped=1)
    assert (stats.annotations, stats.annotated_items) == (2, 1)
    assert stats.embedded == 1
    assert stats.embedded_share == pytest.approx(1 / 3)
    assert counts == {project.id: overview.ItemCounts(3, 1), other.id: overview.ItemCounts(1, 0)}


def test_an_empty_project_has_zero_figures(db):
    with db.write() as session:
        project = _project(session)
    with db.read() as session:
        stats = overview.project_stats(session, project)
        assert overview.imported_label_counts(session, project.id) == []
        assert overview.item_counts(session) == {}
    assert stats == overview.ProjectStats(overview.ItemCounts(), 0, 0, 0)
    assert stats.embedded_share == 0.0


def test_imported_label_counts_cover_active_items_most_frequent_first(db):
    with db.write() as session:
        project = _project(session)
        for i, label in enumerate(["neg", "pos", "pos", None, "neg", "pos"]):
            _item(session, project, f"sample {i}", label=label)
        _item(session, project, "dropped", label="neg", status="dropped")
    with db.read() as session:
        assert overview.imported_label_counts(session, project.id) == [
            ("pos", 3), ("neg", 2), (None, 1)
        ]


def test_gold_label_counts_say_who_gave_each_label(db):
    with db.write() as session:
        project = _project(session)
        items = [_item(session, project, f"sample {i}", label=label)
                 for i, label in enumerate(["neg", "pos", "pos", None])]
        _item(session, project, "dropped", label="neg", status="dropped")
        person = users.add_user(session, "ann", "password-123", "annotator")
        session.flush()
        session.add(Annotation(project_id=project.id, item_id=items[3].id, user_id=person.id, label="neg"))
        session.add(Annotation(project_id=project.id, item_id=items[1].id, user_id=person.id, label="neg"))
    with db.read() as session:
        assert overview.gold_label_counts(session, project.id) == [
            ("neg", "agreed", 2), ("neg", "imported", 1), ("pos", "imported", 1)
        ]


def test_recent_imports_are_newest_first_and_limited(db):
    start = utcnow()
    with db.write() as session:
        project = _project(session)
        for i in range(4):
            session.add(ImportBatch(
                project_id=project.id, source_file=f"file{i}.jsonl", file_sha256="0" * 64,
                file_format="jsonl", shape="alpaca", n_rows=10, n_imported=8 - i,
                created_at=start + timedelta(minutes=i),
            ))
    with db.read() as session:
        recent = overview.recent_imports(session, project.id, limit=3)
    assert [batch.source_file for batch in recent] == ["file3.jsonl", "file2.jsonl", "file1.jsonl"]
    assert recent[0].n_imported == 5


@pytest.fixture
def browsable(db):
    """A project with 25 items: labels cycle pos, neg, none; two dropped; some special texts."""
    with db.write() as session:
        project = _project(session)
        for i in range(20):
            _item(session, project, f"Plain sample number {i}",
                  label=("pos", "neg", None)[i % 3])
        _item(session, project, "Discount of 50% on_sale")
        _item(session, project, "Rabatt von 50 Prozent")
        _item(session, project, "机器学习很有趣")
        _item(session, project, "Dropped PLAIN sample A", status="dropped")
        _item(session, project, "Dropped plain sample B", status="dropped")
    return db, project.id


def _texts(db, project_id: int, item_filter: ItemFilter, page: int = 1, size: int = 100) -> list[str]:
    with db.read() as session:
        return [item.text for item in
                overview.items_page(session, project_id, item_filter, page=page, page_size=size)]


def test_search_is_case_insensitive_and_takes_wildcards_literally(browsable):
    db, project_id = browsable
    with db.read() as session:
        assert overview.count_items(session, project_id, ItemFilter(search="plain SAMPLE")) == 20
        assert overview.count_items(session, project_id, ItemFilter(search="  ")) == 23
    assert _texts(db, project_id, ItemFilter(search="50%")) == ["Discount of 50% on_sale"]
    assert _texts(db, project_id, ItemFilter(search="n_s")) == ["Discount of 50% on_sale"]
    assert _texts(db, project_id, ItemFilter(search="学习")) == ["机器学习很有趣"]


def test_label_and_status_filters(browsable):
    db, project_id = browsable
    with db.read() as session:
        count = lambda f: overview.count_items(session, project_id, f)  # noqa: E731
        assert count(ItemFilter(label="pos")) == 7
        assert count(ItemFilter(label="neg")) == 7
        assert count(ItemFilter(label=LabelChoice.UNLABELED)) == 6 + 3
        assert count(ItemFilter(status="dropped")) == 2
        assert count(ItemFilter(status=None, search="plain sample")) == 22
        assert count(ItemFilter(label="pos", search="number 3")) == 1


def test_pages_split_the_matches_in_import_order_without_overlap(browsable):
    db, project_id = browsable
    every = _texts(db, project_id, ItemFilter())
    pages = [_texts(db, project_id, ItemFilter(), page=p, size=10) for p in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [10, 10, 3, 0]
    assert pages[0] + pages[1] + pages[2] == every
    assert every[0] == "Plain sample number 0"
    assert overview.page_count(23, 10) == 3
    assert overview.page_count(0, 10) == 1


def test_bad_page_and_status_are_refused_with_the_valid_choices(browsable):
    db, project_id = browsable
    with db.read() as session, pytest.raises(ValueError, match="at least 1"):
        overview.items_page(session, project_id, ItemFilter(), page=0, page_size=10)
    with pytest.raises(ValueError, match="active, dropped"):
        ItemFilter(status="deleted")
