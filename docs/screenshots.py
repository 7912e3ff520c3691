"""Screenshots of the app's pages for the README, taken in a real browser on the showcase database.

    PYTHONPATH=. /tmp/setup/.venv/bin/python docs/showcase.py --db db/showcase.sqlite      # once (~2 min)
    PYTHONPATH=. /tmp/setup/.venv/bin/python docs/screenshots.py --db db/showcase.sqlite   # ~1 min

Starts the real app (``workbench.ui.server.AppServer``) on the database, signs in with Playwright in
Debian's ``/usr/bin/chromium``, opens every page of the lead (and the Label page as an annotator),
waits until the script run is over, no spinner turns and every Plotly chart is drawn, and writes
``<out>/<page>.png`` (1400 px wide; as tall as the page, up to ``MAX_HEIGHT``), reduced to 256
colours and run through ``optipng`` when it is installed.

A page whose file is still a placeholder ("BEING BUILT" in its docstring) is skipped. A page that
shows a Streamlit exception is not written to ``<out>``: its screenshot goes to a temporary folder,
the exception is printed and the script exits with status 1 after the other pages.

The database changes a little: signing in records the time, and the annotator's visit to the
Label page leases an item, as any visit does.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from showcase import INTENTS, LEAD, PASSWORDS, models_dir_for  # noqa: E402

from workbench.config import REPO_ROOT  # noqa: E402
from workbench.ui.auth import PAGES, PageSpec  # noqa: E402
from workbench.ui.server import AppServer  # noqa: E402

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]
WIDTH, HEIGHT = 1400, 900
#: Taller pages are cut here: a README image taller than this is a scroll, not a picture.
MAX_HEIGHT = 3600
#: Pages cut shorter: the Review queue repeats its card per item, the Data map lists every cluster.
HEIGHT_CAPS = {"review": 2300, "data_map": 2000}
TIMEOUT_MS = 90_000
PLACEHOLDER_MARK = "BEING BUILT"
#: The annotator whose Label page is shown.
ANNOTATOR = "ana"
#: Pages not worth a picture.
SKIPPED_TITLES = frozenset({"Account"})
VIEWS_DIR = REPO_ROOT / "workbench" / "ui"


@dataclass(frozen=True)
class Shot:
    """One page to capture: its spec, the file name and who looks at it."""

    spec: PageSpec
    name: str
    username: str

    @property
    def is_placeholder(self) -> bool:
        return PLACEHOLDER_MARK in (VIEWS_DIR / self.spec.path).read_text(encoding="utf-8")


def planned_shots() -> list[Shot]:
    """Every page of the navigation but ``SKIPPED_TITLES``: Label as the annotator, the rest as the lead."""
    return [
        Shot(spec, spec.title.lower().replace(" ", "_"), ANNOTATOR if spec.title == "Label" else LEAD)
        for spec in PAGES
        if spec.title not in SKIPPED_TITLES
    ]


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=TIMEOUT_MS)


# True when the page is at rest: the script run is over, nothing spins, every chart has its SVG.
SETTLED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
    return [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'));
}"""


def settle(page: Page) -> None:
    """Wait until the page is at rest twice in a row, a second apart (a rerun or a fragment can
    start right after the first run ends), then let charts finish their transitions."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)
        if page.evaluate(SETTLED_JS):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the page never came to rest")
    page.wait_for_timeout(500)


def content_height(page: Page) -> int:
    """Where the page's content ends, plus a margin (Streamlit scrolls inside its main area, and
    that area's own height includes a tall bottom padding)."""
    return int(
        page.evaluate(
            """() => {
                const block = document.querySelector(
                    '[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]');
                if (!block) return document.body.scrollHeight;
                const main = document.querySelector('[data-testid="stMain"]');
                return Math.ceil(block.getBoundingClientRect().bottom + (main ? main.scrollTop : 0)) + 48;
            }"""
        )
    )


def problems(page: Page) -> tuple[list[str], list[str]]:
    """(Streamlit exceptions, error messages) shown on the page, as text."""
    exceptions = [text[:1500] for text in page.locator('[data-testid="stException"]').all_inner_texts()]
    errors = [
        text[:300]
        for text in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    ]
    return exceptions, errors


def save_small(raw: bytes, path: Path) -> int:
    """Write the screenshot with 256 colours (UI pictures lose nothing visible), optimised; its bytes."""
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", str(path)], check=True)
    return path.stat().st_size


def preview_export(page: Page) -> None:
    """Ask for 1,000 records with every intent equally likely: the preview then shows target vs
    achieved shares and the repeats that balance the rare intents."""
    page.get_by_role("textbox", name="Mixture (one field per line)").fill(
        "label=" + ",".join(f"{intent}:1" for intent in INTENTS)
    )
    page.get_by_role("spinbutton", name="Train records (0 = as many as items)").fill("1000")
    page.get_by_role("button", name="Preview").click()


#: What to do on a page before its picture, so it shows a result rather than an empty form.
ACTIONS: dict[str, Callable[[Page], None]] = {"export": preview_export}


def capture(page: Page, shot: Shot) -> bytes:
    """Open the shot's page from the navigation, do its action, and photograph it once at rest."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.get_by_role("link", name=shot.spec.title).click()
    settle(page)
    if shot.name in ACTIONS:
        ACTIONS[shot.name](page)
        settle(page)
    height = min(HEIGHT_CAPS.get(shot.name, MAX_HEIGHT), max(HEIGHT, content_height(page)))
    if height > HEIGHT:
        page.set_viewport_size({"width": WIDTH, "height": height})
        settle(page)
    return page.screenshot()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", type=Path, default=REPO_ROOT / "db" / "showcase.sqlite", help="built by docs/showcase.py"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img")
    parser.add_argument("--only", nargs="*", help="file names of the pages to take (default: all)")
    args = parser.parse_args(argv)
    if not args.db.is_file():
        parser.error(f"{args.db}: no such file; build it with docs/showcase.py")
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is not installed (Debian: apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    failed_dir = Path(tempfile.mkdtemp(prefix="workbench-screenshots-"))

    shots = [shot for shot in planned_shots() if not args.only or shot.name in args.only]
    os.environ["WORKBENCH_MODELS_DIR"] = str(models_dir_for(args.db))
    os.environ["STREAMLIT_CLIENT_TOOLBAR_MODE"] = "minimal"  # no "Deploy" button in the pictures
    failures: list[str] = []
    with AppServer(f"sqlite:///{args.db.resolve()}") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        pages: dict[str, Page] = {}
        for shot in shots:
            if shot.is_placeholder:
                print(f"skipped   {shot.name:<11} (placeholder: {shot.spec.path})")
                continue
            if shot.username not in pages:
                context = browser.new_context(
                    viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1
                )
                pages[shot.username] = context.new_page()
                sign_in(pages[shot.username], server.url, shot.username)
            page = pages[shot.username]
            started = time.perf_counter()
            raw = capture(page, shot)
            exceptions, errors = problems(page)
            seconds = time.perf_counter() - started
            if exceptions:
                path = failed_dir / f"{shot.name}.png"
                path.write_bytes(raw)
                failures.append(shot.name)
                print(f"FAILED    {shot.name:<11} Streamlit exception (screenshot {path}):\n{exceptions[0]}")
                continue
            path = args.out / f"{shot.name}.png"
            size = save_small(raw, path)
            width, height = Image.open(path).size
            print(
                f"captured  {shot.name:<11} {path}  {width}x{height}  {size / 1024:.0f} KB  {seconds:.1f} s"
            )
            for error in errors:
                print(f"          shows an error: {error}")
        browser.close()
    if failures:
        names = ", ".join(failures)
        print(f"\n{len(failures)} page(s) show an exception: {names}; app log: {server.log_path}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
