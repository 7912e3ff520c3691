"""Which pages a session registers: by role, re-read from the database on every run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workbench.store import users
from workbench.ui import auth
from workbench.ui.auth import LEAD_ONLY, PageSpec, SignedInUser

ACCOUNT_PAGE = "views/account.py"


@pytest.fixture
def account_page_lead_only(monkeypatch):
    """Stand-in for the lead pages issue 4 adds: the account page marked lead-only."""
    pages = tuple(
        replace(page, roles=LEAD_ONLY) if page.path == ACCOUNT_PAGE else page for page in auth.PAGES
    )
    monkeypatch.setattr(auth, "PAGES", pages)


def test_an_annotator_gets_no_lead_only_page(monkeypatch):
    admin = PageSpec("views/admin.py", "Admin", ":material/shield:", roles=LEAD_ONLY)
    monkeypatch.setattr(auth, "PAGES", (*auth.PAGES, admin))

    annotator_pages = auth.pages_for("annotator")
    assert annotator_pages and not any(page.lead_only for page in annotator_pages)
    assert admin in auth.pages_for("lead")
    assert auth.pages_for("visitor") == []


def test_signed_out_and_password_owing_sessions_get_a_single_page():
    lead = SignedInUser(id=1, username="boss", role="lead", must_change_password=False)
    assert auth.pages_for_user(None) == [auth.SIGN_IN_PAGE]
    assert auth.pages_for_user(replace(lead, must_change_password=True)) == [auth.NEW_PASSWORD_PAGE]
    assert auth.pages_for_user(lead) == auth.pages_for("lead")


def test_annotators_start_on_the_label_page_and_leads_on_the_overview():
    lead = SignedInUser(id=1, username="boss", role="lead", must_change_password=False)
    annotator = replace(lead, username="ann", role="annotator")
    assert auth.home_page(annotator).title == "Label"
    assert auth.home_page(lead).title == "Overview"
    assert auth.home_page(replace(annotator, must_change_password=True)) == auth.NEW_PASSWORD_PAGE
    assert auth.home_page(None) == auth.SIGN_IN_PAGE


def test_an_annotator_cannot_open_a_lead_only_page(account_page_lead_only, signed_in):
    annotator = signed_in("ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        annotator.switch_page(ACCOUNT_PAGE)

    lead = signed_in("lead1")
    lead.switch_page(ACCOUNT_PAGE).run()
    assert [title.value for title in lead.title] == ["Account"]


def test_a_role_change_takes_effect_on_the_next_run(account_page_lead_only, app_db, signed_in):
    at = signed_in("lead1")
    at.switch_page(ACCOUNT_PAGE).run()
    with app_db.write() as session:
        users.set_role(session, users.get_user(session, "lead1"), "annotator")

    at.run()

    # The account page is gone; the session lands on the annotator's home.
    assert [title.value for title in at.title] == ["Label"]
    with pytest.raises(ValueError):
        at.switch_page(ACCOUNT_PAGE)
