"""Review page (leads only): the queue of flagged items with their evidence, and the decisions.

Thin on purpose: the queue is ``workbench.review.queue``, decisions, bulk decisions and undo are
``workbench.review.decisions`` and ``workbench.review.bulk`` (the same code as
``python -m workbench review ...``). Sample text, evidence and reasons are shown with ``st.text``
or escaped, so HTML in a sample stays text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pandas as pd
import streamlit as st

from workbench.noise import DETECTORS
from workbench.noise.store import NOISE_JOB, request_noise_scan
from workbench.responses import response_of
from workbench.review import queue as review_queue
from workbench.review.bulk import decide_filter, decide_group, filter_requests
from workbench.review.decisions import (
    BULK_ACTIONS,
    DecisionError,
    DecisionRequest,
    DecisionSummary,
    Outcome,
    decide,
    recent_decisions,
    undo,
    undo_last,
)
from workbench.review.evidence import OTHER_SOURCES, title_of
from workbench.review.queue import QueueError, QueueFilter, QueueRow
from workbench.store import jobs
from workbench.store.projects import list_projects
from workbench.store.schema import Item, Project
from workbench.ui import session
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown
from workbench.ui.sample_view import render_item

PAGE_SIZE = 10
ANY = "(any)"
ERROR_KEY = "review_error"
BULK_KEY = "review_bulk_pending"
ACTION_WORDS = {"keep": "Keep", "relabel": "Relabel", "drop": "Drop", "keep_one": "Keep one per group"}


def _act(action: Callable[..., Any], *args: Any, notice: Callable[[Any], str], **kwargs: Any) -> None:
    """Run one review action in its own write transaction; ``notice(result)`` is shown after the
    rerun, and so is a refusal (never a traceback)."""
    try:
        with database().write() as db_session:
            result = action(db_session, *args, **kwargs)
    except (DecisionError, QueueError) as error:
        st.session_state[ERROR_KEY] = str(error)
        return
    session.set_notice(notice(result))


def _undone(outcome: Outcome | None) -> str:
    if outcome is None:
        return "Nothing to undo."
    n = len(outcome.decisions)
    if n > 1:
        return f"Undone: the {n} decisions of a bulk decision."
    return f"Undone: decision {outcome.decisions[0].undoes_id}."


def _choose_project(projects: list[Project]) -> Project:
    if len(projects) == 1:
        return projects[0]
    by_name = {project.name: project for project in projects}
    return by_name[st.selectbox("Project", list(by_name), key="review_project")]


@st.fragment(run_every=3)
def _noise_job(project_id: int) -> None:
    # Polls the jobs table: the worker runs the detectors, this shows how far it got.
    with database().read() as db_session:
        job = next(
            (j for j in jobs.latest_jobs(db_session, project_id, limit=20) if j.kind == NOISE_JOB), None
        )
    if job is None:
        return
    if job.status == "queued":
        st.progress(0.0, text="Finding noise: waiting for the worker (`./run.sh worker`)")
    elif job.status == "running":
        st.progress(job.progress, text=f"Finding noise: {job.progress:.0%}")
    elif job.status == "failed":
        last = (job.error or "no message").splitlines()[-1]
        st.error(f"Finding noise failed after {job.attempts} attempts: {escape_markdown(last)}")
    elif job.result:
        flags = ", ".join(f"{name} {n}" for name, n in (job.result.get("n_flags") or {}).items() if n)
        st.caption(
            f"Last scan: {job.result.get('n_items', 0):,} items, {job.result.get('seconds', 0)} s; "
            f"new open flags: {escape_markdown(flags or 'none')}"
        )


def _toolbar(project: Project, user_id: int) -> None:
    left, right = st.columns([1, 3])
    if left.button("Find noise now", key="review_find_noise", help="Run every detector on the project"):
        with database().write() as db_session:
            request_noise_scan(db_session, project.id, user_id=user_id)
        st.rerun()
    right.page_link(
        "views/annotators.py",
        label="Agreement between annotators: the Annotators page",
        icon=":material/groups:",
    )
    _noise_job(project.id)


def _counts(counts: dict[str, tuple[int, int]]) -> None:
    if not counts:
        st.success("No open flags. Run “Find noise now” after new imports or labels.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"detector": name, "open flags": n, "items": items, "looks for": title_of(name)}
                for name, (n, items) in counts.items()
            ]
        ),
        hide_index=True,
    )


def _reset_page() -> None:
    st.session_state["review_page"] = 1
    st.session_state.pop(BULK_KEY, None)


def _filter(project: Project, counts: dict[str, tuple[int, int]]) -> QueueFilter:
    with database().read() as db_session:
        choices = review_queue.filter_choices(db_session, project.id)
    reset = {"on_change": _reset_page}
    first, second = st.columns(2)
    # Every detector is offered, flagged or not, so a choice survives its flags being resolved.
    chosen = first.multiselect(
        "Detectors",
        [*DETECTORS, *OTHER_SOURCES],
        format_func=lambda name: f"{name} ({counts.get(name, (0, 0))[0]:,})",
        key="review_detectors",
        placeholder="every detector",
        **reset,
    )
    low, high = second.slider("Severity", 0.0, 1.0, (0.0, 1.0), step=0.05, key="review_severity", **reset)
    columns = st.columns(4 if choices["clusters"] else 3)
    label = columns[0].selectbox("Label", [ANY, *project.label_names], key="review_label", **reset)
    annotator = columns[1].selectbox(
        "Labeled by", [ANY, *choices["annotators"]], key="review_annotator", **reset
    )
    search = columns[2].text_input("Text contains", key="review_search", **reset)
    cluster = ANY
    if choices["clusters"]:  # only once the Data map has clustered the project
        cluster = columns[3].selectbox("Cluster", [ANY, *choices["clusters"]], key="review_cluster", **reset)
    return QueueFilter(
        detectors=tuple(chosen),
        min_severity=low if low > 0 else None,
        max_severity=high if high < 1 else None,
        label=None if label == ANY else label,
        cluster=None if cluster == ANY else int(cluster),
        annotator=None if annotator == ANY else annotator,
        search=search,
    )


def _bulk(project: Project, user_id: int, queue_filter: QueueFilter, total: int) -> None:
    with st.expander(f"Bulk decision for the {total:,} items of this filter"):
        action = st.selectbox("Action", BULK_ACTIONS, format_func=ACTION_WORDS.get, key="review_bulk_action")
        label = None
        if action == "relabel":
            label = st.selectbox("New label", project.label_names, key="review_bulk_label")
        reason = st.text_input("Reason (optional)", key="review_bulk_reason")
        if action == "keep":
            st.caption("Keep resolves only the flags this filter matches; an item's other flags stay open.")
        if st.button("Review this bulk decision", key="review_bulk_start"):
            try:
                with database().read() as db_session:
                    n = len(filter_requests(db_session, project.id, queue_filter, action, label=label))
            except (DecisionError, QueueError) as error:
                st.session_state[ERROR_KEY] = str(error)
                st.rerun()
            st.session_state[BULK_KEY] = {
                "filter": asdict(queue_filter),
                "action": action,
                "label": label,
                "reason": reason,
                "n": n,
            }
        pending = st.session_state.get(BULK_KEY)
        if pending is None:
            return
        what = ACTION_WORDS[pending["action"]].lower()
        to = f" to {pending['label']}" if pending["label"] else ""
        noun = "groups" if pending["action"] == "keep_one" else "items"
        st.warning(
            f"{what.capitalize()}{escape_markdown(to)}: {pending['n']:,} {noun}. One undo reverts them all."
        )
        yes, no = st.columns(2)
        if yes.button(f"Confirm: {what} {pending['n']:,} {noun}", key="review_bulk_confirm", type="primary"):
            st.session_state.pop(BULK_KEY)
            pending_filter = QueueFilter(
                **{**pending["filter"], "detectors": tuple(pending["filter"]["detectors"])}
            )
            _act(
                decide_filter,
                project.id,
                user_id,
                pending_filter,
                pending["action"],
                label=pending["label"],
                reason=pending["reason"],
                notice=lambda outcome: f"Bulk {what}: {len(outcome.decisions):,} {noun}.",
            )
            st.rerun()  # a page past the shrunk queue's end is clamped on the next run
        if no.button("Cancel", key="review_bulk_cancel"):
            st.session_state.pop(BULK_KEY)
            st.rerun()


def _shown(item: Item, sample: dict[str, Any]) -> Item:
    """The item as it reads now (the newest edit), for display only (never added to a session)."""
    return Item(
        id=item.id,
        project_id=item.project_id,
        shape=item.shape,
        sample=sample,
        text=item.text,
        status=item.status,
        imported_label=item.imported_label,
        source_file=item.source_file,
        source_line=item.source_line,
        external_id=item.external_id,
        meta=item.meta,
    )


def _label_text(row_label: Any) -> str:
    return "no label" if row_label is None else f"{row_label.label} ({row_label.source})"


def _evidence(row: QueueRow) -> None:
    for flag in row.flags:
        st.markdown(f"**{escape_markdown(flag.explanation.title)}** · severity {flag.severity:.2f}")
        st.text("\n".join(flag.explanation.lines))
    for related in row.related.values():
        with st.container(border=True):
            st.caption(
                f"item {related.id} · {escape_markdown(_label_text(related.label))} · {related.status}"
            )
            st.text(related.prompt)
            if related.response is not None:
                st.text(related.response)


def _decision_form(project: Project, user_id: int, row: QueueRow) -> None:
    item_id = row.item.id
    names = project.label_names
    # The relabel choice starts at the label the evidence suggests, else the current one, else
    # (annotators tied on an unlabeled item) one of the labels they gave: never a label nobody proposed.
    current = (
        row.suggested_label
        or (row.label.label if row.label is not None else None)
        or next((label for _, label in row.votes), None)
    )
    with st.form(f"review_form_{item_id}"):
        reason = st.text_input("Reason (optional)", key=f"review_reason_{item_id}")
        keep, drop, label_col, relabel, group = st.columns([1, 1, 2, 1, 3], vertical_alignment="bottom")
        pressed = {
            "keep": keep.form_submit_button("Keep", key=f"review_keep_{item_id}", help="Nothing wrong"),
            "drop": drop.form_submit_button(
                "Drop", key=f"review_drop_{item_id}", help="Out of export and pool"
            ),
        }
        label = label_col.selectbox(
            "Label",
            names,
            index=names.index(current) if current in names else 0,
            key=f"review_label_{item_id}",
        )
        pressed["relabel"] = relabel.form_submit_button("Relabel", key=f"review_relabel_{item_id}")
        if row.group is not None:
            pressed["keep_one"] = group.form_submit_button(
                "Keep this one of its group",
                key=f"review_keep_one_{item_id}",
                help="The export leaves the group's other members out",
            )
            pressed["group_keep"] = group.form_submit_button(
                "Not duplicates: keep the group", key=f"review_group_keep_{item_id}"
            )
        response = response_of(row.sample)
        if response is not None:
            with st.expander("Edit the response"):
                new_response = st.text_area("Response", value=response, key=f"review_response_{item_id}")
                pressed["edit"] = st.form_submit_button(
                    "Save the edited response", key=f"review_edit_{item_id}"
                )
    action = next((name for name, was in pressed.items() if was), None)
    if action is None:
        return
    if action == "group_keep":
        _act(
            decide_group,
            project.id,
            user_id,
            item_id,
            "keep",
            reason=reason,
            notice=lambda outcome: f"Not duplicates: kept the {len(outcome.decisions)} items of the group.",
        )
    else:
        request = DecisionRequest(
            item_id,
            action,
            label=label if action == "relabel" else None,
            response=new_response if action == "edit" else None,
            reason=reason,
        )
        words = {
            "keep": "Kept",
            "drop": "Dropped",
            "relabel": f"Relabeled to {label}:",
            "edit": "Edited",
            "keep_one": "Kept one of its group:",
        }
        _act(decide, project.id, user_id, request, notice=lambda decision: f"{words[action]} item {item_id}.")
    st.rerun()  # the notice or the refusal shows at the top of the next run


def _row(project: Project, user_id: int, row: QueueRow) -> None:
    detectors = ", ".join(dict.fromkeys(flag.detector for flag in row.flags))
    title = f"item {row.item.id} · severity {row.severity:.2f} · {detectors}"
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(title)}**")
        st.caption(f"label: {escape_markdown(_label_text(row.label))}" + (" · edited" if row.edited else ""))
        sample_col, evidence_col = st.columns(2)
        with sample_col:
            render_item(_shown(row.item, row.sample))
        with evidence_col:
            _evidence(row)
        _decision_form(project, user_id, row)


def _queue(project: Project, user_id: int, queue_filter: QueueFilter) -> None:
    try:
        with database().read() as db_session:
            matches = review_queue.matching(db_session, project.id, queue_filter)
            n_pages = review_queue.page_count(len(matches), PAGE_SIZE)
            if st.session_state.get("review_page", 1) > n_pages:
                st.session_state["review_page"] = n_pages  # the queue shrank since (decisions)
            page = st.pagination(n_pages, key="review_page")
            rows = review_queue.load_rows(
                db_session, project.id, matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            )
    except QueueError as error:
        st.error(str(error))
        return
    st.caption(f"{len(matches):,} flagged items · page {page} of {n_pages}")
    if matches:
        _bulk(project, user_id, queue_filter, len(matches))
    if not rows:
        st.text("No flagged item matches.")
    for row in rows:
        _row(project, user_id, row)


def _history(project: Project, user_id: int) -> None:
    st.subheader("Recent decisions")
    if st.button(
        "Undo my last decision", key="review_undo_last", help="A bulk decision is undone as a whole"
    ):
        _act(undo_last, project.id, user_id, notice=_undone)
        st.rerun()
    with database().read() as db_session:
        recent = recent_decisions(db_session, project.id, limit=15)
    if not recent:
        st.text("No decisions yet.")
        return
    for decision in recent:
        text, button = st.columns([5, 1])
        text.text(_history_line(decision))
        if decision.undoes_id is None and not decision.undone:
            if button.button("Undo", key=f"review_undo_{decision.id}"):
                _act(undo, project.id, user_id, decision.id, notice=_undone)
                st.rerun()


def _history_line(decision: DecisionSummary) -> str:
    what = decision.action + (f" → {decision.label}" if decision.label else "")
    if decision.undoes_id is not None:
        what = f"undo of decision {decision.undoes_id}"
    target = f"item {decision.item_id}" if decision.n_items == 1 else f"bulk: {decision.n_items:,} items"
    parts = [f"#{decision.id}", target, what, decision.username, f"{decision.created_at:%Y-%m-%d %H:%M}"]
    if decision.undone:
        parts.append("undone")
    if decision.reason:
        parts.append(decision.reason)
    return " · ".join(parts)


def render() -> None:
    user = session.require_user("lead")
    st.title("Review")
    session.show_notice()
    with database().read() as db_session:
        projects = list_projects(db_session)
    if not projects:
        st.info("There are no projects yet. Import one first (see the Overview page).")
        return
    project = _choose_project(projects)
    error = st.session_state.pop(ERROR_KEY, None)
    if error:
        st.error(error)
    _toolbar(project, user.id)
    with database().read() as db_session:
        counts = review_queue.open_counts(db_session, project.id)
    _counts(counts)
    queue_filter = _filter(project, counts)
    queue_tab, history_tab = st.tabs(["Queue", "Recent decisions"])
    with queue_tab:
        _queue(project, user.id, queue_filter)
    with history_tab:
        _history(project, user.id)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
