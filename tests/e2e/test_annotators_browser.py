"""In a real browser: the lead's Annotators page renders its agreement figures and draws the
pairwise kappa and confusion heat maps, the agreement-per-day lines, the labels-over-time bars and
the time-per-item boxes."""

from __future__ import annotations

from datetime import timedelta

from server import sign_in
from sqlalchemy import select

from workbench.store import labeling
from workbench.store.engine import Database
from workbench.store.schema import Item, Project, User, utcnow

TIMEOUT_MS = 30_000
# Three annotators' labels on the seeded project's four items.
LABELS = {
    "ann": ["chat", "code", "chat", "chat"],
    "bo": ["chat", "code", "code", "chat"],
    "cy": ["chat", "code"],
}


def _label_the_seeded_items(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as session:
        project = session.scalar(select(Project).where(Project.name == "demo"))
        items = session.scalars(select(Item.id).where(Item.project_id == project.id).order_by(Item.id)).all()
        people = {"ann": session.scalar(select(User.id).where(User.username == "ann"))}
        for name in ("bo", "cy"):
            user = User(username=name, password_hash="not-a-hash", role="annotator")
            session.add(user)
            session.flush()
            people[name] = user.id
        start = utcnow() - timedelta(hours=3)
        for offset, (name, labels) in enumerate(LABELS.items()):
            for i, (item, label) in enumerate(zip(items, labels, strict=False)):
                saved = start + timedelta(minutes=40 * offset + i)
                labeling.save_label(
                    session, project.id, people[name], item, label, seconds_spent=4.0 + i, now=saved
                )
    db.dispose()


def test_the_annotators_page_draws_the_kappa_heat_map(app, new_page):
    _label_the_seeded_items(app.db_url)
    page = new_page()
    sign_in(page, app.url, "lead1")
    page.get_by_role("link", name="Annotators").click()

    page.get_by_role("heading", name="Cohen's kappa per pair").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)
    # The kappa and confusion heat maps are painted (Plotly draws a heat map as an image); the
    # agreement lines, the bars and the boxes have a trace per annotator.
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .heatmaplayer image').length === 2"
        " && document.querySelectorAll('.js-plotly-plot .barlayer .trace').length === 3"
        " && document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length === 3"
        " && document.querySelectorAll('.js-plotly-plot .boxlayer .trace').length === 3",
        timeout=TIMEOUT_MS,
    )
    assert page.locator(".js-plotly-plot").count() == 5
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Fleiss' kappa").count() >= 1
    assert page.get_by_text("No overlap yet").count() == 0
