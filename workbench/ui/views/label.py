"""Labeling page (annotators and leads): one item at a time, keys 1-9 for the labels.

Everything a label press changes (progress, the item, the actions, recent labels) sits in one
``st.fragment``: a press reruns only that part, not the app's navigation, sidebar and project
list, so the next item arrives sooner and the browser redraws less. Because a fragment rerun skips
the entry script, the fragment re-reads the user itself and asks for a full run (which signs the
user out or hides the page) if they may no longer label.

Every action is a button callback, so a click saves and the same run shows the next item. The
callbacks carry the item id they were drawn with: a double click or a click from a stale tab saves
that item's label again, which ``save_label`` turns into a no-op. The flag form, the correction
form and the recent labels are built only while their expander is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import streamlit as st

from workbench.responses import response_of
from workbench.store import labeling, labeling_history
from workbench.store.labeling_screen import LabelScreen, label_screen
from workbench.store.projects import list_projects
from workbench.store.schema import Project
from workbench.ui import session
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown
from workbench.ui.sample_view import render_item

LABELERS = ("annotator", "lead")
PROJECT_KEY = "label_project"
SHOWN_AT_KEY = "label_shown_at"  # (assignment id, monotonic time it was first shown)
ERROR_KEY = "label_error"
# Expanders that build their content only while open (their open state lives under these keys).
FLAG_OPEN_KEY = "label_flag_open"
CORRECT_OPEN_KEY = "label_correct_open"
RECENT_OPEN_KEY = "label_recent_open"
#: How an undone action is named in the notice.
UNDONE = {
    "label.add": "label",
    "label.change": "label change",
    "label.skip": "skip",
    "label.flag": "flag",
    "label.correct": "corrected response",
}


def _act(action: Callable[..., Any], *args: Any, notice: str | None = None, **kwargs: Any) -> bool:
    """Run one labeling action in its own write transaction; show a refusal instead of a traceback.

    Returns whether the action was done.
    """
    try:
        with database().write() as db_session:
            action(db_session, *args, **kwargs)
    except labeling.LabelingError as error:
        st.session_state[ERROR_KEY] = str(error)
        return False
    if notice:
        session.set_notice(notice)
    return True


def _seconds_on(assignment_id: int) -> float:
    shown = st.session_state.get(SHOWN_AT_KEY)
    return round(time.monotonic() - shown[1], 1) if shown and shown[0] == assignment_id else 0.0


def _save(project_id: int, user_id: int, item_id: int, assignment_id: int, label: str) -> None:
    _act(labeling.save_label, project_id, user_id, item_id, label, seconds_spent=_seconds_on(assignment_id))


def _change(project_id: int, user_id: int, annotation_id: int, item_id: int) -> None:
    label = st.session_state[f"recent_{annotation_id}"]
    _act(
        labeling.save_label,
        project_id,
        user_id,
        item_id,
        label,
        notice=f"Item {item_id} is now labeled {label}.",
    )


def _flag(project_id: int, user_id: int, item_id: int) -> None:
    flagged = _act(
        labeling.flag,
        project_id,
        user_id,
        item_id,
        st.session_state["flag_reason"],
        st.session_state["flag_comment"],
        notice=f"Item {item_id} flagged.",
    )
    if flagged:
        st.session_state[FLAG_OPEN_KEY] = False  # the next item starts with the form closed


def _correct(project_id: int, user_id: int, item_id: int) -> None:
    _act(
        labeling.correct_response,
        project_id,
        user_id,
        item_id,
        st.session_state[f"correct_{item_id}"],
        st.session_state["correct_reason"],
        notice="The corrected response was saved; the original is kept.",
    )


def _undo(project_id: int, user_id: int) -> None:
    try:
        with database().write() as db_session:
            undone = labeling_history.undo_last(db_session, project_id, user_id)
    except labeling.LabelingError as error:
        st.session_state[ERROR_KEY] = str(error)
        return
    if undone is None:
        session.set_notice("Nothing to undo.")
    else:
        what = UNDONE.get(undone.action, undone.action)
        session.set_notice(f"Undone: the {what} of item {undone.item_id}.")


def _choose_project(projects: list[Project]) -> Project:
    if len(projects) == 1:
        return projects[0]
    by_name = {project.name: project for project in projects}
    return by_name[st.selectbox("Project", list(by_name), key=PROJECT_KEY)]


def _progress(screen: LabelScreen) -> None:
    """The annotator's figures on one line (one element: each element is redrawn on every press)."""
    figures = screen.progress
    left = figures.left_in_round if figures.round_number else "-"
    since = "this round" if figures.round_number else "so far"
    st.caption(
        f"Done {since}: **{figures.done_this_round}** · today: **{figures.done_today}** · "
        f"left in this round: **{left}**"
    )
    if figures.new_round_ready:
        st.info(f"Round {figures.round_number} is ready: your next item comes from it.")


def _label_buttons(user_id: int, screen: LabelScreen) -> None:
    claim, project = screen.claim, screen.project
    with st.container(horizontal=True):
        for index, label in enumerate(project.labels):
            st.button(
                label["name"],  # Streamlit shows the shortcut key beside it
                key=f"label_{index}",
                help=label.get("description") or None,
                shortcut=label.get("key") or None,
                width="stretch",
                on_click=_save,
                args=(project.id, user_id, claim.item_id, claim.assignment_id, label["name"]),
            )


def _flag_form(project_id: int, user_id: int, item_id: int) -> None:
    expander = st.expander("Flag as problematic", key=FLAG_OPEN_KEY, on_change="rerun")
    if not expander.open:
        return
    with expander, st.form("flag", clear_on_submit=True):
        st.selectbox(
            "Reason", list(labeling.FLAG_REASONS), format_func=labeling.FLAG_REASONS.get, key="flag_reason"
        )
        st.text_area("Comment", key="flag_comment")
        st.form_submit_button(
            "Flag and go to the next item",
            key="flag_submit",
            on_click=_flag,
            args=(project_id, user_id, item_id),
        )


def _correct_form(user_id: int, screen: LabelScreen) -> None:
    response = response_of(screen.sample)
    if response is None:
        return
    expander = st.expander("Correct the response", key=CORRECT_OPEN_KEY, on_change="rerun")
    if not expander.open:
        return
    with expander, st.form("correct", clear_on_submit=False):
        st.text_area("Response", value=response, height=200, key=f"correct_{screen.item.id}")
        st.text_input("Why (optional)", key="correct_reason")
        st.form_submit_button(
            "Save the corrected response",
            key="correct_submit",
            on_click=_correct,
            args=(screen.project.id, user_id, screen.item.id),
        )


def _recent(user_id: int, screen: LabelScreen) -> None:
    expander = st.expander("My recent labels", key=RECENT_OPEN_KEY, on_change="rerun")
    if not expander.open:
        return
    names = screen.project.label_names
    with expander:
        if not screen.recent:
            st.caption("No labels yet.")
        for recent in screen.recent:
            text, choice = st.columns([3, 1])
            text.text(f"item {recent.item_id}: {recent.preview}")
            choice.selectbox(
                "Label",
                names,
                index=names.index(recent.label) if recent.label in names else 0,
                key=f"recent_{recent.annotation_id}",
                label_visibility="collapsed",
                on_change=_change,
                args=(screen.project.id, user_id, recent.annotation_id, recent.item_id),
            )


def _item(screen: LabelScreen) -> None:
    why = [screen.why]
    if screen.suggestion is not None:
        why.append(f"Suggested label: {screen.suggestion.label} ({screen.suggestion.probability:.0%})")
    if screen.revision is not None:
        why.append(f"Showing the corrected response (revision {screen.revision.revision}).")
    st.caption(" · ".join(escape_markdown(part) for part in why))
    with st.container(height=480, border=True):
        item = screen.item
        render_item(item if screen.revision is None else _with_sample(item, screen.sample))


def _with_sample(item: Any, sample: dict[str, Any]) -> Any:
    """A detached stand-in of ``item`` showing ``sample`` (the ORM object is not changed)."""
    return SimpleNamespace(
        **{
            name: getattr(item, name)
            for name in (
                "id",
                "status",
                "imported_label",
                "source_file",
                "source_line",
                "external_id",
                "meta",
            )
        },
        sample=sample,
    )


@st.fragment
def _workspace(project_id: int) -> None:
    """The part of the page a label press changes; a widget in here reruns only this function."""
    user = session.current_user()
    if user is None or user.must_change_password or user.role not in LABELERS:
        st.rerun(scope="app")  # the entry script signs out, asks for a password or hides the page
    session.show_notice()  # set by a callback; the entry script shows it only on full runs
    if error := st.session_state.pop(ERROR_KEY, None):
        st.error(error)
    with database().write() as db_session:
        screen = label_screen(db_session, project_id, user.id)
    _progress(screen)
    if screen.claim is None:
        st.success("Nothing left in your queue. New items arrive with the next round.")
        st.button("Undo last action", key="undo", on_click=_undo, args=(project_id, user.id))
    else:
        if (st.session_state.get(SHOWN_AT_KEY) or (None,))[0] != screen.claim.assignment_id:
            st.session_state[SHOWN_AT_KEY] = (screen.claim.assignment_id, time.monotonic())
        _item(screen)
        _label_buttons(user.id, screen)
        with st.container(horizontal=True):
            st.button(
                "Skip",
                key="skip",
                width="stretch",
                on_click=_act,
                args=(labeling.skip, project_id, user.id, screen.claim.item_id),
            )
            st.button(
                "Undo last action", key="undo", width="stretch", on_click=_undo, args=(project_id, user.id)
            )
        _flag_form(project_id, user.id, screen.claim.item_id)
        _correct_form(user.id, screen)
    _recent(user.id, screen)


def render() -> None:
    session.require_user(*LABELERS)
    st.title("Label")
    with database().read() as db_session:
        projects = list_projects(db_session)
    if not projects:
        st.info("No project yet: a lead imports data first.")
        return
    _workspace(_choose_project(projects).id)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
