"""In a real browser: the lead opens Review, reads a flagged item whose HTML stays text, and drops it."""

from __future__ import annotations

import re

from server import SCRIPT_INSTRUCTION, SCRIPT_OUTPUT, sign_in
from sqlalchemy import select

from workbench.store.engine import Database
from workbench.store.schema import Decision, Item, NoiseFlag

TIMEOUT_MS = 30_000


def _flag_the_script_item(db_url: str) -> int:
    """An annotator's flag on the seeded item whose sample holds <script> and an onerror image."""
    db = Database(db_url)
    with db.write() as session:
        item = session.scalar(
            select(Item).where(Item.sample["instruction"].as_string() == SCRIPT_INSTRUCTION)
        )
        evidence = {"reason": "harmful_response", "comment": "<i>odd</i>", "by": "ann"}
        session.add(
            NoiseFlag(
                project_id=item.project_id,
                item_id=item.id,
                detector="annotator_flag",
                severity=0.8,
                evidence=evidence,
            )
        )
        item_id = item.id
    db.dispose()
    return item_id


def test_the_lead_drops_a_flagged_item_whose_html_stays_text(app, new_page):
    item_id = _flag_the_script_item(app.db_url)
    page = new_page()
    sign_in(page, app.url, "lead1")
    page.get_by_role("link", name="Review").click()

    exact = re.compile(f"^{re.escape(SCRIPT_INSTRUCTION)}$")
    page.get_by_test_id("stText").filter(has_text=exact).wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("comment: <i>odd</i>").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)
    assert (
        page.get_by_test_id("stText").filter(has_text=re.compile(f"^{re.escape(SCRIPT_OUTPUT)}$")).count()
        == 1
    )
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[onerror]").count() == 0 and page.locator("i", has_text="odd").count() == 0

    page.get_by_role("button", name="Drop", exact=True).click()
    page.get_by_text(f"Dropped item {item_id}.").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("No flagged item matches.").wait_for(timeout=TIMEOUT_MS)  # the same run, shown later

    db = Database(app.db_url)
    with db.read() as session:
        assert session.get(Item, item_id).status == "dropped"
        decision = session.scalar(select(Decision).where(Decision.item_id == item_id))
        assert (decision.action, decision.before["status"], decision.after["status"]) == (
            "drop",
            "active",
            "dropped",
        )
        assert session.scalar(select(NoiseFlag.status).where(NoiseFlag.item_id == item_id)) == "resolved"
    db.dispose()
    assert page.evaluate("window.__pwned") is None
