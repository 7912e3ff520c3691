"""In a real browser: the lead's Learning page renders its Plotly curves without an exception."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from learning_seed import add_topics_project, run_labeled_rounds
from server import PASSWORDS, sign_in

from workbench.store import migrate, users
from workbench.store.engine import Database
from workbench.ui.server import AppServer

TIMEOUT_MS = 30_000


@pytest.fixture
def learning_app(tmp_path) -> Iterator[AppServer]:
    """The app on a database whose only project has four rounds (three with a scorer)."""
    url = f"sqlite:///{tmp_path / 'learning.sqlite'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        users.add_user(session, "lead1", PASSWORDS["lead1"], "lead")
    run_labeled_rounds(db, add_topics_project(db), 4, tmp_path / "models")
    db.dispose()
    with AppServer(url) as server:
        yield server


def test_the_learning_page_draws_its_curves(learning_app, new_page):
    page = new_page()
    sign_in(page, learning_app.url, "lead1")
    page.get_by_role("link", name="Learning").click()

    page.get_by_role("heading", name="Is active learning paying off?").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)
    plots = page.locator(".js-plotly-plot")
    plots.first.wait_for(timeout=TIMEOUT_MS)
    # Each chart has drawn its traces (an SVG path per line or bar), not only an empty frame.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter("
        "p => p.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length > 0).length >= 6",
        timeout=TIMEOUT_MS,
    )
    assert plots.count() == 6
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Too early to tell").count() == 1
