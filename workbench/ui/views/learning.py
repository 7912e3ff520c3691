"""Learning page (leads only): is the labeling effort paying off, and when to stop.

Every number comes from ``workbench.insight.learning.learning_report``; this page only draws it
(Plotly) and lets the lead ask for a round.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workbench import rounds
from workbench.insight.learning import (
    MAX_EXTRAPOLATION,
    STABLE_KAPPA,
    LearningReport,
    RoundPoint,
    learning_report,
)
from workbench.samplers import CONTROL_SAMPLER
from workbench.store import audit, jobs
from workbench.store.projects import list_projects
from workbench.store.schema import Project
from workbench.ui import session
from workbench.ui.auth import SignedInUser
from workbench.ui.db import database
from workbench.ui.markdown import escape_markdown

FOLD_BAND = "rgba(31, 119, 180, 0.15)"
F1_BAND = "rgba(255, 127, 14, 0.15)"
CHART_HEIGHT = 380


def _choose_project(projects: list[Project]) -> Project:
    if len(projects) == 1:
        return projects[0]
    by_name = {project.name: project for project in projects}
    return by_name[st.selectbox("Project", list(by_name), key="learning_project")]


@st.fragment(run_every=3)
def _round_job(project_id: int, user: SignedInUser) -> None:
    """The latest round job's progress, and the button that asks for a round now."""
    with database().read() as db_session:
        latest = next((job for job in jobs.latest_jobs(db_session, project_id, limit=10)
                       if job.kind == rounds.ROUND_JOB), None)
    if latest is not None and latest.status == "queued":
        st.progress(0.0, text="Round: waiting for the worker (`./run.sh worker`)")
    elif latest is not None and latest.status == "running":
        st.progress(latest.progress, text=f"Round: {latest.progress:.0%}")
    elif latest is not None and latest.status == "failed":
        message = (latest.error or "").strip().splitlines()[-1] if latest.error else "no message"
        st.error(f"The last round failed after {latest.attempts} attempts: {message}")
    busy = latest is not None and latest.status in jobs.ACTIVE
    # When a round this session watched finishes, redraw the whole page with it.
    watched = f"learning_watched_job_{project_id}"
    if busy:
        st.session_state[watched] = latest.id
    elif latest is not None and st.session_state.pop(watched, None) == latest.id and latest.status == "done":
        st.rerun()
    if st.button("Start a new round now", key="learning_new_round", disabled=busy,
                 help="Retrain the scorer and select the next batch without waiting for the label threshold."):
        with database().write() as db_session:
            job = rounds.request_round(db_session, project_id, trigger="lead", user_id=user.id)
            audit.record(db_session, actor=user.username, action="round.request", entity="job",
                         entity_id=job.id, project_id=project_id, user_id=user.id)
        st.rerun()  # the whole page: the job's progress and the disabled button show at once


def _verdict(report: LearningReport) -> None:
    verdict = report.verdict
    if verdict.status == "stop":
        st.success(f"**Stopping suggestion:** {verdict.reason}", icon=":material/flag:")
    elif verdict.status == "continue":
        st.info(f"**Keep going.** {verdict.reason}", icon=":material/trending_up:")
    else:
        st.info(verdict.reason, icon=":material/hourglass_empty:")


def _figures(report: LearningReport) -> None:
    latest = report.rounds[-1]
    scored = [p for p in report.rounds if p.accuracy is not None]
    held_at = next((p for p in reversed(report.rounds) if p.held_out is not None), None)
    cols = st.columns(4)
    cols[0].metric("Rounds", len(report.rounds), help=f"Latest: round {latest.number}.")
    cols[1].metric("Training labels", f"{latest.n_labels:,}")
    if scored:
        best = scored[-1]
        spread = f" (folds {best.accuracy_spread.low:.1%}-{best.accuracy_spread.high:.1%})" \
            if best.accuracy_spread else ""
        cols[2].metric("Cross-validated accuracy", f"{best.accuracy:.1%}",
                       help=f"Round {best.number}, on the labeled items{spread}. Actively chosen items are "
                            "harder than the pool, so this runs low.")
    if held_at is not None:
        held = held_at.held_out
        # A few control items make a shaky figure: the count and the interval go under it, not in a tooltip.
        cols[3].metric("Accuracy on random control items", f"{held.accuracy:.1%}",
                       delta=f"{held.correct} of {held.n} · 95% {held.low:.0%}–{held.high:.0%}", delta_color="off",
                       delta_arrow="off", help=f"Round {held_at.number}: {held.correct} of {held.n} labeled control items it had not "
                            f"trained on (95% interval {held.low:.0%}-{held.high:.0%}).")


def _band(fig: go.Figure, x: list[int], low: list[float], high: list[float], colour: str, name: str) -> None:
    fig.add_trace(go.Scatter(x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip",
                             legendgroup=name))
    fig.add_trace(go.Scatter(x=x, y=low, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=colour,
                             name=name, hoverinfo="skip", legendgroup=name))


def _cv_chart(points: list[RoundPoint]) -> go.Figure:
    fig = go.Figure()
    with_spread = [p for p in points if p.accuracy_spread is not None]
    if with_spread:
        x = [p.n_labels for p in with_spread]
        _band(fig, x, [p.accuracy_spread.low for p in with_spread], [p.accuracy_spread.high for p in with_spread],
              FOLD_BAND, "accuracy: range across folds")
        _band(fig, x, [p.macro_f1_spread.low for p in with_spread], [p.macro_f1_spread.high for p in with_spread],
              F1_BAND, "macro-F1: range across folds")
    scored = [p for p in points if p.accuracy is not None]
    labels = [f"round {p.number}" for p in scored]
    fig.add_trace(go.Scatter(x=[p.n_labels for p in scored], y=[p.accuracy for p in scored], mode="lines+markers",
                             name="accuracy (cross-validated)", text=labels, line={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=[p.n_labels for p in scored], y=[p.macro_f1 for p in scored], mode="lines+markers",
                             name="macro-F1 (cross-validated)", text=labels, line={"color": "#ff7f0e"}))
    fig.update_layout(xaxis_title="training labels", yaxis_title="score", yaxis_range=[0, 1.02],
                      height=CHART_HEIGHT, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def _payoff_chart(report: LearningReport) -> go.Figure:
    fig = go.Figure()
    held = [p for p in report.rounds if p.held_out is not None]
    if held:
        fig.add_trace(go.Scatter(
            x=[p.n_labels for p in held], y=[p.held_out.accuracy for p in held], mode="lines+markers",
            name="this project (accuracy on control items)", line={"color": "#2ca02c"},
            error_y={"type": "data", "symmetric": False,
                     "array": [p.held_out.high - p.held_out.accuracy for p in held],
                     "arrayminus": [p.held_out.accuracy - p.held_out.low for p in held]},
            text=[f"round {p.number}: {p.held_out.correct} of {p.held_out.n}" for p in held],
        ))
    estimated = [p for p in report.rounds if p.random_estimate is not None]
    if estimated:
        fig.add_trace(go.Scatter(
            x=[p.n_labels for p in estimated], y=[p.random_estimate for p in estimated], mode="lines+markers",
            name="random sampling (estimate)", line={"color": "#7f7f7f", "dash": "dash"},
            text=[f"round {p.number}{' (extrapolated)' if p.random_extrapolated else ''}" for p in estimated],
        ))
    curve = report.random_curve
    if curve.sizes:
        fig.add_trace(go.Scatter(x=curve.sizes, y=curve.accuracy, mode="markers", name="random sampling (measured)",
                                 marker={"color": "#7f7f7f", "symbol": "x", "size": 9}))
    fig.update_layout(xaxis_title="labels", yaxis_title="accuracy", yaxis_range=[0, 1.02], height=CHART_HEIGHT,
                      margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def _label_chart(points: list[RoundPoint]) -> go.Figure:
    frame = pd.DataFrame([{"round": f"{p.number}", "label": label, "labels": n}
                          for p in points for label, n in sorted(p.label_counts.items())])
    fig = go.Figure()
    if len(frame):
        for label, rows in frame.groupby("label", sort=True):
            fig.add_trace(go.Bar(x=rows["round"], y=rows["labels"], name=str(label)))
    fig.update_layout(barmode="stack", xaxis_title="round", yaxis_title="training labels", height=CHART_HEIGHT,
                      margin={"t": 30}, xaxis_type="category")
    return fig


def _mix_chart(report: LearningReport) -> go.Figure:
    fig = go.Figure()
    samplers = sorted({b.sampler for b in report.batches}, key=lambda s: (s == CONTROL_SAMPLER, s))
    for sampler in samplers:
        batches = [b for b in report.batches if b.sampler == sampler]
        fig.add_trace(go.Bar(
            x=[str(b.round_number) for b in batches], y=[b.picked for b in batches], name=sampler,
            text=[f"{b.labeled}/{b.picked} labeled" for b in batches], textposition="inside",
        ))
    rounds = sorted({b.round_number for b in report.batches})
    # Categories follow first appearance; the cold start's sampler appears last, so order by round.
    fig.update_layout(barmode="stack", xaxis_title="round", yaxis_title="candidates", height=CHART_HEIGHT,
                      margin={"t": 30}, xaxis_type="category",
                      xaxis={"categoryorder": "array", "categoryarray": [str(r) for r in rounds]})
    return fig


def _mind_chart(report: LearningReport) -> go.Figure | None:
    totals: dict[str, list[int]] = {}
    for b in report.batches:
        compared, changed, disagreed = totals.setdefault(b.sampler, [0, 0, 0])
        totals[b.sampler] = [compared + b.compared, changed + b.changed, disagreed + b.disagreed]
    totals = {s: t for s, t in totals.items() if t[0] > 0}
    if not totals:
        return None
    samplers = sorted(totals)
    fig = go.Figure()
    for index, name in ((1, "next round predicts it differently"), (2, "its label differed from the prediction")):
        fig.add_trace(go.Bar(
            x=samplers, y=[totals[s][index] / totals[s][0] for s in samplers], name=name,
            text=[f"{totals[s][index]} of {totals[s][0]}" for s in samplers], textposition="auto",
        ))
    fig.update_layout(barmode="group", yaxis_title="share of its labeled picks", yaxis_tickformat=".0%",
                      height=CHART_HEIGHT, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def _stability_chart(report: LearningReport) -> go.Figure:
    pairs = report.stability
    fig = go.Figure(go.Scatter(
        x=[p.to_round for p in pairs], y=[p.kappa for p in pairs], mode="lines+markers", name="kappa",
        text=[f"rounds {p.from_round}-{p.to_round}: {p.changed:,} of {p.n_items:,} predictions changed" for p in pairs],
    ))
    fig.add_hline(y=STABLE_KAPPA, line_dash="dot", annotation_text=f"stable ({STABLE_KAPPA})")
    fig.update_layout(xaxis_title="round (compared with the one before)", yaxis_title="Cohen's kappa",
                      height=CHART_HEIGHT, margin={"t": 30}, xaxis_dtick=1)
    return fig


def _round_table(report: LearningReport) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    kappa = {pair.to_round: pair.kappa for pair in report.stability}

    rows = [{
        "round": p.number,
        "trigger": p.trigger,
        "labels": p.n_labels,
        "CV accuracy": pct(p.accuracy),
        "fold range": "-" if p.accuracy_spread is None
        else f"{p.accuracy_spread.low:.1%}-{p.accuracy_spread.high:.1%}",
        "CV macro-F1": pct(p.macro_f1),
        "control accuracy": "-" if p.held_out is None else f"{p.held_out.accuracy:.1%} ({p.held_out.n})",
        "random estimate": pct(p.random_estimate) + (" (extrapolated)" if p.random_extrapolated else ""),
        "kappa vs previous": "-" if kappa.get(p.number) is None else f"{kappa[p.number]:.3f}",
    } for p in report.rounds]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _batch_table(report: LearningReport) -> None:
    st.dataframe(pd.DataFrame([{
        "round": b.round_number,
        "sampler": b.sampler,
        "picked": b.picked,
        "labeled": b.labeled,
        "labeled before the next round": b.labeled_before_next,
        "next round predicts differently": f"{b.changed} of {b.compared}" if b.compared else "-",
        "label differed from prediction": f"{b.disagreed} of {b.compared}" if b.compared else "-",
    } for b in report.batches]), hide_index=True)


def _charts(report: LearningReport) -> None:
    st.subheader("Accuracy and macro-F1 by labels")
    st.caption("Cross-validated on the labeled items (5 folds); the bands span the folds' lowest to highest score.")
    st.plotly_chart(_cv_chart(report.rounds), key="learning_cv_chart")

    st.subheader("Is active learning paying off?")
    st.caption(
        "Green: each round's accuracy on the random control items it had not trained on (a fair sample of the "
        "pool; bars are 95% intervals). Grey: what random sampling would have reached with as many labels, "
        "from a learning curve measured on the control items and fitted with an inverse power law."
    )
    curve = report.random_curve
    if curve.sizes:
        st.caption(f"Random sampling measured by round {report.random_curve_round} on {curve.n_labels} labeled "
                   f"control items (training sizes {curve.sizes[0]}-{curve.largest_size}).")
    if report.random_estimate_message:
        st.info(f"No random-sampling estimate at the rounds' label counts yet: {report.random_estimate_message}. "
                f"A curve fitted on fewer control labels misjudges random sampling by 10 points or more; a larger "
                f"control share gets there sooner.")
    else:
        st.caption(f"The estimate is read up to {MAX_EXTRAPOLATION:g}x the largest measured size "
                   f"({int(MAX_EXTRAPOLATION * curve.largest_size):,} labels).")
    st.plotly_chart(_payoff_chart(report), key="learning_payoff_chart")

    st.subheader("Prediction stability")
    _verdict(report)
    if report.stability:
        st.plotly_chart(_stability_chart(report), key="learning_stability_chart")

    left, right = st.columns(2)
    with left:
        st.subheader("Training labels per round")
        st.plotly_chart(_label_chart(report.rounds), key="learning_labels_chart")
    with right:
        st.subheader("Sampler mix per batch")
        st.plotly_chart(_mix_chart(report), key="learning_mix_chart")

    st.subheader("Which samplers' picks changed the model's mind")
    st.caption("Of each sampler's picks labeled before the next round: how often the next round's prediction "
               "for the item changed, and how often its label differed from what the round had predicted.")
    mind = _mind_chart(report)
    if mind is None:
        st.text("No picks were labeled before a later round yet.")
    else:
        st.plotly_chart(mind, key="learning_mind_chart")
    with st.expander("Rounds table"):
        _round_table(report)
    with st.expander("Batches table (per round and sampler)"):
        _batch_table(report)


def render() -> None:
    user = session.require_user("lead")
    st.title("Learning")
    db = database()
    with db.read() as db_session:
        projects = list_projects(db_session)
    if not projects:
        st.info("There are no projects yet. Import one (`python -m workbench import FILE --project NAME`).")
        return
    project = _choose_project(projects)
    st.header(escape_markdown(project.name))
    _round_job(project.id, user)
    with db.read() as db_session:
        report = learning_report(db_session, project.id)
    if not report.rounds:
        st.info("No rounds yet. The worker runs the first round once the items are embedded "
                "(or start one with the button above); the curves appear from the second round on.")
        return
    _figures(report)
    if len(report.rounds) == 1:
        st.info("Only one round so far: the curves need at least two. Label the first batch; the next round "
                "starts when enough labels arrived (or start one with the button above).")
    _charts(report)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
