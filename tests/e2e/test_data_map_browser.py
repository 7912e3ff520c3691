"""In a real browser: the Data map draws its WebGL points, and clicking one opens its item below."""

from __future__ import annotations

import re

import pytest
from server import PASSWORDS, sign_in

from fakes import FakeEmbedder
from insight.map_seed import MODEL, TOPICS, seed_topic_project
from workbench.embed import embed_project
from workbench.insight.map import build_map
from workbench.store import migrate, users
from workbench.store.engine import Database
from workbench.store.schema import Item
from workbench.text import content_hash
from workbench.ui.server import AppServer

TIMEOUT_MS = 60_000
HOSTILE = '<img src="x" onerror="window.__pwned = 1"> card payment declined'


@pytest.fixture
def mapped_app(tmp_path, monkeypatch):
    """The app on a database with a lead and a mapped three-topic project (one item holds HTML)."""
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))  # the server inherits it
    url = f"sqlite:///{tmp_path / 'map.sqlite'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        users.add_user(session, "lead1", PASSWORDS["lead1"], "lead")
    project_id = seed_topic_project(db, label_every=2)
    with db.write() as session:
        session.add(Item(project_id=project_id, shape="text", sample={"text": HOSTILE}, text=HOSTILE,
                         content_hash=content_hash(HOSTILE)))
    embed_project(db, project_id, embedder=FakeEmbedder(MODEL))
    build_map(db, project_id)
    db.dispose()
    with AppServer(url) as server:
        yield server


def _drawn(page) -> dict:
    """What Plotly drew: trace types, points per trace, and the first labeled point's position."""
    return page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const layout = gd._fullLayout, box = gd.getBoundingClientRect();
        const traces = gd._fullData;
        const labeled = traces.find(trace => trace.name.startsWith('card'));
        return {
            types: traces.map(trace => trace.type),
            points: traces.reduce((n, trace) => n + trace.customdata.length, 0),
            canvases: gd.querySelectorAll('canvas').length,
            x: box.left + layout._size.l + layout.xaxis.l2p(labeled.x[0]),
            y: box.top + layout._size.t + layout.yaxis.l2p(labeled.y[0]),
            item: labeled.customdata[0],
        };
    }""")


def test_the_map_draws_every_point_and_a_click_opens_the_item(mapped_app, new_page) -> None:
    page = new_page()
    page.set_viewport_size({"width": 1300, "height": 1000})
    sign_in(page, mapped_app.url, "lead1", timeout_ms=TIMEOUT_MS)
    page.get_by_role("link", name="Data map").click()
    page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("heading", name="Clusters").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)

    drawn = _drawn(page)
    assert set(drawn["types"]) == {"scattergl"} and drawn["points"] == 151 and drawn["canvases"] >= 1
    assert page.get_by_test_id("stException").count() == 0

    page.mouse.move(drawn["x"], drawn["y"])
    page.mouse.click(drawn["x"], drawn["y"])
    exact = re.compile(f"^{re.escape(TOPICS['card'].format(i=0))}$")
    page.get_by_test_id("stText").filter(has_text=exact).wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(f"item {drawn['item']} · status active").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_test_id("stException").count() == 0
    assert page.evaluate("window.__pwned") is None and page.locator("img[onerror]").count() == 0

    # A box around the clicked point's neighbourhood selects several: they are listed to choose from.
    page.locator('.modebar-btn[data-val="select"]').click()
    page.mouse.move(drawn["x"] - 60, drawn["y"] - 60)
    page.mouse.down()
    page.mouse.move(drawn["x"] + 60, drawn["y"] + 60, steps=8)
    page.mouse.up()
    page.get_by_text(re.compile(r"^\d+ points selected\.$")).wait_for(timeout=TIMEOUT_MS)
    page.get_by_test_id("stSelectbox").filter(has_text="Item").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_test_id("stException").count() == 0
