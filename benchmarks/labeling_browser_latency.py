"""Browser-side latency of labeling: from a key press to the next item on screen, in chromium.

Target (issue 4): the page shows the next item <= 300 ms p95 measured in the browser, with 8
concurrent annotators on a 100,000-item project. This drives ``--browsers`` annotators at once
(each its own browser context in one Debian chromium) against the real app server. Once all are
signed in and on the labeling page, each presses "1" ``--labels`` times; a press is timed in the
page from the key event to the animation frame in which the item's instruction has changed. Before
the next press an annotator waits until the script run has finished (the buttons on screen are the
new item's: a press on the old item's buttons is, by design, a repeat of its label) and then reads
for ``--think-ms``. The page notices the change with a MutationObserver, so measuring adds no
work to the browser while it waits.

Also printed, per press: when the server's first and last websocket messages arrived, how many
messages and bytes they were, and the CPU time of the app server and of the browsers (from /proc;
far less dependent on how busy the machine is than the latencies). Note that the browsers share the
machine with the server here, unlike annotators' own computers. Run from the repository root::

    PYTHONPATH=. python benchmarks/labeling_browser_latency.py [--items 100000] [--browsers 8] [--labels 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labeling_latency import build, percentiles  # noqa: E402

from workbench.store import migrate  # noqa: E402
from workbench.store.engine import Database  # noqa: E402
from workbench.ui.server import AppServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]
PASSWORD = "benchmark-password"
# The instruction block of the item on screen (the first st.text in the item's scroll box);
# textContent, unlike innerText, does not make the browser lay out the page.
CURRENT_ITEM_JS = """() => {
  const texts = [...document.querySelectorAll('[data-testid="stText"]')].map(e => e.textContent);
  return texts.find(t => t.startsWith('Classify review')) || null;
}"""
# Before the app loads: log the arrival time and size of every websocket message, and the time
# of every key press (which starts a new log).
RECORDER_JS = """
window.__messages = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new NativeWebSocket(...args);
  socket.addEventListener('message', event =>
    window.__messages.push([performance.now(), event.data.byteLength || event.data.size || 0]));
  return socket;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
Object.assign(window.WebSocket, NativeWebSocket);
document.addEventListener('keydown', () => {
  window.__key = performance.now();
  window.__messages = [];
}, true);
"""
# Armed before a key press: when the item on screen differs from ``before``, records the time of
# the next animation frame (when the new item is painted) in window.__shown. A MutationObserver
# rather than polling, so that measuring adds no work to the browser between changes.
WATCH_JS = """before => {
  window.__shown = 0;
  const current = %s;
  const observer = new MutationObserver(() => {
    const now = current();
    if (now === null || now === before) return;
    observer.disconnect();
    requestAnimationFrame(() => { window.__shown = performance.now(); });
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}""" % CURRENT_ITEM_JS
SHOWN_JS = "() => window.__shown > 0"
TIMINGS_JS = "() => [window.__key, window.__shown, window.__messages.slice()]"
FINISHED_JS = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
POLL_MS = 50  # how often Playwright looks for the recorded time (it does not change the time)


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB."""
    with open(f"/proc/{pid}/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmRSS:"))
    return round(int(kb) / 1024, 1)


def browser_cpu_seconds() -> float:
    """CPU time so far of this process's descendants other than the app server (the browsers)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat(entry)[1])
            except (OSError, IndexError):
                continue
    total = 0.0
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, os.getpid()):
            ancestor = parents.get(ancestor)
        if ancestor != os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"streamlit" not in cmdline.read():
                    total += cpu_seconds(pid)
        except OSError:  # the process ended meanwhile
            continue
    return total


def server_pid(port: int) -> int:
    """The process of the app server listening on ``port`` (found by its command line)."""
    wanted = ["--server.port", str(port)]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    argv = cmdline.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if "streamlit" in argv and any(argv[i : i + 2] == wanted for i in range(len(argv))):
                return int(entry)
    raise RuntimeError(f"no app server process on port {port}")


def _annotator(
    browser, url: str, username: str, args: argparse.Namespace, start: threading.Barrier,
    presses: list[dict[str, float]], errors: list[str],
) -> None:
    """Sign in, open the labeling page, wait for the others, then press "1" ``args.labels`` times."""
    rng = np.random.default_rng(len(username) * 7919 + int(username[3:] or 0))
    page = None
    try:
        page = browser.new_context().new_page()
        page.add_init_script(RECORDER_JS)
        page.goto(url)
        page.get_by_label("Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Label").click(timeout=60_000)
        page.wait_for_function(CURRENT_ITEM_JS, polling=POLL_MS, timeout=60_000)
        page.wait_for_function(FINISHED_JS, polling=POLL_MS, timeout=60_000)
    except Exception as error:  # noqa: BLE001 - reported at the end
        errors.append(f"{username} (sign-in): {type(error).__name__}: {error}")
        page = None
    start.wait()
    if page is None:
        return
    try:
        for _ in range(args.labels):
            time.sleep(args.think_ms / 1000 * rng.uniform(0.5, 1.5))
            page.evaluate(WATCH_JS, page.evaluate(CURRENT_ITEM_JS))
            page.keyboard.press("1")
            page.wait_for_function(SHOWN_JS, polling=POLL_MS, timeout=60_000)
            key, shown, messages = page.evaluate(TIMINGS_JS)
            arrived = [at - key for at, _ in messages if at <= shown]
            presses.append(
                {
                    "key_to_next_item": (shown - key) / 1000,
                    "key_to_first_message": (arrived[0] if arrived else np.nan) / 1000,
                    "key_to_last_message_before_item": (arrived[-1] if arrived else np.nan) / 1000,
                    "messages": len(messages),
                    "bytes": sum(size for _, size in messages),
                }
            )
            page.wait_for_function(FINISHED_JS, polling=POLL_MS, timeout=60_000)
    except Exception as error:  # noqa: BLE001 - reported at the end
        errors.append(f"{username}: {type(error).__name__}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--browsers", type=int, default=8)
    parser.add_argument("--labels", type=int, default=30, help="labels per annotator")
    parser.add_argument(
        "--think-ms", type=float, default=500, help="mean reading time per item (500: a very fast annotator)"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    presses: list[dict[str, float]] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{Path(folder) / 'browser.sqlite'}"
        db = Database(db_url)
        migrate.upgrade(db)
        _, annotators = build(db, args.items, args.browsers, 500)
        db.dispose()
        start, finished = threading.Barrier(len(annotators) + 1), threading.Barrier(len(annotators) + 1)
        may_close = threading.Event()
        with AppServer(db_url) as server:
            pid = server_pid(server.port)

            # One Playwright (and browser) per thread: the sync API is not shared across threads.
            def run(index: int) -> None:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                    _annotator(browser, server.url, f"ann{index}", args, start, presses, errors)
                    finished.wait()  # the browsers' CPU time is read before they close
                    may_close.wait()
                    browser.close()

            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(annotators))]
            for thread in threads:
                thread.start()
            start.wait()
            load_before, cpu_before, memory_before = os.getloadavg(), cpu_seconds(pid), resident_mb(pid)
            browsers_before = browser_cpu_seconds()
            finished.wait()
            cpu_used, memory_after = cpu_seconds(pid) - cpu_before, resident_mb(pid)
            load_after = os.getloadavg()
            browsers_used = browser_cpu_seconds() - browsers_before
            may_close.set()
            for thread in threads:
                thread.join()

    def column(name: str) -> list[float]:
        return [press[name] for press in presses if not np.isnan(press[name])]

    print(
        json.dumps(
            {
                "items": args.items,
                "browsers": args.browsers,
                "think_ms": args.think_ms,
                "load_average_before": [round(load, 2) for load in load_before],
                "load_average_after": [round(load, 2) for load in load_after],
                "errors": errors[:5],
                **{
                    name: percentiles(column(name)) if presses else None
                    for name in (
                        "key_to_next_item", "key_to_first_message", "key_to_last_message_before_item"
                    )
                },
                "messages_per_press": round(float(np.mean(column("messages"))), 1) if presses else None,
                "bytes_per_press": round(float(np.mean(column("bytes")))) if presses else None,
                "server_cpu_ms_per_press": round(1000 * cpu_used / max(1, len(presses)), 1),
                "browsers_cpu_ms_per_press": round(1000 * browsers_used / max(1, len(presses)), 1),
                # Streamlit's full collection after each run is off (.streamlit/config.toml): this
                # shows the server's memory stays put without it.
                "server_resident_mb": [memory_before, memory_after],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
