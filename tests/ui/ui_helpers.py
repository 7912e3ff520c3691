"""Helpers for the AppTest tests: signing in, inserting items, reading what a page shows."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from workbench.config import REPO_ROOT
from workbench.store import projects
from workbench.store.schema import Item, Project
from workbench.text import content_hash, normalize_text

APP_SCRIPT = REPO_ROOT / "workbench" / "ui" / "app.py"
PASSWORDS = {"lead1": "lead-password-1", "ann": "annotator-password-1"}
# Loading the app's modules and migrating a fresh database take a few seconds on a busy machine.
RUN_TIMEOUT = 60


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    """Fill and submit the sign-in form (password from PASSWORDS unless given)."""
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password or PASSWORDS[username])
    return at.button(key="sign_in_submit").click().run()


def add_project(session, name: str = "demo", labels: tuple[str, ...] = ("chat", "code")) -> Project:
    return projects.create_project(
        session, name, labels=projects.make_label_schema(list(labels)), embedding_model="test-model"
    )


def add_item(
    session,
    project: Project,
    sample: dict,
    *,
    shape: str = "alpaca",
    label: str | None = None,
    status: str = "active",
    meta: dict | None = None,
) -> Item:
    """Insert an item directly (the importer is not needed to test the pages)."""
    text = normalize_text("\n".join(str(value) for value in sample.values()))
    item = Item(
        project_id=project.id, shape=shape, sample=sample, text=text,
        content_hash=content_hash(text), imported_label=label, status=status,
        meta=meta or {}, source_file="data.jsonl",
    )
    session.add(item)
    session.flush()
    return item


def texts(at: AppTest) -> list[str]:
    """Every ``st.text`` value on the page."""
    return [element.value for element in at.text]


def error_messages(at: AppTest) -> list[str]:
    return [element.value for element in at.error]
