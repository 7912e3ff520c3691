"""Annotators page (leads only): throughput, time per item, agreement, and the lead's overturns.

The figures come from ``workbench.insight.annotators.annotator_report`` (definitions there); this
page only lays them out: the project's Fleiss' kappa and Krippendorff's alpha with their Landis &
Koch band, the per-annotator table, the pairwise Cohen's kappa heat map, where an annotator
differs from the reference, their agreement per day, labels over time and the time-per-item
distribution. Without overlapped items it says so, and offers to ask for two annotations per
item, instead of drawing empty charts; the overlap can be changed here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workbench.insight.agreement import LANDIS_KOCH_LEGEND, Score, landis_koch
from workbench.insight.annotators import (
    AnnotatorReport,
    PairAgreement,
    annotator_report,
    pair_disagreements,
    table_rows,
    top_confusions,
)
from workbench.store import projects
from workbench.store.projects import list_projects
from workbench.store.schema import Project
from workbench.ui import auth, session
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown

NO_OVERLAP = (
    "No overlap yet: no item has been labeled by two annotators, so agreement cannot be measured. "
    "Set the project's overlap to 2 to measure agreement: every item is then labeled by two people."
)
WAITING_FOR_OVERLAP = (
    "No overlap yet: the project asks for {overlap} annotations per item, but no item has two yet. "
    "Agreement appears here as soon as annotators label the same items."
)
NO_LABELS = "Nobody has labeled, skipped or flagged an item in this project yet."



def _choose_project(all_projects: list[Project]) -> Project:
    if len(all_projects) == 1:
        return all_projects[0]
    by_name = {project.name: project for project in all_projects}
    return by_name[st.selectbox("Project", list(by_name), key="annotators_project")]


def _score_metric(column, title: str, score: Score) -> None:
    if score.value is None:
        column.metric(title, "–", help=f"Undefined: {score.undefined} ({score.n_items:,} items).")
        return
    band = landis_koch(score.value)
    if score.low is not None:
        band += f" · 95% CI {score.low:.2f} to {score.high:.2f}"
    column.metric(
        title,
        f"{score.value:.3f}",
        delta=band,
        delta_color="off",
        delta_arrow="off",
        help=f"Over {score.n_items:,} overlapped items; the interval is a bootstrap over items. "
        + LANDIS_KOCH_LEGEND,
    )


def _save_overlap(user: auth.SignedInUser, project: Project, overlap: int) -> None:
    with database().write() as db_session:
        projects.set_overlap(
            db_session, db_session.get(Project, project.id), overlap, actor=user.username, user_id=user.id
        )
    session.set_notice(f"Overlap set to {overlap}: the queue now asks for {overlap} annotation(s) per item.")
    st.rerun()


def _ask_for_overlap(user: auth.SignedInUser, project: Project) -> None:
    if st.button(
        "Ask for two annotations per item",
        key="annotators_set_overlap",
        type="primary",
        help="Each item then costs two annotators' time; items labeled once so far are offered to a "
        "second annotator too.",
    ):
        _save_overlap(user, project, 2)


def _overlap_form(user: auth.SignedInUser, project: Project, current: int) -> None:
    with st.expander("Change the overlap"):
        st.caption(
            "How many annotators label each item. 2 or more measures agreement but costs that many "
            "times the labeling; 1 labels each item once."
        )
        with st.form("annotators_overlap_form", border=False):
            overlap = st.number_input(
                "Annotations per item", min_value=1, max_value=10, value=current, key="annotators_overlap"
            )
            if st.form_submit_button("Save", key="annotators_overlap_save") and overlap != current:
                _save_overlap(user, project, int(overlap))


def _agreement(user: auth.SignedInUser, project: Project, report: AnnotatorReport) -> bool:
    """The project's agreement figures; False (after the empty state) when nothing overlaps."""
    fleiss, alpha, overlapped, overlap = st.columns(4)
    overlapped.metric(
        "Overlapped items", f"{report.overlapped_items:,}", help="Items with two or more annotations."
    )
    overlap.metric("Overlap setting", report.overlap, help="Annotations the project asks for per item.")
    if report.overlapped_items == 0:
        if report.overlap < 2:
            st.info(NO_OVERLAP)
            _ask_for_overlap(user, project)
        else:
            st.info(WAITING_FOR_OVERLAP.format(overlap=report.overlap))
        return False
    _score_metric(fleiss, "Fleiss' kappa", report.fleiss)
    _score_metric(alpha, "Krippendorff's alpha", report.alpha)
    st.caption(LANDIS_KOCH_LEGEND)
    return True


def _annotator_table(report: AnnotatorReport) -> None:
    number = st.column_config.NumberColumn
    st.dataframe(
        pd.DataFrame(table_rows(report)),
        hide_index=True,
        key="annotators_table",
        column_config={
            "today": number(help="Since 00:00 UTC."),
            "this week": number(help="Since Monday 00:00 UTC."),
            "per active hour": number(
                format="%.0f", help="Labels per active hour (a pause over 15 min ends a work session)."
            ),
            "active h": number(format="%.1f", help="Hours in work sessions, breaks left out."),
            "median s": number(format="%.0f", help="Median seconds spent per item, zeros left out."),
            "p90 s": number(format="%.0f", help="90th percentile of the seconds spent per item."),
            "flags": number(help="Items flagged as problematic for the lead's review."),
            "skips": number(help="Items given back without a label (flags not counted)."),
            "agreement": number(
                format="percent",
                help="On items someone else labeled too: share of labels equal to the lead's relabel, "
                "else the other annotators' plurality.",
            ),
            "agreement n": number(help="Labels that had such a reference."),
            "lead decided": number(help="Their items the lead relabeled (to any label)."),
            "overturned": number(help="Their items the lead relabeled to another label."),
            "overturn rate": number(format="percent", help="Overturned / lead decided."),
        },
    )


def _kappa_heat_map(report: AnnotatorReport) -> go.Figure:
    names = [stats.username for stats in report.annotators]
    position = {name: i for i, name in enumerate(names)}
    kappa = np.full((len(names), len(names)), np.nan)
    shared = np.zeros((len(names), len(names), 2))  # items both labeled, share with the same label
    for pair in report.pairs:
        a, b = position[pair.user_a], position[pair.user_b]
        observed = pair.observed if pair.observed is not None else np.nan
        shared[a, b] = shared[b, a] = (pair.kappa.n_items, observed)
        if pair.kappa.value is not None:
            kappa[a, b] = kappa[b, a] = pair.kappa.value
    labels = [[f"{v:.2f}" if not np.isnan(v) else "" for v in row] for row in kappa]
    figure = go.Figure(
        go.Heatmap(
            z=kappa,
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdYlGn",
            text=labels,
            texttemplate="%{text}",
            customdata=shared,
            hovertemplate="%{y} / %{x}<br>Cohen's kappa %{z:.3f}<br>same label on %{customdata[1]:.0%} of "
            "%{customdata[0]} items both labeled<extra></extra>",
            colorbar={"title": "kappa"},
        )
    )
    figure.update_layout(yaxis={"autorange": "reversed"}, height=120 + 45 * len(names), margin={"t": 30})
    return figure


def _agreement_over_time(report: AnnotatorReport) -> go.Figure:
    frame = pd.DataFrame(
        [
            {"annotator": b.username, "day": b.start, "share": b.share, "n": b.n}
            for b in report.agreement_per_day
        ]
    )
    figure = go.Figure(
        [
            go.Scatter(
                x=rows["day"],
                y=rows["share"],
                customdata=rows["n"],
                name=name,
                mode="lines+markers",
                # Bigger markers for days with more labels: a 100% of 2 labels is not a 100% of 200.
                marker={"size": 5 + 12 * np.sqrt(rows["n"] / frame["n"].max())},
                hovertemplate=f"{name}<br>%{{x|%Y-%m-%d}}: %{{y:.0%}} of %{{customdata}} labels"
                "<extra></extra>",
            )
            for name, rows in frame.groupby("annotator", sort=True)
        ]
    )
    figure.update_layout(
        xaxis=_day_axis(frame["day"]),
        yaxis={"title": "agreement with the reference", "tickformat": ".0%"},
        margin={"t": 30},
    )
    return figure


def _day_axis(days: pd.Series) -> dict:
    """A date axis labeled by day (one tick a day while that stays readable, a month at most)."""
    axis = {"title": "day (UTC)", "tickformat": "%b %d"}
    if (days.max() - days.min()).days <= 31:
        axis["dtick"] = 24 * 3600 * 1000  # milliseconds: Plotly's unit for date axes
    return axis


@st.fragment
def _labels_over_time(report: AnnotatorReport) -> None:
    # A fragment: switching hour/day redraws this chart without recomputing the report.
    st.subheader("Labels over time")
    step = st.segmented_control("Per", ["hour", "day"], default="day", key="annotators_time_step") or "day"
    bins = report.per_hour if step == "hour" else report.per_day
    frame = pd.DataFrame([{"annotator": b.username, "start": b.start, "labels": b.labels} for b in bins])
    figure = go.Figure(
        [
            go.Bar(x=rows["start"], y=rows["labels"], name=name)
            for name, rows in frame.groupby("annotator", sort=True)
        ]
    )
    xaxis = _day_axis(frame["start"]) if step == "day" else {"title": "hour (UTC)"}
    figure.update_layout(barmode="stack", xaxis=xaxis, yaxis_title="labels", margin={"t": 30})
    st.plotly_chart(figure, key="annotators_time_chart")


PREVIEW_CHARS = 160
SHOWN_DISAGREEMENTS = 100


def _pair_title(pair: PairAgreement) -> str:
    kappa = pair.kappa
    value = f"kappa {kappa.value:.2f}" if kappa.value is not None else "kappa undefined"
    same = f"same label on {pair.observed:.0%} of " if pair.observed is not None else ""
    return f"{pair.user_a} / {pair.user_b} ({value}, {same}{kappa.n_items:,} shared items)"


@st.fragment
def _pair_disagreements(project_id: int, report: AnnotatorReport) -> None:
    # A fragment: choosing another pair reruns only this query, not the whole report.
    shared = [pair for pair in report.pairs if pair.kappa.n_items]
    if not shared:
        return
    # Lowest agreement first: the pair the lead most likely wants to look at.
    shared.sort(key=lambda pair: (pair.kappa.value is None, pair.kappa.value or 0.0))
    pair = st.selectbox(
        "Items two annotators labeled differently", shared, format_func=_pair_title, key="annotators_pair"
    )
    ids = {stats.username: stats.user_id for stats in report.annotators}
    with database().read() as db_session:
        total, found = pair_disagreements(
            db_session, project_id, ids[pair.user_a], ids[pair.user_b], limit=SHOWN_DISAGREEMENTS
        )
    if not total:
        st.caption(escape_markdown(f"{pair.user_a} and {pair.user_b} agree on every item they share."))
        return
    shown = f"the newest {len(found)} of " if total > len(found) else ""
    st.caption(f"Showing {shown}{total:,} items; the text is the item's text as embedded.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "item": d.item_id,
                    "text": d.text[:PREVIEW_CHARS] + ("..." if len(d.text) > PREVIEW_CHARS else ""),
                    pair.user_a: d.label_a,
                    pair.user_b: d.label_b,
                    "lead's label": d.lead_label,
                }
                for d in found
            ]
        ),
        hide_index=True,
        key="annotators_pair_items",
        column_config={"text": st.column_config.TextColumn(width="large")},
    )


@st.fragment
def _confusions(report: AnnotatorReport) -> None:
    # A fragment: choosing another annotator redraws this part only.
    st.subheader("Where an annotator differs from the reference")
    with_reference = [stats.username for stats in report.annotators if stats.agreement_n]
    if not with_reference:
        st.info("No label has a reference yet (the lead's relabel, or other annotators' labels on the item).")
        return
    name = st.selectbox("Annotator", with_reference, key="annotators_confusion_user")
    matrix = report.confusion[name]
    used = np.flatnonzero(matrix.sum(axis=0) + matrix.sum(axis=1))  # labels that occur at all
    labels = [report.categories[i] for i in used]
    figure = go.Figure(
        go.Heatmap(
            z=matrix[np.ix_(used, used)],
            x=labels,
            y=labels,
            colorscale="Blues",
            texttemplate="%{z}",
            hovertemplate=f"{name} gave %{{y}}<br>reference %{{x}}<br>%{{z}} items<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title="reference label", yaxis_title=f"{name}'s label", yaxis={"autorange": "reversed"},
        height=160 + 28 * len(labels), margin={"t": 30},
    )
    st.plotly_chart(figure, key="annotators_confusion_map")
    top = top_confusions(report, name)
    if top:
        st.dataframe(
            pd.DataFrame([{"gave": c.given, "reference": c.reference, "items": c.n} for c in top]),
            hide_index=True,
            key="annotators_top_confusions",
        )
    else:
        st.caption(escape_markdown(f"{name} agreed with every reference label."))


def _time_per_item(report: AnnotatorReport) -> go.Figure:
    figure = go.Figure(
        [
            go.Box(y=seconds, name=name, boxpoints=False)
            for name, seconds in report.seconds_per_item.items()
            if len(seconds)
        ]
    )
    figure.update_layout(yaxis_title="seconds per item", yaxis_type="log", showlegend=False, margin={"t": 30})
    return figure


def render() -> None:
    user = session.require_user("lead")
    st.title("Annotators")
    db = database()
    with db.read() as db_session:
        all_projects = list_projects(db_session)
    if not all_projects:
        st.info("There are no projects yet.")
        return
    project = _choose_project(all_projects)
    with st.spinner("Computing the annotators' figures..."), db.read() as db_session:
        report = annotator_report(db_session, project.id)
    if not report.annotators:
        st.info(NO_LABELS)
        return

    st.subheader("Agreement")
    overlapped = _agreement(user, project, report)
    _overlap_form(user, project, report.overlap)
    st.subheader("Per annotator")
    _annotator_table(report)
    if overlapped and len(report.annotators) >= 2:
        st.subheader("Cohen's kappa per pair")
        st.plotly_chart(_kappa_heat_map(report), key="annotators_kappa_map")
        st.caption("Hover a cell for the number of items both annotators labeled; empty cells: fewer "
                   "than 2 shared items, or both used one label only.")
        _pair_disagreements(project.id, report)
    _confusions(report)
    if report.agreement_per_day:
        st.subheader("Agreement with the reference, per day")
        st.plotly_chart(_agreement_over_time(report), key="annotators_agreement_chart")
    _labels_over_time(report)
    st.subheader("Time per item")
    if any(len(seconds) for seconds in report.seconds_per_item.values()):
        st.plotly_chart(_time_per_item(report), key="annotators_time_per_item")
    else:
        st.info("No time per item was measured yet (labels saved without timing, e.g. by a script).")


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
