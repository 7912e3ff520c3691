"""The Data map on a large project: the map job, the page's data, and drawing it in chromium.

Builds a SQLite project of N items (``round_latency.build``: banking77 texts and embeddings with
small noise, 2,000 imported labels), runs one round (predictions for every item) and flags a few
hundred items, then measures by phase, each in a forked child so its peak memory is its own:

- the ``map`` job (``build_map``: read embeddings and labels, k-means, projection, out-of-fold scores,
  atomic write), with PCA and, with ``--umap``, UMAP fitted on a sample and applied to all;
- the page's data: ``map_view`` (stored map + labels, predictions, flags and snippets of the drawn
  points) and ``cluster_summaries`` (c-TF-IDF terms, error estimates, representatives);
- in chromium: Plotly drawing 20,000 (the page's cap) and all N points in a bare page, and the
  real app's Data map page from the click on its link to the WebGL canvas drawn.

Run by hand:

    PYTHONPATH=. python benchmarks/data_map.py --items 100000 [--umap]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from benchmarks.round_latency import build
from workbench import rounds
from workbench.insight import map as embedding_map
from workbench.insight.clusters import cluster_summaries
from workbench.store import migrate, users
from workbench.store.engine import Database
from workbench.store.schema import NoiseFlag
from workbench.ui.server import AppServer

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--no-first-run"]
PASSWORD = "lead-password-1"
UMAP_SAMPLE = 10_000


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def measured(name: str, fn: Callable[[], Any], db: Database) -> Any:
    """Run ``fn`` in a forked child; print its seconds and peak memory above the child's start."""

    def child(queue: multiprocessing.Queue) -> None:
        db.engine.dispose(close=False)  # the parent's pooled connections are not the child's to use
        start_rss = _rss_mb()
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put((seconds, peak - start_rss, result))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    seconds, peak, result = queue.get()
    process.join()
    print(f"{name:<44} {seconds:7.2f} s   peak +{peak:6.0f} MB")
    return result


@embedding_map.projection("umap_sample")
def umap_on_a_sample(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """UMAP fitted on ``UMAP_SAMPLE`` items, every item then placed by ``transform``."""
    import umap
    from threadpoolctl import threadpool_limits

    sample = rng.choice(len(vectors), min(UMAP_SAMPLE, len(vectors)), replace=False)
    with threadpool_limits(limits=1):
        model = umap.UMAP(n_components=2, random_state=int(rng.integers(2**31 - 1))).fit(vectors[sample])
        return model.transform(vectors).astype(np.float32)


def prepare(db: Database, n_items: int, models_dir: Path) -> int:
    project_id = build(db, n_items, 2_000, seed=0)
    with db.write() as session:
        users.add_user(session, "lead1", PASSWORD, "lead")
        flagged = np.random.default_rng(1).choice(np.arange(1, n_items + 1), 500, replace=False)
        session.execute(insert(NoiseFlag), [
            {"project_id": project_id, "item_id": int(i), "detector": "label_issue", "severity": 0.5}
            for i in flagged
        ])
    started = time.perf_counter()
    rounds.run_round(db, project_id, models_dir=models_dir)
    print(f"set-up: {n_items:,} items, 2,000 labels, 500 flags, one round in {time.perf_counter() - started:.1f} s")
    return project_id


def page_data(db: Database, project_id: int, n_items: int) -> None:
    for limit in (embedding_map.MAX_POINTS, n_items):  # the page's cap, and every point for comparison

        def view(limit: int = limit) -> tuple[int, int]:
            with db.read() as session:
                shown = embedding_map.map_view(session, project_id, max_points=limit)
            figure = embedding_map.map_figure(shown, "label")
            return shown.n_shown, len(figure.to_json())

        n_shown, json_bytes = measured(f"page: map_view + map_figure, {limit:,} points", view, db)
        print(f"   {n_shown:,} points drawn, figure JSON {json_bytes / 1e6:.1f} MB")

    def summaries() -> int:
        with db.read() as session:
            return len(cluster_summaries(session, project_id))

    measured("page: cluster_summaries", summaries, db)


def plotly_draw_seconds(page, points: int) -> float:
    """Seconds chromium's Plotly takes to draw a Scattergl of ``points`` random points."""
    return page.evaluate("""async n => {
        const x = new Float32Array(n).map(Math.random), y = new Float32Array(n).map(Math.random);
        const ids = Array.from({length: n}, (_, i) => i);
        const div = document.createElement('div');
        div.style.width = '900px'; div.style.height = '620px';
        document.body.appendChild(div);
        const started = performance.now();
        await Plotly.newPlot(div, [{type: 'scattergl', mode: 'markers', x, y, customdata: ids,
                                    hovertext: ids.map(i => 'item ' + i), marker: {size: 4}}]);
        await new Promise(requestAnimationFrame);
        const seconds = (performance.now() - started) / 1000;
        Plotly.purge(div); div.remove();
        return seconds;
    }""", points)


def browser(db_url: str, n_items: int) -> None:
    from playwright.sync_api import sync_playwright
    from plotly.offline import get_plotlyjs

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = chromium.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=get_plotlyjs())
        for points in (embedding_map.MAX_POINTS, n_items):
            seconds = min(plotly_draw_seconds(page, points) for _ in range(3))
            print(f"{'chromium: Plotly Scattergl of ' + format(points, ',') + ' points':<44} {seconds:7.2f} s")
        page.close()

        with AppServer(db_url) as app:
            page = chromium.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(app.url)
            page.get_by_label("Username").fill("lead1")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("Signed in as").wait_for(timeout=120_000)
            for visit in ("first visit (reads the map)", "second visit (cached data)"):
                started = time.perf_counter()
                page.get_by_role("link", name="Data map").click()
                page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(timeout=300_000)
                drawn = time.perf_counter() - started
                page.get_by_role("heading", name="Clusters").wait_for(timeout=300_000)
                print(f"{'app: Data map ' + visit:<44} {drawn:7.2f} s to the drawn map, "
                      f"{time.perf_counter() - started:.2f} s to the cluster table")
                if visit.startswith("second"):
                    click_seconds(page)
                page.get_by_role("link", name="Overview").click()
                page.get_by_role("heading", name="Overview").wait_for(timeout=120_000)
        chromium.close()


def click_seconds(page) -> None:
    """Click the first point of the largest label's trace; print the seconds until its item shows."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=300_000)
    point = page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const layout = gd._fullLayout, box = gd.getBoundingClientRect(), trace = gd._fullData[1];
        return {x: box.left + layout._size.l + layout.xaxis.l2p(trace.x[0]),
                y: box.top + layout._size.t + layout.yaxis.l2p(trace.y[0]), item: trace.customdata[0]};
    }""")
    page.mouse.move(point["x"], point["y"])
    started = time.perf_counter()
    page.mouse.click(point["x"], point["y"])
    page.get_by_text(f"item {point['item']} · status active").wait_for(timeout=120_000)
    print(f"{'app: click a point to its item shown':<44} {time.perf_counter() - started:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--umap", action="store_true", help=f"also time UMAP fitted on {UMAP_SAMPLE:,} items")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        models_dir = Path(tmp) / "models"
        os.environ["WORKBENCH_MODELS_DIR"] = str(models_dir)  # the app server inherits it
        db_url = f"sqlite:///{Path(tmp) / 'map.sqlite'}"
        db = Database(db_url)
        migrate.upgrade(db)
        project_id = prepare(db, args.items, models_dir)
        projections = ["umap_sample", "pca"] if args.umap else ["pca"]  # PCA last: the page shows it
        for name in projections:
            info = measured(f"map job ({name})", lambda name=name: embedding_map.build_map(
                db, project_id, models_dir=models_dir, projection_name=name), db)
            print(f"   {info.n_clusters} clusters, {info.n_scored:,} labeled items scored out of fold, "
                  f"compute {info.seconds:.1f} s of it")
        page_data(db, project_id, args.items)
        if not args.no_browser:
            browser(db_url, args.items)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
