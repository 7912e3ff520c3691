"""Data map page (leads only): the pool's embedding map, coloured by label, predicted label,
uncertainty, cluster or noise flag; clicking a point opens its item below; then the cluster table.

The worker computes the map (``workbench.insight.map``) after every round; this page only reads it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workbench.insight import clusters as cluster_insight
from workbench.insight import map as embedding_map
from workbench.store import overview
from workbench.store.projects import list_projects
from workbench.store.schema import Item, Project
from workbench.ui import session
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown
from workbench.ui.sample_view import render_item

#: Seconds the page's data is reused before being read again (labels and flags change meanwhile).
REFRESH_SECONDS = 30
#: Points whose items a box or lasso selection lists.
MAX_LISTED = 200
LABEL_MIX_SHOWN = 3


def _choose_project(projects: list[Project]) -> Project:
    if len(projects) == 1:
        return projects[0]
    by_name = {project.name: project for project in projects}
    return by_name[st.selectbox("Project", list(by_name), key="data_map_project")]


@st.cache_data(ttl=REFRESH_SECONDS, max_entries=4, show_spinner="Reading the map...")
def _view(db_url: str, project_id: int, computed_at: str) -> embedding_map.MapView | None:
    # Keyed by the map's time: a new map is read at once; labels and flags within REFRESH_SECONDS.
    with database().read() as db_session:
        return embedding_map.map_view(db_session, project_id)


@st.cache_resource(ttl=REFRESH_SECONDS, max_entries=8, show_spinner=False)
def _figure(db_url: str, project_id: int, computed_at: str, colour_by: str) -> go.Figure:
    # Building 20,000 points' traces takes a fraction of a second: not again on every click. A
    # resource, not data: an unpickled copy per run made the chart forget a clicked point.
    return embedding_map.map_figure(_view(db_url, project_id, computed_at), colour_by)


@st.cache_data(ttl=REFRESH_SECONDS, max_entries=4, show_spinner="Describing the clusters...")
def _summaries(db_url: str, project_id: int, computed_at: str) -> list[cluster_insight.ClusterSummary] | None:
    with database().read() as db_session:
        return cluster_insight.cluster_summaries(db_session, project_id)


@st.fragment(run_every=2)
def _map_job(project_id: int, shown_at: str | None) -> None:
    """Progress of the project's map job; reloads the page when a newer map is stored."""
    with database().read() as db_session:
        job = embedding_map.latest_map_job(db_session, project_id)
    info = embedding_map.read_info(embedding_map.map_path(project_id))
    if info is not None and info.computed_at != shown_at:
        st.rerun(scope="app")
    if job is None:
        return
    if job.status == "queued":
        st.progress(0.0, text="Computing the map: waiting for the worker (`./run.sh worker`)")
    elif job.status == "running":
        st.progress(job.progress, text=f"Computing the map: {job.progress:.0%}")
    elif job.status == "failed":
        last_line = (job.error or "no message").strip().splitlines()[-1]
        st.error(f"Computing the map failed: {escape_markdown(last_line)}")


def _recompute_button(project_id: int, user_id: int) -> None:
    if st.button("Recompute map", key="data_map_recompute", icon=":material/refresh:",
                 help="Cluster and project the embedded items again (the worker does it after every round)."):
        with database().write() as db_session:
            job = embedding_map.request_map(db_session, project_id, user_id=user_id)
        st.toast(f"Map job {job.id} queued.")


def _empty_state(project: Project) -> None:
    with database().read() as db_session:
        stats = overview.project_stats(db_session, project)
    if stats.items.active == 0:
        st.info("This project has no active items to map.")
    elif stats.embedded == 0:
        st.info("No item of this project is embedded yet. The worker embeds imported items "
                "(`./run.sh worker`); the map follows the first round.")
    else:
        st.info(f"The map has not been computed yet ({stats.embedded:,} of {stats.items.active:,} items are "
                "embedded). The worker computes it after every round, or now with **Recompute map**.")


def _caption(view: embedding_map.MapView, latest_round: int | None) -> None:
    info = view.info
    after = f"after round {info.round}" if info.round is not None else "before the first round"
    flagged = f"the {view.n_flagged:,} with open noise flags, then the rest " if view.n_flagged else ""
    shown = (f"all {view.n_items:,} items" if view.n_shown == view.n_items else
             f"{view.n_shown:,} of {view.n_items:,} items ({view.n_shown / view.n_items:.0%}): {flagged}sampled "
             "by cluster so small clusters stay visible")
    st.caption(
        f"{info.projection.upper()} of {info.n_items:,} embeddings ({escape_markdown(info.model)}), "
        f"{info.n_clusters} k-means clusters, computed {info.computed_at.replace('T', ' ')} UTC {after}. "
        f"Showing {shown}. Predictions: "
        + (f"round {view.prediction_round}." if view.prediction_round is not None else "none yet.")
    )
    if latest_round is not None and (info.round is None or latest_round > info.round):
        st.caption(f"Round {latest_round} is newer: the worker updates the map when it is idle.")


def _selected_ids(event) -> list[int]:
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    ids = []
    for point in points:
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None and int(value) not in ids:
            ids.append(int(value))
    return ids


def _item_details(view: embedding_map.MapView, item_ids: list[int]) -> None:
    st.subheader("Selected item")
    points = view.points.set_index("item_id")
    # A selection made on an earlier drawing may name points this one no longer has.
    item_ids = [item_id for item_id in item_ids if item_id in points.index]
    if not item_ids:
        st.caption("Click a point (or draw a box or lasso around points) to open its item here.")
        return
    item_id = item_ids[0]
    if len(item_ids) > 1:
        listed = item_ids[:MAX_LISTED]
        options = {i: f"{i} · {snippet[:80]}" for i, snippet in zip(listed, points.loc[listed, "snippet"])}
        st.caption(f"{len(item_ids):,} points selected" + (f"; the first {MAX_LISTED} listed." if
                                                           len(item_ids) > MAX_LISTED else "."))
        item_id = st.selectbox("Item", list(options), format_func=options.get, key="data_map_item")
    point = points.loc[item_id]
    st.markdown(f"**Item {item_id}**")
    uncertainty = "—" if pd.isna(point["uncertainty"]) else f"{point['uncertainty']:.2f}"
    st.text(f"Label: {point['label']} · predicted: {point['predicted']} (uncertainty {uncertainty}) · "
            f"cluster {point['cluster']} · noise flags: {point['noise']}")
    with database().read() as db_session:
        item = db_session.get(Item, item_id)
        if item is None:
            st.warning(f"Item {item_id} no longer exists.")
            return
        render_item(item)


@st.fragment
def _map(view: embedding_map.MapView, project_id: int, computed_at: str) -> None:
    # A fragment: choosing a colour or clicking a point reruns the chart, not the cluster table.
    colour_by = st.segmented_control(
        "Colour by", list(embedding_map.COLOUR_BY), format_func=embedding_map.COLOUR_BY.get,
        default="label", key="data_map_colour",
    ) or "label"
    figure = _figure(database().url, project_id, computed_at, colour_by)
    event = st.plotly_chart(
        figure, key=f"data_map_chart_{project_id}_{colour_by}", on_select="rerun",
        selection_mode=("points", "box", "lasso"), config={"scrollZoom": True, "displaylogo": False},
    )
    _item_details(view, _selected_ids(event))


def _cluster_table(summaries: list[cluster_insight.ClusterSummary]) -> None:
    st.subheader("Clusters")
    st.caption(
        "**Label errors**: share of a cluster's labeled items whose gold label a scorer trained "
        "without them (out of fold, when the map was computed) disagrees with, and how many were scored. "
        "**Unlabeled uncertainty**: mean 1 − confidence of the latest round's predictions for its "
        "unlabeled items, the error to expect there. **Terms**: the words most typical of the cluster (c-TF-IDF)."
    )
    rows = []
    for summary in summaries:
        mix = ", ".join(f"{label} {n}" for label, n in summary.label_mix[:LABEL_MIX_SHOWN])
        if len(summary.label_mix) > LABEL_MIX_SHOWN:
            mix += f", +{len(summary.label_mix) - LABEL_MIX_SHOWN} more"
        rows.append({
            "cluster": summary.cluster,
            "items": summary.size,
            "labeled": 100 * summary.labeled_share,
            "label mix": mix or "—",
            "label errors": None if summary.error_rate is None else 100 * summary.error_rate,
            "scored": summary.n_scored,
            "unlabeled uncertainty": None if summary.uncertainty is None else 100 * summary.uncertainty,
            "terms": ", ".join(summary.top_terms),
        })
    percent = "%.0f%%"
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, key="data_map_clusters",
        column_config={
            "labeled": st.column_config.ProgressColumn("labeled", format=percent, min_value=0, max_value=100),
            "label errors": st.column_config.NumberColumn("label errors", format=percent),
            "scored": st.column_config.NumberColumn("scored", help="Labeled items scored out of fold"),
            "unlabeled uncertainty": st.column_config.NumberColumn("unlabeled uncertainty", format=percent),
        },
    )
    for summary in summaries:
        title = f"Cluster {summary.cluster} · {summary.size:,} items · {', '.join(summary.top_terms[:4])}"
        with st.expander(escape_markdown(title)):
            st.caption("Nearest its center:")
            with database().read() as db_session:
                texts = embedding_map.snippets(db_session, summary.representatives, 400)
            for item_id in summary.representatives:
                st.text(f"{item_id}: {texts.get(item_id, '')}")


def main() -> None:
    user = session.require_user("lead")
    st.title("Data map")
    db = database()
    with db.read() as db_session:
        projects = list_projects(db_session)
    if not projects:
        st.info("There are no projects yet: import a file first (see the Overview page).")
        return
    project = _choose_project(projects)
    info = embedding_map.read_info(embedding_map.map_path(project.id))
    _recompute_button(project.id, user.id)
    _map_job(project.id, None if info is None else info.computed_at)
    if info is None:
        _empty_state(project)
        return
    view = _view(db.url, project.id, info.computed_at)
    if view is None or view.n_items == 0:
        st.info("Every item on the stored map was dropped since; recompute the map.")
        return
    with db.read() as db_session:
        latest_round = embedding_map.latest_round_number(db_session, project.id)
    _caption(view, latest_round)
    _map(view, project.id, info.computed_at)
    summaries = _summaries(db.url, project.id, info.computed_at)
    if summaries:
        _cluster_table(summaries)


main()
