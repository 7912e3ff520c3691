"""The export page: a lead previews the mixture, writes the files and can download them; a bad
mixture is named; annotators never get the page."""

from __future__ import annotations

import json

import pytest
from ui_helpers import add_item, add_project

from workbench.ui import auth

EXPORT_PAGE = "views/export.py"


@pytest.fixture
def export_page(monkeypatch):
    """The export page registered as lead-only (whether or not ``auth.PAGES`` lists it yet)."""
    if not any(page.path == EXPORT_PAGE for page in auth.PAGES):
        page = auth.PageSpec(EXPORT_PAGE, "Export", ":material/download:", roles=auth.LEAD_ONLY)
        monkeypatch.setattr(auth, "PAGES", (*auth.PAGES, page))


@pytest.fixture
def labeled(app_db):
    with app_db.write() as session:
        project = add_project(session)
        for i in range(6):
            add_item(
                session, project, {"instruction": f"Chat {i}", "input": "", "output": "hi"}, label="chat"
            )
        for i in range(2):
            add_item(
                session, project, {"instruction": f"Code {i}", "input": "", "output": "x = 1"}, label="code"
            )
    return app_db


def _open(signed_in):
    at = signed_in("lead1")
    at.switch_page(EXPORT_PAGE).run()
    assert not at.exception, at.exception
    return at


def test_a_lead_previews_then_exports_and_downloads(export_page, labeled, signed_in, tmp_path):
    at = _open(signed_in)
    at.text_area(key="export_mixture").input("label=chat:0.5,code:0.5")
    at.number_input(key="export_size").set_value(8)
    at.text_input(key="export_folder").input(str(tmp_path / "out"))
    at.button(key="export_preview").click().run()
    assert not at.exception, at.exception

    preview = at.dataframe[0].value
    assert preview.loc["code", "before"] == 2 and preview.loc["code", "after"] == 4
    assert preview.loc["chat", "after"] == 4 and preview.loc["chat", "drops"] == 2

    at.button(key="export_write").click().run()
    assert not at.exception, at.exception
    records = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert sorted(record["label"] for record in records) == ["chat"] * 4 + ["code"] * 4
    assert "Wrote 3 files" in at.success[0].value
    assert len(at.get("download_button")) == 3


def test_a_bad_mixture_is_named(export_page, labeled, signed_in):
    at = _open(signed_in)
    at.text_area(key="export_mixture").input("label=chat:0.5,poetry:0.5")
    at.button(key="export_preview").click().run()

    assert any("no exported item has 'poetry'" in error.value for error in at.error)
    assert not at.dataframe


def test_annotators_do_not_get_the_page(export_page, labeled, signed_in):
    assert EXPORT_PAGE not in [page.path for page in auth.pages_for("annotator")]
    at = signed_in("ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(EXPORT_PAGE)


def test_the_mixture_example_names_the_projects_own_labels(export_page, labeled, signed_in):
    at = _open(signed_in)
    placeholder = at.text_area(key="export_mixture").placeholder
    assert placeholder.startswith("label=") and "chat:" in placeholder and "math" not in placeholder
