"""The labeling page: an annotator labels, skips, undoes, flags, corrects and changes labels."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from ui_helpers import add_item, add_project, texts

from workbench.store import users
from workbench.store.schema import (
    Annotation,
    Assignment,
    Candidate,
    Item,
    ItemRevision,
    NoiseFlag,
    Prediction,
    Round,
)

LABEL_PAGE = "views/label.py"
# The keys of the expanders whose content is built only while they are open.
FLAG_OPEN, CORRECT_OPEN, RECENT_OPEN = "label_flag_open", "label_correct_open", "label_recent_open"


@pytest.fixture
def items(app_db) -> list[int]:
    """Project 'demo' (chat, code) with three Alpaca items; the first holds HTML and script."""
    with app_db.write() as session:
        project = add_project(session)
        samples = [
            {"instruction": "Show <script>alert(1)</script>", "output": '<img src=x onerror="alert(2)">'},
            {"instruction": "Write a haiku", "output": "Leaves fall"},
            {"instruction": "Sort a list in Python", "output": "sorted(xs)"},
        ]
        return [add_item(session, project, sample).id for sample in samples]


@pytest.fixture
def page(signed_in, items):
    at = signed_in("ann")
    at.switch_page(LABEL_PAGE).run()
    assert not at.exception, at.exception
    return at


def _annotations(db) -> dict[int, str]:
    with db.read() as session:
        return dict(session.execute(select(Annotation.item_id, Annotation.label)).all())


def _click(at, key):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _open(at, expander_key):
    """Open an expander as a click on it does (its content is built from this run on)."""
    at.session_state[expander_key] = True
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_one_item_as_text_and_why_it_came(page, items):
    shown = texts(page)
    assert "Show <script>alert(1)</script>" in shown
    assert '<img src=x onerror="alert(2)">' in shown
    assert "Write a haiku" not in shown
    assert any("No round yet" in caption.value for caption in page.caption)


def test_label_buttons_save_and_move_on_and_undo_brings_the_item_back(page, app_db, items):
    _click(page, "label_0")  # chat
    assert "Write a haiku" in texts(page)
    _click(page, "label_1")  # code
    assert _annotations(app_db) == {items[0]: "chat", items[1]: "code"}

    _click(page, "undo")
    assert _annotations(app_db) == {items[0]: "chat"}
    assert "Write a haiku" in texts(page)


def test_skip_moves_on_and_the_skipped_item_goes_to_others(page, app_db, items):
    _click(page, "skip")
    assert "Write a haiku" in texts(page)
    with app_db.read() as session:
        assert session.scalar(select(Assignment.status).where(Assignment.item_id == items[0])) == "skipped"


def test_the_forms_and_recent_labels_are_built_only_when_opened(page):
    assert not page.get("text_area") and not page.get("selectbox")
    _open(page, FLAG_OPEN)
    assert [box.key for box in page.selectbox] == ["flag_reason"]


def test_a_flag_with_reason_and_comment_reaches_the_review_queue(page, app_db, items):
    _open(page, FLAG_OPEN)
    page.selectbox(key="flag_reason").set_value("harmful_response")
    page.text_area(key="flag_comment").input("tries to run a script")
    page.button(key="flag_submit").click().run()
    assert not page.exception, page.exception
    with app_db.read() as session:
        flag = session.scalars(select(NoiseFlag)).one()
    assert (flag.item_id, flag.evidence["reason"], flag.evidence["comment"]) == (
        items[0],
        "harmful_response",
        "tries to run a script",
    )
    assert "Write a haiku" in texts(page)
    assert not page.get("text_area")  # the form closed after flagging


def test_a_corrected_response_is_saved_and_shown(page, app_db, items):
    _open(page, CORRECT_OPEN)
    page.text_area(key=f"correct_{items[0]}").input("Here is the text, shown safely.")
    page.button(key="correct_submit").click().run()
    assert not page.exception, page.exception
    with app_db.read() as session:
        revision = session.scalars(select(ItemRevision)).one()
    assert revision.sample["output"] == "Here is the text, shown safely."
    assert "Here is the text, shown safely." in texts(page)


def test_a_recent_label_can_be_changed(page, app_db, items):
    _click(page, "label_0")
    _open(page, RECENT_OPEN)
    with app_db.read() as session:
        annotation_id = session.scalar(select(Annotation.id))
    page.selectbox(key=f"recent_{annotation_id}").set_value("code").run()
    assert not page.exception, page.exception
    assert _annotations(app_db) == {items[0]: "code"}


def test_candidates_show_the_sampler_reason_and_the_suggested_label(signed_in, app_db, items):
    with app_db.write() as session:
        round_ = Round(project_id=session.get(Item, items[2]).project_id, number=1, classes=["chat", "code"])
        session.add(round_)
        session.flush()
        session.add(
            Candidate(
                round_id=round_.id,
                item_id=items[2],
                sampler="margin",
                score=0.03,
                rank=0,
                reason="margin 0.03",
            )
        )
        session.add(
            Prediction(
                round_id=round_.id,
                item_id=items[2],
                predicted_label="code",
                confidence=0.61,
                probabilities=b"",
            )
        )
    at = signed_in("ann")
    at.switch_page(LABEL_PAGE).run()
    captions = [caption.value.replace("\\", "") for caption in at.caption]  # markdown-escaped
    assert "Sort a list in Python" in texts(at)
    assert any("margin 0.03" in caption for caption in captions)
    assert any("Suggested label: code (61%)" in caption for caption in captions)


def test_an_empty_queue_says_so(page, app_db):
    for _ in range(3):
        _click(page, "label_0")
    assert any("Nothing left in your queue" in message.value for message in page.success)


def test_a_deactivated_annotator_is_signed_out_before_labeling(page, app_db, items):
    with app_db.write() as session:
        users.set_active(session, users.get_user(session, "ann"), False)
    page.run()
    assert _annotations(app_db) == {}
    assert [title.value for title in page.title] == ["Sign in"]
