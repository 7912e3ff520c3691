"""In a real browser: keyboard labeling with undo, HTML shown as text, lead pages unreachable."""

from __future__ import annotations

import re

from server import SAMPLES, SCRIPT_INSTRUCTION, SCRIPT_OUTPUT, sign_in
from sqlalchemy import select

from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Item

TIMEOUT_MS = 30_000


def _wait_for_item(page, instruction: str) -> None:
    """Wait until the item is on screen and the script run that shows it has finished (so the
    label buttons, and their shortcuts, belong to this item)."""
    # Exactly the text: the list of recent labels holds previews that start with it.
    exact = re.compile(f"^{re.escape(instruction)}$")
    page.get_by_test_id("stText").filter(has_text=exact).wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)


def _labels(db_url: str) -> dict[str, str]:
    db = Database(db_url)
    with db.read() as session:
        rows = session.execute(
            select(Item.sample, Annotation.label).join(Item, Item.id == Annotation.item_id)
        ).all()
    db.dispose()
    return {sample["instruction"]: label for sample, label in rows}


def test_an_annotator_labels_with_keys_and_undoes_and_html_stays_text(app, new_page):
    page = new_page()
    sign_in(page, app.url, "ann")  # an annotator's home is the labeling page

    _wait_for_item(page, SCRIPT_INSTRUCTION)
    # As a text element (the correct-the-response form holds it too, in its text area).
    _wait_for_item(page, SCRIPT_OUTPUT)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[onerror]").count() == 0

    for key, next_sample in zip("121", SAMPLES[1:], strict=True):
        page.keyboard.press(key)
        _wait_for_item(page, next_sample["instruction"])
    page.get_by_role("button", name="Undo last action").click()
    _wait_for_item(page, SAMPLES[2]["instruction"])
    # A press reruns only the labeling part of the page, which shows the notice itself.
    page.get_by_text("Undone: the label of item").wait_for(timeout=TIMEOUT_MS)

    assert _labels(app.db_url) == {SCRIPT_INSTRUCTION: "chat", SAMPLES[1]["instruction"]: "code"}
    assert page.evaluate("window.__pwned") is None


def test_an_annotator_deactivated_while_labeling_is_signed_out_at_the_next_key(app, new_page):
    page = new_page()
    sign_in(page, app.url, "ann")
    page.get_by_role("link", name="Label").click()
    _wait_for_item(page, SCRIPT_INSTRUCTION)
    db = Database(app.db_url)
    with db.write() as session:
        users.set_active(session, users.get_user(session, "ann"), False)
    db.dispose()

    page.keyboard.press("1")

    page.get_by_role("heading", name="Sign in").wait_for(timeout=TIMEOUT_MS)
    assert _labels(app.db_url) == {}


def _open_by_url(page, path: str) -> None:
    """Go to ``path`` inside the signed-in session, as the browser's address bar history does.

    (A full reload would start a new, signed-out session: the identity lives in the session.)
    """
    page.evaluate(
        "path => { history.pushState({}, '', path); window.dispatchEvent(new PopStateEvent('popstate')); }",
        path,
    )


def test_the_admin_page_is_reachable_by_url_for_a_lead_only(app, new_page):
    lead = new_page()
    sign_in(lead, app.url, "lead1")
    _open_by_url(lead, "/admin")
    lead.get_by_role("heading", name="Users").wait_for(timeout=TIMEOUT_MS)

    annotator = new_page()
    sign_in(annotator, app.url, "ann")
    _open_by_url(annotator, "/admin")
    annotator.wait_for_url(f"{app.url}/", timeout=TIMEOUT_MS)
    annotator.get_by_role("heading", name="Label").wait_for(timeout=TIMEOUT_MS)  # the annotator's home
    assert annotator.get_by_role("heading", name="Users").count() == 0
    assert annotator.get_by_text("Create a user").count() == 0
