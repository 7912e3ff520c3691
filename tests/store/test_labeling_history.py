"""Flags, corrected responses, undo, recent labels and progress figures of an annotator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from labeling_setup import add_annotators, add_round
from sqlalchemy import func, select

from tests.fakes import add_project
from workbench.store.labeling import (
    ANNOTATOR_FLAG,
    LabelingError,
    claim_next,
    correct_response,
    current_sample,
    flag,
    save_label,
    skip,
)
from workbench.store.labeling_history import progress, recent_labels, undo_last
from workbench.store.schema import (
    Annotation,
    AnnotationRevision,
    Assignment,
    Item,
    ItemRevision,
    NoiseFlag,
    utcnow,
)
from workbench.text import content_hash


@pytest.fixture
def project(db):
    project_id = add_project(db, "p", [f"sample number {i}" for i in range(5)], model="m")
    with db.read() as session:
        item_ids = list(session.scalars(select(Item.id).order_by(Item.id)))
    return project_id, item_ids, add_annotators(db, "ann", "bob")["ann"]


def _claim(db, project_id, user_id):
    with db.write() as session:
        return claim_next(session, project_id, user_id)


def _undo(db, project_id, user_id):
    with db.write() as session:
        return undo_last(session, project_id, user_id)


def test_undo_of_a_label_removes_it_and_gives_the_item_back_first(db, project):
    project_id, item_ids, ann = project
    for label in ("a", "b"):
        claim = _claim(db, project_id, ann)
        with db.write() as session:
            save_label(session, project_id, ann, claim.item_id, label)
    _claim(db, project_id, ann)  # the third item is on screen when ann presses undo

    undone = _undo(db, project_id, ann)

    assert (undone.action, undone.item_id) == ("label.add", item_ids[1])
    assert _claim(db, project_id, ann).item_id == item_ids[1]
    with db.read() as session:
        assert list(session.scalars(select(Annotation.item_id))) == [item_ids[0]]
        assert session.scalar(select(func.count()).select_from(AnnotationRevision)) == 1
    # Undo again steps further back; with nothing left it reports None.
    assert _undo(db, project_id, ann).item_id == item_ids[0]
    assert _undo(db, project_id, ann) is None


def test_undo_of_a_label_change_restores_the_previous_label(db, project):
    project_id, _, ann = project
    claim = _claim(db, project_id, ann)
    for label in ("a", "b"):
        with db.write() as session:
            save_label(session, project_id, ann, claim.item_id, label)

    assert _undo(db, project_id, ann).action == "label.change"
    with db.read() as session:
        annotation = session.scalars(select(Annotation)).one()
        labels = list(session.scalars(select(AnnotationRevision.label).order_by(AnnotationRevision.revision)))
    assert annotation.label == "a" and labels == ["a", "b", "a"]


def test_a_flag_records_reason_and_comment_for_review_and_undo_removes_it(db, project):
    project_id, item_ids, ann = project
    claim = _claim(db, project_id, ann)
    with db.write() as session:
        flag(session, project_id, ann, claim.item_id, "truncated_response", "  stops mid-sentence ")
    with db.read() as session:
        noise_flag = session.scalars(select(NoiseFlag)).one()
        assert session.get(Assignment, claim.assignment_id).status == "skipped"
    assert (noise_flag.detector, noise_flag.item_id, noise_flag.status) == (
        ANNOTATOR_FLAG,
        claim.item_id,
        "open",
    )
    assert noise_flag.evidence == {
        "reason": "truncated_response",
        "comment": "stops mid-sentence",
        "by": "ann",
    }
    assert _claim(db, project_id, ann).item_id == item_ids[1]

    assert _undo(db, project_id, ann).action == "label.flag"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(NoiseFlag)) == 0
    assert _claim(db, project_id, ann).item_id == claim.item_id


def test_an_unknown_flag_reason_is_refused(db, project):
    project_id, item_ids, ann = project
    with db.write() as session, pytest.raises(LabelingError, match="unknown flag reason 'meh'.*duplicate"):
        flag(session, project_id, ann, item_ids[0], "meh")


def test_undo_of_a_skip_gives_the_item_back(db, project):
    project_id, _, ann = project
    claim = _claim(db, project_id, ann)
    with db.write() as session:
        skip(session, project_id, ann, claim.item_id)
    assert _undo(db, project_id, ann).action == "label.skip"
    assert _claim(db, project_id, ann).item_id == claim.item_id


@pytest.mark.parametrize(
    ("shape", "sample", "corrected"),
    [
        (
            "alpaca",
            {"instruction": "Add 2 and 2.", "output": "5"},
            {"instruction": "Add 2 and 2.", "output": "4"},
        ),
        (
            "messages",
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Bye"}]},
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "4"}]},
        ),
    ],
)
def test_a_corrected_response_is_a_revision_and_the_original_is_kept(db, project, shape, sample, corrected):
    project_id, item_ids, ann = project
    with db.write() as session:
        item = session.get(Item, item_ids[0])
        item.shape, item.sample = shape, sample
    with db.write() as session:
        correct_response(session, project_id, ann, item_ids[0], "4")
    with db.read() as session:
        item = session.get(Item, item_ids[0])
        shown, revision = current_sample(session, item)
    assert item.sample == sample and shown == corrected
    assert revision.revision == 1 and revision.content_hash == content_hash(revision.text)
    assert "4" in revision.text

    with db.write() as session, pytest.raises(LabelingError, match="unchanged"):
        correct_response(session, project_id, ann, item_ids[0], "4")
    assert _undo(db, project_id, ann).action == "label.correct"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ItemRevision)) == 0


def test_recent_labels_newest_first_with_a_changed_one_on_top(db, project):
    project_id, item_ids, ann = project
    for label in ("a", "b", "a"):
        claim = _claim(db, project_id, ann)
        with db.write() as session:
            save_label(session, project_id, ann, claim.item_id, label)
    with db.write() as session:
        save_label(session, project_id, ann, item_ids[0], "b", now=utcnow() + timedelta(seconds=5))
    with db.read() as session:
        recent = recent_labels(session, project_id, ann, limit=2)
    assert [(r.item_id, r.label, r.revision) for r in recent] == [
        (item_ids[0], "b", 2),
        (item_ids[2], "a", 1),
    ]
    assert recent[0].preview == "sample number 0"


def test_progress_counts_done_and_left_and_tells_of_a_new_round(db, project):
    project_id, item_ids, ann = project
    claim = _claim(db, project_id, ann)
    with db.write() as session:
        save_label(session, project_id, ann, claim.item_id, "a")
        before_round = progress(session, project_id, ann)
    assert (before_round.done_this_round, before_round.done_today, before_round.round_number) == (1, 1, None)

    add_round(db, project_id, [item_ids[0], item_ids[3], item_ids[4]])
    working = _claim(db, project_id, ann)  # ann's lease from before the round would come first; none here
    with db.read() as session:
        now = progress(session, project_id, ann, working_round_id=working.round_id)
        stale = progress(session, project_id, ann, working_round_id=None)
    # item 0 is labeled, item 3 is ann's current lease: item 4 is left.
    assert (now.round_number, now.done_this_round, now.done_today, now.left_in_round) == (1, 0, 1, 1)
    assert not now.new_round_ready and stale.new_round_ready
