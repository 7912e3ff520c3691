"""The Review page in AppTest: the lead reads flags with evidence, relabels, undoes, bulk-keeps a filter."""

from __future__ import annotations

import pytest
from review.review_setup import make_project
from sqlalchemy import select
from ui_helpers import error_messages, texts

from workbench.store.gold import GoldLabel, gold_labels
from workbench.store.schema import Annotation, Decision, NoiseFlag

REVIEW_PAGE = "views/review.py"


def _review(signed_in):
    at = signed_in("lead1")
    at.switch_page(REVIEW_PAGE).run()
    assert not at.exception, at.exception
    return at


def test_the_lead_sees_flags_with_evidence_relabels_and_undoes(app_db, signed_in):
    s = make_project(app_db)
    at = _review(signed_in)
    shown = texts(at)
    assert (
        "given label: bug (probability 5%)\nsuggested label: billing (probability 90%)\n"
        "label quality: 0.1 (0 = surely wrong, 1 = surely right)" in shown
    )
    assert "Tell me a joke <script>alert(1)</script>" in shown  # HTML in a sample is text
    assert "flagged by ann1: Harmful response\ncomment: rude <b>answer</b>" in shown
    assert "votes: billing 1, bug 1\nann1: billing\nann2: bug\na tie: the lead decides (relabel)" in shown

    item = s.items["mislabeled"]
    assert at.selectbox(key=f"review_label_{item}").value == "billing"  # the scorer's suggestion first
    at.selectbox(key=f"review_label_{item}").select("billing")
    at.text_input(key=f"review_reason_{item}").input("double charge = billing")
    at.button(key=f"review_relabel_{item}").click().run()
    assert not at.exception and not error_messages(at)
    with app_db.read() as session:
        assert gold_labels(session, s.project_id)[item] == GoldLabel("billing", "lead")
        decision = session.scalar(select(Decision).where(Decision.item_id == item))
        assert decision.reason == "double charge = billing"
    assert f"review_relabel_{item}" not in {button.key for button in at.button}  # it left the queue

    at.button(key="review_undo_last").click().run()
    assert not at.exception
    with app_db.read() as session:
        assert item not in gold_labels(session, s.project_id)
        assert {f.status for f in session.scalars(select(NoiseFlag).where(NoiseFlag.item_id == item))} == {
            "open"
        }
    assert f"review_relabel_{item}" in {button.key for button in at.button}


def test_a_tie_offers_a_label_the_annotators_gave_not_the_schemas_first(app_db, signed_in):
    s = make_project(app_db)
    item = s.items["split"]
    with app_db.write() as session:  # ann1 changes billing -> other: a tie between other and bug
        vote = session.scalar(
            select(Annotation).where(Annotation.item_id == item, Annotation.user_id == s.annotators["ann1"])
        )
        vote.label = "other"
    at = _review(signed_in)
    assert at.selectbox(key=f"review_label_{item}").value in {"other", "bug"}


def test_the_lead_bulk_keeps_a_filter_after_a_confirmation(app_db, signed_in):
    s = make_project(app_db)
    at = _review(signed_in)
    at.multiselect(key="review_detectors").select("short_output").run()
    at.slider(key="review_severity").set_value((0.0, 0.3)).run()
    at.selectbox(key="review_bulk_action").select("keep")
    at.button(key="review_bulk_start").click().run()
    assert any("Keep: 2 items" in warning.value for warning in at.warning)
    with app_db.read() as session:
        assert session.scalar(select(Decision.id)) is None  # nothing before the confirmation

    at.button(key="review_bulk_confirm").click().run()
    assert not at.exception and not error_messages(at)
    with app_db.read() as session:
        status = {f.id: f.status for f in session.scalars(select(NoiseFlag))}
    label_issue, short = s.flags["mislabeled"]
    assert status[short] == status[s.flags["terse"][0]] == "resolved"
    assert status[label_issue] == status[s.flags["empty"][0]] == "open"


def test_a_refused_decision_is_shown_not_raised(app_db, signed_in):
    s = make_project(app_db)
    at = _review(signed_in)
    item = s.items["empty"]
    at.text_area(key=f"review_response_{item}").input("")
    at.button(key=f"review_edit_{item}").click().run()
    assert not at.exception
    assert error_messages(at) == [f"item {item}: the corrected response is empty"]


def test_an_annotator_cannot_reach_the_review_page(app_db, signed_in):
    make_project(app_db)
    at = signed_in("ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(REVIEW_PAGE)
