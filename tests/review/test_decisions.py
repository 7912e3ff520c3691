"""Cleaning decisions and their undo: each action's effect, the audit trail, and what reads them."""

from __future__ import annotations

import threading

import pytest
from review_setup import make_project
from sqlalchemy import func, select

from tests.fakes import FakeEmbedder
from workbench.embed import embed_project
from workbench.export import ExportSettings, plan_export
from workbench.export.duplicates import kept_by_lead, near_duplicate_groups
from workbench.noise.store import replace_open_flags
from workbench.review.decisions import (
    DecisionError,
    DecisionRequest,
    decide,
    decide_many,
    recent_decisions,
    undo,
    undo_last,
)
from workbench.rounds import RoundSettings, labels_since_last_round, read_pool
from workbench.store.gold import GoldLabel, gold_labels
from workbench.store.labeling import claim_next, correct_response, current_sample
from workbench.store.schema import Assignment, AuditEntry, Decision, Item, ItemRevision, NoiseFlag, Project


def _flag_status(db, flag_ids) -> list[str]:
    with db.read() as session:
        return [session.get(NoiseFlag, flag_id).status for flag_id in flag_ids]


def _decide(db, s, name, action, **kwargs):
    with db.write() as session:
        return decide(session, s.project_id, s.lead, DecisionRequest(s.items[name], action, **kwargs)).id


def _undo(db, s, decision_id, user=None):
    with db.write() as session:
        return undo(session, s.project_id, user or s.lead, decision_id)


def _audit(db, s) -> list[tuple[str, str, dict | None, dict | None]]:
    with db.read() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.project_id == s.project_id).order_by(AuditEntry.id)
        )
        return [(e.action, e.entity_id, e.before, e.after) for e in entries]


def test_keep_resolves_the_flags_leaves_the_item_and_undo_reopens_them(db):
    s = make_project(db)
    decision_id = _decide(db, s, "mislabeled", "keep", reason="checked by hand")
    assert _flag_status(db, s.flags["mislabeled"]) == ["resolved", "resolved"]
    with db.read() as session:
        decision = session.get(Decision, decision_id)
        assert (
            decision.reason == "checked by hand" and sorted(decision.after["flags"]) == s.flags["mislabeled"]
        )
        assert session.get(Item, s.items["mislabeled"]).status == "active"
        assert gold_labels(session, s.project_id, include_imported=True)[s.items["mislabeled"]].label == "bug"
    action, entity_id, _, after = _audit(db, s)[-1]
    assert (action, entity_id, after["decision_id"], after["reason"]) == (
        "decision.keep",
        str(s.items["mislabeled"]),
        decision_id,
        "checked by hand",
    )

    _undo(db, s, decision_id)
    assert _flag_status(db, s.flags["mislabeled"]) == ["open", "open"]
    assert _audit(db, s)[-1][0] == "decision.undo"
    with pytest.raises(DecisionError, match="already undone"):
        _undo(db, s, decision_id)


def test_a_keep_of_some_flags_leaves_the_others_open(db):
    s = make_project(db)
    label_issue, short = s.flags["mislabeled"]
    _decide(db, s, "mislabeled", "keep", flag_ids=(short,))
    assert _flag_status(db, [label_issue, short]) == ["open", "resolved"]
    with pytest.raises(DecisionError, match=f"flag {short} is not an open flag"):
        _decide(db, s, "mislabeled", "keep", flag_ids=(short,))
    with pytest.raises(DecisionError, match="no open flag to keep"):
        _decide(db, s, "clean", "keep")


def test_relabel_becomes_the_gold_label_the_next_round_trains_on_and_undo_restores_the_previous(db):
    s = make_project(db)
    item = s.items["mislabeled"]
    first = _decide(db, s, "mislabeled", "relabel", label="billing")
    with db.read() as session:
        assert gold_labels(session, s.project_id)[item] == GoldLabel("billing", "lead")
        assert labels_since_last_round(session, s.project_id) == 3 + 1  # three annotations, one relabel
        assert session.get(Decision, first).before == {"label": "bug", "source": "imported"}
    second = _decide(db, s, "mislabeled", "relabel", label="other")
    with pytest.raises(DecisionError, match=f"decision {first} .* superseded by decision {second}"):
        _undo(db, s, first)
    _undo(db, s, second)
    with db.read() as session:
        assert gold_labels(session, s.project_id)[item] == GoldLabel("billing", "lead")
    _undo(db, s, first)
    with db.read() as session:
        assert gold_labels(session, s.project_id, include_imported=True)[item] == GoldLabel("bug", "imported")
        assert labels_since_last_round(session, s.project_id) == 3 + 4  # two relabels, two undos
    assert _flag_status(db, s.flags["mislabeled"]) == ["open", "open"]


def test_relabel_refuses_a_label_outside_the_schema_and_changes_nothing(db):
    s = make_project(db)
    with pytest.raises(
        DecisionError, match="unknown label 'refund'; the project's labels are: billing, bug, other"
    ):
        _decide(db, s, "mislabeled", "relabel", label="refund")
    with db.read() as session:
        assert session.scalar(select(Decision.id)) is None
    assert _flag_status(db, s.flags["mislabeled"]) == ["open", "open"]


def test_a_split_vote_is_adjudicated_by_a_relabel(db):
    s = make_project(db)
    with db.read() as session:
        assert s.items["split"] not in gold_labels(session, s.project_id)
    _decide(db, s, "split", "relabel", label="bug", reason="crash = bug")
    with db.read() as session:
        assert gold_labels(session, s.project_id)[s.items["split"]] == GoldLabel("bug", "lead")


def test_drop_leaves_the_export_and_the_gold_labels_and_undo_brings_it_back(db):
    s = make_project(db)
    item = s.items["empty"]
    decision_id = _decide(db, s, "empty", "drop", reason="no answer")
    with db.read() as session:
        assert session.get(Item, item).status == "dropped"
        assert item not in gold_labels(session, s.project_id, include_imported=True)
        assert item not in {i.id for i in plan_export(session, s.project_id, ExportSettings()).pool}
    assert _flag_status(db, s.flags["empty"]) == ["resolved"]
    with pytest.raises(DecisionError, match=f"item {item} is dropped; undo the drop first"):
        _decide(db, s, "empty", "relabel", label="bug")

    _undo(db, s, decision_id)
    with db.read() as session:
        assert session.get(Item, item).status == "active"
        assert item in {i.id for i in plan_export(session, s.project_id, ExportSettings()).pool}
    assert _flag_status(db, s.flags["empty"]) == ["open"]


def test_edit_is_a_new_revision_the_export_uses_and_undo_removes_it(db):
    s = make_project(db)
    item = s.items["empty"]
    decision_id = _decide(db, s, "empty", "edit", response="Use the 'Forgot password' link.")
    with db.read() as session:
        sample, revision = current_sample(session, session.get(Item, item))
        assert sample["output"] == "Use the 'Forgot password' link." and revision.revision == 1
        exported = next(i for i in plan_export(session, s.project_id, ExportSettings()).pool if i.id == item)
        assert exported.sample["output"] == "Use the 'Forgot password' link."
        assert session.get(Decision, decision_id).before == {"revision": 0, "response": ""}
        # A lead's edit is a decision, not an annotator's correction the labeling page could undo.
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "label.correct")) is None
    _undo(db, s, decision_id)
    with db.read() as session:
        assert current_sample(session, session.get(Item, item)) == (
            {"instruction": "How do I reset my password?", "output": ""},
            None,
        )
    with pytest.raises(DecisionError, match="the response is unchanged"):
        _decide(db, s, "terse", "edit", response="...")
    with pytest.raises(DecisionError, match="needs the new response"):
        _decide(db, s, "terse", "edit")


def test_undoing_an_edit_that_was_edited_again_is_refused(db):
    s = make_project(db)
    decision_id = _decide(db, s, "terse", "edit", response="Refunds within 30 days.")
    with db.write() as session:
        correct_response(
            session, s.project_id, s.annotators["ann1"], s.items["terse"], "Refunds within 14 days."
        )
    with pytest.raises(DecisionError, match="edited again since .* undo that edit first"):
        _undo(db, s, decision_id)
    with db.read() as session:
        assert session.scalar(select(ItemRevision.id).where(ItemRevision.revision == 1)) is not None


def test_keep_one_is_what_the_export_keeps_and_undo_gives_the_group_back(db):
    s = make_project(db)
    a, b, c = s.items["dup_a"], s.items["dup_b"], s.items["dup_c"]
    decision_id = _decide(db, s, "dup_b", "keep_one", reason="clearest wording")
    with db.read() as session:
        assert kept_by_lead(session, s.project_id) == {b}
        plan = plan_export(session, s.project_id, ExportSettings())
        pool = {i.id for i in plan.pool}
        assert b in pool and a not in pool and c not in pool
        assert session.get(Decision, decision_id).after["members"] == [a, b, c]
    assert _flag_status(db, s.flags["dup_a"] + s.flags["dup_b"] + s.flags["dup_c"]) == ["resolved"] * 3
    with pytest.raises(DecisionError, match=f"item {b} is already the one kept of this group"):
        _decide(db, s, "dup_c", "keep_one")
    with pytest.raises(DecisionError, match="in no near-duplicate group"):
        _decide(db, s, "clean", "keep_one")

    _undo(db, s, decision_id)
    with db.read() as session:
        assert kept_by_lead(session, s.project_id) == set()
    assert _flag_status(db, s.flags["dup_a"] + s.flags["dup_b"] + s.flags["dup_c"]) == ["open"] * 3


def test_a_later_decision_on_a_group_member_supersedes_keep_one(db):
    s = make_project(db)
    decision_id = _decide(db, s, "dup_a", "keep_one")
    later = _decide(db, s, "dup_c", "drop")
    with pytest.raises(
        DecisionError, match=f"superseded by decision {later} \\(drop of item {s.items['dup_c']}\\)"
    ):
        _undo(db, s, decision_id)


def test_keep_on_a_near_duplicate_means_not_a_duplicate_for_the_export(db):
    s = make_project(db)
    _decide(db, s, "dup_c", "keep", reason="different month")
    with db.read() as session:
        groups = near_duplicate_groups(session, s.project_id)
        assert s.items["dup_c"] not in groups and groups[s.items["dup_a"]] == groups[s.items["dup_b"]]


def test_a_bulk_decision_that_fails_midway_changes_nothing(db):
    s = make_project(db)
    requests = [
        DecisionRequest(s.items["empty"], "drop"),
        DecisionRequest(s.items["terse"], "relabel", label="nonsense"),
        DecisionRequest(s.items["mislabeled"], "drop"),
    ]
    with db.write() as session:
        with pytest.raises(DecisionError, match="unknown label 'nonsense'"):
            decide_many(session, s.project_id, s.lead, requests)
        # The caller carries on and commits: the bulk's savepoint left nothing behind.
    with db.read() as session:
        assert session.scalar(select(Decision.id)) is None
        assert {i.status for i in session.scalars(select(Item))} == {"active"}
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action.like("decision.%"))) is None
    assert _flag_status(db, s.flags["empty"] + s.flags["mislabeled"]) == ["open"] * 3


def test_a_bulk_decision_is_undone_as_one_batch(db):
    s = make_project(db)
    with db.write() as session:
        outcome = decide_many(
            session,
            s.project_id,
            s.lead,
            [DecisionRequest(s.items[name], "drop", reason="junk") for name in ("empty", "terse")],
        )
    assert outcome.batch and len(outcome.decisions) == 2
    with db.write() as session:
        undone = undo_last(session, s.project_id, s.lead)
    assert sorted(d.undoes_id for d in undone.decisions) == sorted(d.id for d in outcome.decisions)
    with db.read() as session:
        assert {session.get(Item, s.items[name]).status for name in ("empty", "terse")} == {"active"}
        recent = recent_decisions(session, s.project_id)
        assert [(r.action, r.n_items, r.undone) for r in recent] == [("undo", 2, False), ("drop", 2, True)]
        assert recent[0].username == "boss" and recent[1].reason == "junk"
    with db.write() as session:
        assert undo_last(session, s.project_id, s.lead) is None  # nothing left that stands


def test_undo_of_an_undo_and_of_an_item_twice_in_one_bulk_are_refused(db):
    s = make_project(db)
    decision_id = _decide(db, s, "empty", "drop")
    undo_id = _undo(db, s, decision_id).decisions[0].id
    with pytest.raises(DecisionError, match=f"decision {undo_id} is itself an undo"):
        _undo(db, s, undo_id)
    with db.write() as session, pytest.raises(DecisionError, match="appears twice"):
        decide_many(session, s.project_id, s.lead, [DecisionRequest(s.items["terse"], "drop")] * 2)


def test_only_an_active_lead_decides(db):
    s = make_project(db)
    with db.write() as session, pytest.raises(DecisionError, match="only an active lead"):
        decide(session, s.project_id, s.annotators["ann1"], DecisionRequest(s.items["empty"], "drop"))
    with (
        db.write() as session,
        pytest.raises(DecisionError, match="unknown action 'delete'; valid actions: keep"),
    ):
        decide(session, s.project_id, s.lead, DecisionRequest(s.items["empty"], "delete"))


def test_another_lead_can_undo_and_a_detector_run_after_an_undo_replaces_the_reopened_flags(db):
    s = make_project(db)
    decision_id = _decide(db, s, "empty", "keep")
    _undo(db, s, decision_id, user=s.other_lead)
    with db.write() as session:
        replace_open_flags(session, s.project_id, [], [], ["short_output"])
    with db.read() as session:
        assert session.get(Decision, decision_id).after["flags"] == s.flags["empty"]
        assert session.scalar(select(NoiseFlag.id).where(NoiseFlag.detector == "short_output")) is None


def test_the_next_rounds_pool_trains_on_the_relabel_and_leaves_the_drop_out(db):
    s = make_project(db)
    embed_project(db, s.project_id, embedder=FakeEmbedder("fake-trigram-32"))
    _decide(db, s, "mislabeled", "relabel", label="billing")
    _decide(db, s, "empty", "drop")
    with db.read() as session:
        project = session.get(Project, s.project_id)
        pool = read_pool(session, project, RoundSettings.of(project))
    gold = dict(zip(pool.item_ids.tolist(), pool.gold.tolist(), strict=True))
    assert gold[s.items["mislabeled"]] == "billing" and s.items["empty"] not in gold
    assert pool.reviewed[pool.item_ids.tolist().index(s.items["mislabeled"])]


def test_a_drop_takes_the_item_from_the_annotator_holding_it_and_undo_gives_it_back(db):
    s = make_project(db)
    with db.write() as session:
        held = claim_next(session, s.project_id, s.annotators["ann1"])
    assert held.item_id == s.items["mislabeled"]
    decision_id = _decide(db, s, "mislabeled", "drop")
    with db.write() as session:
        assert claim_next(session, s.project_id, s.annotators["ann1"]).item_id != s.items["mislabeled"]
        assert session.get(Assignment, held.assignment_id).status == "expired"
    _undo(db, s, decision_id)
    with db.read() as session:
        assert session.get(Assignment, held.assignment_id).status == "leased"


def test_two_leads_undoing_the_same_decision_at_once_undo_it_once(db):
    s = make_project(db)
    decision_id = _decide(db, s, "empty", "drop")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def undo_as(user_id: int) -> None:
        barrier.wait()
        try:
            _undo(db, s, decision_id, user=user_id)
            outcomes.append("undone")
        except DecisionError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=undo_as, args=(user,)) for user in (s.lead, s.other_lead)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [f"decision {decision_id} was already undone", "undone"]
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Decision.undoes_id == decision_id)) == 1
