"""The Annotators page: a lead sees the per-annotator table, the kappas and the heat map; without
overlap an empty state offers to ask for two annotations per item; annotators never get the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from ui_helpers import add_item, add_project

from workbench.store import labeling, users
from workbench.store.schema import AuditEntry, Project, User
from workbench.ui import auth

PAGE = "views/annotators.py"
# (ann's label, bo's label) on six items: they agree on 5 of 6.
PAIRED = [
    ("chat", "chat"), ("chat", "chat"), ("code", "code"), ("code", "code"), ("chat", "code"), ("code", "code")
]


def _second_annotator(session) -> int:
    user = User(username="bo", password_hash="not-a-hash", role="annotator")  # never signs in
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def overlapped(app_db):
    with app_db.write() as session:
        project = add_project(session)
        ann, bo = users.get_user(session, "ann").id, _second_annotator(session)
        for i, (first, second) in enumerate(PAIRED):
            item = add_item(session, project, {"instruction": f"Item {i}", "input": "", "output": "x"})
            labeling.save_label(session, project.id, ann, item.id, first, seconds_spent=5.0 + i)
            labeling.save_label(session, project.id, bo, item.id, second, seconds_spent=9.0)
    return app_db


@pytest.fixture
def single(app_db):
    with app_db.write() as session:
        project = add_project(session)
        ann = users.get_user(session, "ann").id
        for i in range(3):
            item = add_item(session, project, {"instruction": f"Item {i}", "input": "", "output": "x"})
            labeling.save_label(session, project.id, ann, item.id, "chat", seconds_spent=4.0)
    return app_db


def _open(signed_in):
    at = signed_in("lead1")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _frame(at, column: str):
    """The table that has ``column`` (AppTest gives a read-only table no key)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def _metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_a_lead_sees_the_table_the_kappas_and_the_heat_map(overlapped, signed_in):
    at = _open(signed_in)
    assert [title.value for title in at.title] == ["Annotators"]

    table = _frame(at, "annotator").set_index("annotator")
    assert list(table.index) == ["ann", "bo"]
    assert table.loc["ann", "labels"] == 6 and table.loc["bo", "agreement n"] == 6
    assert table.loc["ann", "agreement"] == pytest.approx(5 / 6)
    assert table.loc["ann", "median s"] == pytest.approx(7.5)  # 5..10 s

    metrics = _metrics(at)
    # kappa for two raters: p_o = 5/6, shares chat 5/12, code 7/12.
    chance = (5 / 12) ** 2 + (7 / 12) ** 2
    assert float(metrics["Fleiss' kappa"]) == pytest.approx((5 / 6 - chance) / (1 - chance), abs=5e-4)
    assert metrics["Overlapped items"] == "6"
    assert metrics["Krippendorff's alpha"] != "–"
    charts = at.get("plotly_chart")
    # kappa heat map, confusions, agreement per day, labels over time, time per item
    assert len(charts) == 5
    assert not at.info

    # ann's one disagreement: "chat" where bo (the reference) said "code".
    assert at.selectbox(key="annotators_confusion_user").value == "ann"
    assert _frame(at, "gave").to_dict("records") == [
        {"gave": "chat", "reference": "code", "items": 1}
    ]
    at.selectbox(key="annotators_confusion_user").select("bo").run()
    assert _frame(at, "gave").to_dict("records") == [
        {"gave": "code", "reference": "chat", "items": 1}
    ]

    # The one item they labeled differently, with the item's text.
    differ = _frame(at, "lead's label")
    assert differ[["text", "ann", "bo"]].to_dict("records") == [
        {"text": "Item 4\n\nx", "ann": "chat", "bo": "code"}
    ]


def test_without_overlap_the_page_says_so_and_sets_the_overlap(single, signed_in):
    at = _open(signed_in)
    assert "No overlap yet" in at.info[0].value and "overlap to 2" in at.info[0].value
    assert "Fleiss' kappa" not in _metrics(at)
    assert _frame(at, "annotator")["annotator"].tolist() == ["ann"]  # the table is still shown

    at.button(key="annotators_set_overlap").click().run()
    assert not at.exception, at.exception

    with single.read() as session:
        assert session.scalar(select(Project)).settings["overlap"] == 2
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "project.overlap"))
        assert (entry.actor, entry.before, entry.after) == ("lead1", {"overlap": 1}, {"overlap": 2})
    messages = [info.value for info in at.info]
    assert any("Overlap set to 2" in message for message in messages)
    assert any("asks for 2 annotations per item" in message for message in messages)
    assert not at.get("button") or all(button.key != "annotators_set_overlap" for button in at.button)


def test_a_lead_changes_the_overlap_in_the_form(overlapped, signed_in):
    at = _open(signed_in)
    assert _metrics(at)["Overlap setting"] == "1"
    at.number_input(key="annotators_overlap").set_value(3)
    at.button(key="annotators_overlap_save").click().run()
    assert not at.exception, at.exception

    with overlapped.read() as session:
        assert session.scalar(select(Project)).settings["overlap"] == 3
    assert _metrics(at)["Overlap setting"] == "3"
    assert any("Overlap set to 3" in info.value for info in at.info)


def test_a_project_without_labels_gets_a_clear_message(app_db, signed_in):
    with app_db.write() as session:
        add_project(session)
    at = _open(signed_in)
    assert [info.value for info in at.info] == [
        "Nobody has labeled, skipped or flagged an item in this project yet."
    ]
    assert not at.get("plotly_chart")


def test_annotators_do_not_get_the_page(overlapped, signed_in):
    assert PAGE not in [page.path for page in auth.pages_for("annotator")]
    at = signed_in("ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
