"""The labeling queue: who gets which item, leases, and saving labels exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from labeling_setup import add_annotators, add_round, set_overlap
from sqlalchemy import func, select

from tests.fakes import add_project
from workbench.store.labeling import LabelingError, candidate_for, claim_next, save_label, skip
from workbench.store.schema import Annotation, AnnotationRevision, Assignment, AuditEntry, Item, utcnow


@pytest.fixture
def project(db):
    """Project 'p' (labels a, b) with six active items and one dropped, and annotators ann, bob, cat."""
    project_id = add_project(db, "p", [f"sample number {i}" for i in range(7)], model="m", dropped=1)
    with db.read() as session:
        item_ids = list(
            session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id))
        )
    return project_id, item_ids, add_annotators(db, "ann", "bob", "cat")


def _claim(db, project_id, user_id, **kwargs):
    with db.write() as session:
        return claim_next(session, project_id, user_id, **kwargs)


def _label(db, project_id, user_id, item_id, label="a", **kwargs):
    with db.write() as session:
        return save_label(session, project_id, user_id, item_id, label, **kwargs)


def test_without_a_round_items_come_in_import_order_and_a_reload_resumes(db, project):
    project_id, item_ids, people = project
    first = _claim(db, project_id, people["ann"])
    assert (first.item_id, first.round_id, first.resumed) == (item_ids[0], None, False)
    again = _claim(db, project_id, people["ann"])
    assert (again.assignment_id, again.resumed) == (first.assignment_id, True)
    assert _claim(db, project_id, people["bob"]).item_id == item_ids[1]


def test_round_candidates_come_first_by_rank_then_the_other_items(db, project):
    project_id, item_ids, people = project
    round_id = add_round(db, project_id, [item_ids[4], item_ids[2]])
    seen = []
    for _ in range(5):
        claim = _claim(db, project_id, people["ann"])
        seen.append((claim.item_id, claim.round_id))
        _label(db, project_id, people["ann"], claim.item_id)
    assert seen == [
        (item_ids[4], round_id),
        (item_ids[2], round_id),
        (item_ids[0], None),
        (item_ids[1], None),
        (item_ids[3], None),
    ]
    with db.read() as session:
        assert candidate_for(session, round_id, item_ids[2]).reason == "margin 0.02"
        rounds = dict(session.execute(select(Annotation.item_id, Annotation.round_id)).all())
    assert rounds[item_ids[4]] == round_id and rounds[item_ids[0]] is None


def test_the_queue_ends_and_never_offers_dropped_items(db, project):
    project_id, item_ids, people = project
    claimed = []
    while (claim := _claim(db, project_id, people["ann"])) is not None:
        claimed.append(claim.item_id)
        _label(db, project_id, people["ann"], claim.item_id)
    assert claimed == item_ids[:6]


def test_two_annotators_never_share_an_item_unless_overlap_asks(db, project):
    project_id, item_ids, people = project
    ann, bob = _claim(db, project_id, people["ann"]), _claim(db, project_id, people["bob"])
    assert ann.item_id != bob.item_id

    set_overlap(db, project_id, 2)
    _label(db, project_id, people["ann"], ann.item_id)
    cat = _claim(db, project_id, people["cat"])
    assert cat.item_id == ann.item_id  # one annotation so far, two wanted
    _label(db, project_id, people["cat"], cat.item_id)
    # Now two annotations: bob's next item is another one.
    _label(db, project_id, people["bob"], bob.item_id)
    assert _claim(db, project_id, people["bob"]).item_id not in {ann.item_id, bob.item_id}


def test_an_expired_lease_returns_the_item_to_the_queue(db, project):
    project_id, item_ids, people = project
    lease = timedelta(minutes=10)
    ann = _claim(db, project_id, people["ann"], lease=lease)
    later = utcnow() + timedelta(minutes=11)
    bob = _claim(db, project_id, people["bob"], lease=lease, now=later)
    assert bob.item_id == ann.item_id

    # Ann comes back: her lapsed item is bob's now, so she gets a fresh one, never the same again.
    ann_again = _claim(db, project_id, people["ann"], lease=lease, now=later)
    assert not ann_again.resumed and ann_again.item_id not in {ann.item_id}
    with db.read() as session:
        assert session.get(Assignment, ann.assignment_id).status == "expired"


def test_a_lapsed_lease_nobody_took_is_resumed(db, project):
    project_id, _, people = project
    first = _claim(db, project_id, people["ann"])
    back = _claim(db, project_id, people["ann"], now=utcnow() + timedelta(hours=2))
    assert (back.assignment_id, back.resumed) == (first.assignment_id, True)
    assert back.expires_at > utcnow() + timedelta(hours=2)


def test_a_skipped_item_goes_to_others_but_never_back_to_the_same_annotator(db, project):
    project_id, item_ids, people = project
    claim = _claim(db, project_id, people["ann"])
    with db.write() as session:
        skip(session, project_id, people["ann"], claim.item_id)
    assert _claim(db, project_id, people["ann"]).item_id == item_ids[1]
    assert _claim(db, project_id, people["bob"]).item_id == item_ids[0]
    with db.write() as session, pytest.raises(LabelingError, match="not leased"):
        skip(session, project_id, people["ann"], claim.item_id)


def test_a_label_is_saved_exactly_once_and_a_change_keeps_history(db, project):
    project_id, _, people = project
    claim = _claim(db, project_id, people["ann"])
    first = _label(db, project_id, people["ann"], claim.item_id, "a", seconds_spent=4.5)
    double_click = _label(db, project_id, people["ann"], claim.item_id, "a", seconds_spent=0.2)
    changed = _label(db, project_id, people["ann"], claim.item_id, "b")
    assert [first.outcome, double_click.outcome, changed.outcome] == ["added", "unchanged", "changed"]

    with db.read() as session:
        annotation = session.scalars(select(Annotation)).one()
        history = session.execute(
            select(AnnotationRevision.revision, AnnotationRevision.label).order_by(
                AnnotationRevision.revision
            )
        ).all()
        assignment = session.get(Assignment, claim.assignment_id)
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("label.%"))))
    assert (annotation.label, annotation.revision, annotation.seconds_spent) == ("b", 2, 4.5)
    assert history == [(1, "a"), (2, "b")]
    assert assignment.status == "labeled" and assignment.completed_at is not None
    assert actions == ["label.add", "label.change"]


def test_an_unknown_label_is_refused_and_nothing_is_saved(db, project):
    project_id, _, people = project
    claim = _claim(db, project_id, people["ann"])
    with pytest.raises(LabelingError, match="unknown label 'z'.*a, b"):
        _label(db, project_id, people["ann"], claim.item_id, "z")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0


def test_two_tabs_saving_at_once_give_one_annotation(db, project):
    project_id, _, people = project
    claim = _claim(db, project_id, people["ann"])
    outcomes = []

    def save() -> None:
        outcomes.append(_label(db, project_id, people["ann"], claim.item_id, "a").outcome)

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "unchanged", "unchanged", "unchanged"]


def test_concurrent_claims_never_hand_out_an_item_twice(db):
    project_id = add_project(db, "p", [f"item {i}" for i in range(60)], model="m")
    people = add_annotators(db, "u0", "u1", "u2", "u3")
    errors = []

    def work(user_id: int) -> None:
        try:
            while (claim := _claim(db, project_id, user_id)) is not None:
                _label(db, project_id, user_id, claim.item_id)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(user_id,)) for user_id in people.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as session:
        per_item = session.execute(
            select(Annotation.item_id, func.count()).group_by(Annotation.item_id)
        ).all()
    assert len(per_item) == 60 and {count for _, count in per_item} == {1}
