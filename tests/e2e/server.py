"""The data the browser tests start with (the server is workbench.ui.server.AppServer)."""

from __future__ import annotations

from workbench.store import migrate, projects, users
from workbench.store.engine import Database
from workbench.store.schema import Item
from workbench.text import content_hash, normalize_text

PASSWORDS = {"lead1": "lead-password-1", "ann": "annotator-password-1"}
SCRIPT_INSTRUCTION = "Explain <script>window.__pwned = 1</script> tags"
SCRIPT_OUTPUT = '<img src="x" onerror="window.__pwned = 2">'
#: The items in queue order (import order: there is no round yet).
SAMPLES = [
    {"instruction": SCRIPT_INSTRUCTION, "output": SCRIPT_OUTPUT},
    {"instruction": "Name a colour", "output": "Blue"},
    {"instruction": "Write a haiku about rain", "output": "Soft rain on the roof"},
    {"instruction": "Add two and three", "output": "Five"},
]


def sign_in(page, url: str, username: str, *, timeout_ms: int = 30_000) -> None:
    """Open the app at ``url`` in a Playwright page and sign in as ``username`` (of ``PASSWORDS``)."""
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=timeout_ms)


def seed(url: str) -> None:
    """Migrate a fresh database and add a lead, an annotator and project 'demo' (chat, code)."""
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        for name, password in PASSWORDS.items():
            users.add_user(session, name, password, "lead" if name.startswith("lead") else "annotator")
        project = projects.create_project(
            session, "demo", labels=projects.make_label_schema(["chat", "code"]), embedding_model="test-model"
        )
        for line, sample in enumerate(SAMPLES, start=1):
            text = normalize_text("\n".join(sample.values()))
            session.add(
                Item(
                    project_id=project.id,
                    shape="alpaca",
                    sample=sample,
                    text=text,
                    content_hash=content_hash(text),
                    source_file="e2e.jsonl",
                    source_line=line,
                )
            )
    db.dispose()
