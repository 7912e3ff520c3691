"""The review queue: one row per flagged item, sorted by severity, filtered, paged, with evidence."""

from __future__ import annotations

import pytest
from review_setup import make_project

from workbench.export.duplicates import kept_by_lead, near_duplicate_groups
from workbench.review import queue as review_queue
from workbench.review.bulk import decide_filter, decide_group
from workbench.review.decisions import DecisionError, DecisionRequest, decide, undo
from workbench.review.queue import QueueError, QueueFilter, matching, open_counts, queue_page
from workbench.store.gold import GoldLabel
from workbench.store.schema import NoiseFlag


def _names(db, s, queue_filter=QueueFilter()) -> list[str]:
    by_id = {item_id: name for name, item_id in s.items.items()}
    with db.read() as session:
        return [by_id[m.item_id] for m in matching(session, s.project_id, queue_filter)]


def test_rows_are_items_sorted_by_severity_then_by_number_of_detectors(db):
    s = make_project(db)
    assert _names(db, s) == ["split", "mislabeled", "empty", "flagged", "dup_a", "dup_b", "dup_c", "terse"]
    with db.read() as session:
        counts = open_counts(session, s.project_id)
    assert counts["short_output"] == (3, 3) and counts["near_duplicate"] == (3, 3)
    assert list(counts)[:2] == ["near_duplicate", "short_output"]


def test_filters_by_detector_severity_label_annotator_and_text(db):
    s = make_project(db)
    short = ("short_output",)
    # Within a detector, the severity of that detector's flags decides the order.
    assert _names(db, s, QueueFilter(detectors=short)) == ["empty", "terse", "mislabeled"]
    assert _names(db, s, QueueFilter(detectors=short, max_severity=0.3)) == ["terse", "mislabeled"]
    assert _names(db, s, QueueFilter(min_severity=0.85)) == ["split", "mislabeled", "empty"]
    assert _names(db, s, QueueFilter(label="billing")) == ["dup_a", "dup_b", "terse"]
    assert _names(db, s, QueueFilter(annotator="ann2")) == ["split", "terse"]
    assert _names(db, s, QueueFilter(search="INVOICE")) == ["dup_a", "dup_b", "dup_c"]
    assert _names(db, s, QueueFilter(search="100%")) == []
    with db.read() as session, pytest.raises(QueueError, match="no user named 'nobody'"):
        matching(session, s.project_id, QueueFilter(annotator="nobody"))


def test_the_label_filter_follows_the_leads_relabel(db):
    s = make_project(db)
    with db.write() as session:
        decide(
            session,
            s.project_id,
            s.lead,
            DecisionRequest(s.items["mislabeled"], "relabel", label="billing", flag_ids=()),
        )
    assert _names(db, s, QueueFilter(label="billing")) == ["mislabeled", "dup_a", "dup_b", "terse"]


def test_the_cluster_filter_uses_the_maps_clusters(db, monkeypatch):
    s = make_project(db)
    clusters = {s.items["empty"]: 0, s.items["terse"]: 1, s.items["dup_b"]: 1}
    monkeypatch.setattr(review_queue, "item_clusters", lambda session, project_id: clusters)
    assert _names(db, s, QueueFilter(cluster=1)) == ["dup_b", "terse"]
    with db.read() as session:
        choices = review_queue.filter_choices(session, s.project_id)
    assert choices == {"annotators": ["ann1", "ann2"], "clusters": [0, 1]}


def test_pages(db):
    s = make_project(db)
    with db.read() as session:
        first = queue_page(session, s.project_id, page=1, page_size=3)
        last = queue_page(session, s.project_id, page=9, page_size=3)
        with pytest.raises(QueueError, match="at least 1"):
            queue_page(session, s.project_id, page=0)
    assert (first.total, first.n_pages, [r.item.id for r in first.rows]) == (
        8,
        3,
        [s.items["split"], s.items["mislabeled"], s.items["empty"]],
    )
    assert last.page == 3 and [r.item.id for r in last.rows] == [s.items["dup_c"], s.items["terse"]]


def test_each_row_carries_its_evidence_side_by_side(db):
    s = make_project(db)
    with db.read() as session:
        rows = {row.item.id: row for row in queue_page(session, s.project_id, page_size=20).rows}
    mislabeled = rows[s.items["mislabeled"]]
    assert [f.detector for f in mislabeled.flags] == ["label_issue", "short_output"]
    assert mislabeled.flags[0].explanation.lines[:2] == [
        "given label: bug (probability 5%)",
        "suggested label: billing (probability 90%)",
    ]
    assert mislabeled.label == GoldLabel("bug", "imported") and mislabeled.suggested_label == "billing"

    dup_a = rows[s.items["dup_a"]]
    assert dup_a.group == str(s.items["dup_a"])
    assert list(dup_a.related) == [s.items["dup_b"], s.items["dup_c"]]
    nearest = dup_a.related[s.items["dup_b"]]
    assert (nearest.prompt, nearest.response, nearest.label) == (
        "Invoice for March is wrong!",
        "We fixed the invoice.",
        GoldLabel("billing", "imported"),
    )

    split = rows[s.items["split"]]
    assert split.votes == [("ann1", "billing"), ("ann2", "bug")] and split.suggested_label is None  # a tie
    assert split.flags[0].explanation.lines == [
        "votes: billing 1, bug 1",
        "ann1: billing",
        "ann2: bug",
        "a tie: the lead decides (relabel)",
    ]
    flagged = rows[s.items["flagged"]].flags[0].explanation
    assert flagged.lines == ["flagged by ann1: Harmful response", "comment: rude <b>answer</b>"]


def test_a_decided_item_leaves_the_queue_and_an_undo_brings_it_back(db):
    s = make_project(db)
    with db.write() as session:
        decision = decide(session, s.project_id, s.lead, DecisionRequest(s.items["empty"], "drop"))
    assert "empty" not in _names(db, s)
    with db.write() as session:
        undo(session, s.project_id, s.lead, decision.id)
    assert "empty" in _names(db, s)
    with db.write() as session:
        # An edit that answers none of the flags leaves the item in the queue, showing the new text.
        decide(
            session,
            s.project_id,
            s.lead,
            DecisionRequest(s.items["empty"], "edit", response="Click 'Forgot'.", flag_ids=()),
        )
    with db.read() as session:
        row = next(
            r for r in queue_page(session, s.project_id, page_size=20).rows if r.item.id == s.items["empty"]
        )
    assert row.edited and row.sample["output"] == "Click 'Forgot'." and row.item.sample["output"] == ""


def test_bulk_keep_of_a_filter_answers_only_the_matching_flags_and_is_undone_at_once(db):
    s = make_project(db)
    low_short = QueueFilter(detectors=("short_output",), max_severity=0.3)
    with db.write() as session:
        outcome = decide_filter(session, s.project_id, s.lead, low_short, "keep", reason="fine as is")
    assert sorted(outcome.item_ids) == sorted([s.items["terse"], s.items["mislabeled"]])
    names = _names(db, s)
    assert "terse" not in names and "mislabeled" in names  # its label issue is still open
    with db.read() as session:
        label_issue, short = (session.get(NoiseFlag, f).status for f in s.flags["mislabeled"])
    assert (label_issue, short) == ("open", "resolved")
    with db.write() as session:
        undo(session, s.project_id, s.lead, outcome.decisions[0].id)
    assert _names(db, s) == ["split", "mislabeled", "empty", "flagged", "dup_a", "dup_b", "dup_c", "terse"]
    with db.write() as session, pytest.raises(DecisionError, match="no flagged item matches"):
        decide_filter(session, s.project_id, s.lead, QueueFilter(detectors=("refusal",)), "drop")


def test_bulk_keep_one_per_group_and_keep_of_a_whole_group(db):
    s = make_project(db)
    with db.write() as session:
        outcome = decide_filter(
            session, s.project_id, s.lead, QueueFilter(detectors=("near_duplicate",)), "keep_one"
        )
    assert outcome.item_ids == [s.items["dup_a"]]
    with db.read() as session:
        assert kept_by_lead(session, s.project_id) == {s.items["dup_a"]}
    with db.write() as session:
        undo(session, s.project_id, s.lead, outcome.decisions[0].id)
        decide_group(session, s.project_id, s.lead, s.items["dup_b"], "keep", reason="different invoices")
    with db.read() as session:
        assert near_duplicate_groups(session, s.project_id) == {}
    assert not {"dup_a", "dup_b", "dup_c"} & set(_names(db, s))
    with db.write() as session, pytest.raises(DecisionError, match="edit' cannot be applied in bulk"):
        decide_filter(session, s.project_id, s.lead, QueueFilter(), "edit")
