"""Overview page (every signed-in user): projects, their figures, recent imports and a sample browser."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.store import jobs, overview
from workbench.store.projects import list_projects
from workbench.store.schema import ITEM_STATUSES, Project
from workbench.ui import session
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown
from workbench.ui.samples import Block, sample_blocks
from workbench.ui.sample_view import render_item

PAGE_SIZE = 10
IMPORT_HELP = (
    "Import a file of samples (JSONL, JSON, CSV or Parquet) from a terminal in the workbench "
    "folder:\n\n"
    "    python -m workbench import FILE --project NAME\n\n"
    "(or `./run.sh cli import FILE --project NAME`), then reload this page."
)
NO_LABEL = "(no imported label)"
ANY_LABEL = "(any)"
ALL_STATUSES = "(all)"
PREVIEW_CHARS = 90


def _project_table(projects: list[Project], counts: dict[int, overview.ItemCounts]) -> None:
    rows = []
    for project in projects:
        project_counts = counts.get(project.id, overview.ItemCounts())
        rows.append({
            "project": project.name,
            "description": project.description,
            "active items": project_counts.active,
            "dropped items": project_counts.dropped,
            "labels": len(project.labels),
            "embedding model": project.embedding_model,
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _choose_project(projects: list[Project]) -> Project:
    if len(projects) == 1:
        return projects[0]
    by_name = {project.name: project for project in projects}
    return by_name[st.selectbox("Project", list(by_name), key="overview_project")]


def _label_schema(project: Project) -> None:
    st.subheader("Label schema")
    if not project.labels:
        st.text("No labels yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "key": label.get("key", ""),
                    "label": label["name"],
                    "description": label.get("description", ""),
                }
                for label in project.labels
            ]
        ),
        hide_index=True,
    )


def _figures(stats: overview.ProjectStats, model: str) -> None:
    active, dropped, annotations, embedded = st.columns(4)
    active.metric("Active items", f"{stats.items.active:,}")
    dropped.metric("Dropped items", f"{stats.items.dropped:,}")
    annotations.metric(
        "Human annotations",
        f"{stats.annotations:,}",
        help=f"On {stats.annotated_items:,} distinct items.",
    )
    embedded.metric(
        "Embedded",
        f"{stats.embedded_share:.0%}",
        help=f"{stats.embedded:,} of {stats.items.active:,} active items have a cached "
        f"embedding for {escape_markdown(model)}.",
    )


#: How each gold-label source is named in the label chart.
SOURCE_NAMES = {"lead": "lead's decision", "agreed": "annotators", "imported": "imported with the file"}


def _label_distribution(gold_counts: list[tuple[str, str, int]], n_active: int) -> None:
    st.subheader("Labels")
    if not gold_counts:
        st.text("No item has a label yet: annotators' labels and imported labels show here.")
        return
    frame = pd.DataFrame(
        [{"label": label, "from": SOURCE_NAMES[source], "items": n} for label, source, n in gold_counts]
    )
    labeled = int(frame["items"].sum())
    st.caption(f"{labeled:,} of {n_active:,} active items have a label (the one export and training use).")
    st.bar_chart(frame, x="label", y="items", color="from", horizontal=True, sort="-items")


def _recent_imports(project: Project) -> None:
    st.subheader("Recent imports")
    with database().read() as db_session:
        imports = overview.recent_imports(db_session, project.id)
    if not imports:
        st.text("No imports recorded.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "file": batch.source_file,
                    "format": batch.file_format,
                    "shape": batch.shape,
                    "rows": batch.n_rows,
                    "imported": batch.n_imported,
                    "duplicates": batch.n_duplicates,
                    "rejected": batch.n_rejected,
                    "when": batch.created_at,
                }
                for batch in imports
            ]
        ),
        hide_index=True,
        column_config={"when": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )


JOB_TITLES = {"embed": "Embedding the samples", "round": "Retraining the scorer"}


@st.fragment(run_every=3)
def _background_jobs(project_id: int) -> None:
    # Polls the jobs table: the worker process does the work, this only shows how far it got.
    with database().read() as db_session:
        recent = jobs.latest_jobs(db_session, project_id, limit=5)
    running = [job for job in recent if job.status in jobs.ACTIVE]
    for job in running:
        title = JOB_TITLES.get(job.kind, job.kind)
        if job.status == "queued":
            st.progress(0.0, text=f"{title}: waiting for the worker (`./run.sh worker`)")
        else:
            st.progress(job.progress, text=f"{title}: {job.progress:.0%}")
    failed = next((job for job in recent if job.status == "failed"), None)
    if failed is not None and not running:
        st.error(f"{JOB_TITLES.get(failed.kind, failed.kind)} failed after {failed.attempts} attempts: "
                 f"{(failed.error or '').splitlines()[-1] if failed.error else 'no message'}")


def _page_key(project_id: int) -> str:
    return f"browser_page_{project_id}"


def _reset_page(project_id: int) -> None:
    st.session_state[_page_key(project_id)] = 1


def _preview(blocks: list[Block]) -> str:
    text = " ".join(" ".join(block.text.split()) for block in blocks)
    return text[:PREVIEW_CHARS] + ("..." if len(text) > PREVIEW_CHARS else "")


def _filter_from_widgets(project_id: int, label_options: list[str]) -> overview.ItemFilter:
    # Keys carry the project id: each project keeps its own filters and page.
    search_col, label_col, status_col = st.columns([3, 2, 1])
    reset = {"on_change": _reset_page, "args": (project_id,)}
    search = search_col.text_input(
        "Search the text", key=f"browser_search_{project_id}",
        placeholder="words anywhere in the sample", **reset,
    )
    label = label_col.selectbox(
        "Imported label", [ANY_LABEL, NO_LABEL, *label_options],
        key=f"browser_label_{project_id}", **reset,
    )
    status = status_col.selectbox(
        "Status", [*ITEM_STATUSES, ALL_STATUSES], key=f"browser_status_{project_id}", **reset
    )
    return overview.ItemFilter(
        search=search,
        label={ANY_LABEL: overview.LabelChoice.ANY, NO_LABEL: overview.LabelChoice.UNLABELED}.get(
            label, label
        ),
        status=None if status == ALL_STATUSES else status,
    )


@st.fragment
def _sample_browser(project_id: int, label_options: list[str]) -> None:
    # A fragment: paging and filtering rerun only this part, not the project's figures.
    st.subheader("Samples")
    item_filter = _filter_from_widgets(project_id, label_options)
    db = database()
    with db.read() as db_session:
        n_matching = overview.count_items(db_session, project_id, item_filter)
    n_pages = overview.page_count(n_matching, PAGE_SIZE)
    if st.session_state.get(_page_key(project_id), 1) > n_pages:
        _reset_page(project_id)  # the items shrank since (e.g. dropped by a lead)
    page = st.pagination(n_pages, key=_page_key(project_id))
    with db.read() as db_session:
        items = overview.items_page(
            db_session, project_id, item_filter, page=page, page_size=PAGE_SIZE
        )
    st.caption(f"{n_matching:,} matching items · page {page} of {n_pages}")
    if not items:
        st.text("No item matches.")
    for position, item in enumerate(items):
        title = f"{item.id} · {_preview(sample_blocks(item.sample))}"
        with st.expander(escape_markdown(title), expanded=position == 0):
            render_item(item)


def render() -> None:
    session.require_user()
    st.title("Overview")
    db = database()
    with db.read() as db_session:
        projects = list_projects(db_session)
        counts = overview.item_counts(db_session)
    if not projects:
        st.info("There are no projects yet.\n\n" + IMPORT_HELP)
        return
    if len(projects) > 1:
        _project_table(projects, counts)
    project = _choose_project(projects)

    st.header(escape_markdown(project.name))
    if project.description:
        st.text(project.description)
    st.caption(f"Embedding model: {escape_markdown(project.embedding_model)}")
    with db.read() as db_session:
        stats = overview.project_stats(db_session, project)
        label_counts = overview.imported_label_counts(db_session, project.id)
        gold_counts = overview.gold_label_counts(db_session, project.id)
    if stats.items.total == 0:
        st.info("This project has no items yet.\n\n" + IMPORT_HELP)
        _label_schema(project)
        return
    _figures(stats, project.embedding_model)
    _background_jobs(project.id)
    _label_schema(project)
    _label_distribution(gold_counts, stats.items.active)
    _recent_imports(project)
    _sample_browser(project.id, [label for label, _ in label_counts if label is not None])


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
