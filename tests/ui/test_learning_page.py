"""The Learning page: empty states, every chart once rounds exist, the stopping verdict, and the
button that asks for a round."""

from __future__ import annotations

import functools
import re

from e2e.learning_seed import MODEL, add_topics_project, run_labeled_rounds
from fakes import FakeEmbedder
from sqlalchemy import select

from workbench import rounds, tasks  # noqa: F401  (tasks registers the round job's handler)
from workbench.embed import embed_project
from workbench.store.schema import AuditEntry, Job
from workbench.worker import run_until_empty

LEARNING_PAGE = "views/learning.py"
CHARTS = {
    "learning_cv_chart", "learning_payoff_chart", "learning_stability_chart", "learning_labels_chart",
    "learning_mix_chart", "learning_mind_chart",
}


def _open(signed_in):
    at = signed_in("lead1")
    at.switch_page(LEARNING_PAGE).run()
    assert not at.exception, at.exception
    return at


def _charts(at) -> list:
    return at.get("plotly_chart")


def test_without_projects_the_page_says_how_to_start(signed_in):
    at = _open(signed_in)
    assert "no projects yet" in at.info[0].value
    assert _charts(at) == []


def test_without_rounds_the_page_says_so_and_can_start_one(app_db, signed_in, monkeypatch, tmp_path):
    project_id = add_topics_project(app_db, per_topic=5)
    at = _open(signed_in)
    assert any("No rounds yet" in info.value for info in at.info)
    assert _charts(at) == []

    at.button(key="learning_new_round").click().run()
    assert not at.exception, at.exception
    with app_db.read() as session:
        job = session.scalars(select(Job)).one()
        assert (job.kind, job.project_id, job.payload) == ("round", project_id, {"trigger": "lead"})
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "round.request")).one()
        assert (entry.actor, entry.entity_id) == ("lead1", str(job.id))
    # Queued and waiting: asking again is not offered until the round ran.
    assert at.button(key="learning_new_round").disabled
    assert any("waiting for the worker" in bar.proto.text for bar in at.get("progress"))

    # The worker runs it; the page then shows the round and offers the button again.
    monkeypatch.setattr(rounds, "embed_project", functools.partial(embed_project, embedder=FakeEmbedder(MODEL)))
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    assert [job.kind for job in run_until_empty(app_db)] == ["round"]
    with app_db.read() as session:
        assert session.scalars(select(Job.status)).all() == ["done"]
    at.run()
    assert not at.exception, at.exception
    assert not at.button(key="learning_new_round").disabled
    assert any("Only one round so far" in info.value for info in at.info)
    assert {metric.label: metric.value for metric in at.metric}["Rounds"] == "1"


def test_one_round_only_says_the_curves_need_two(app_db, signed_in, tmp_path):
    project_id = add_topics_project(app_db, per_topic=10)
    run_labeled_rounds(app_db, project_id, 1, tmp_path / "models")
    at = _open(signed_in)
    assert any("Only one round so far" in info.value for info in at.info)


def test_with_rounds_every_chart_and_the_verdict_are_shown(app_db, signed_in, tmp_path):
    project_id = add_topics_project(app_db)
    run_labeled_rounds(app_db, project_id, 4, tmp_path / "models")
    at = _open(signed_in)
    keys = {chart.proto.id for chart in _charts(at)}
    assert len(_charts(at)) == len(CHARTS), keys
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Rounds"] == "4" and metrics["Training labels"] == "60"
    held_out = next(metric for metric in at.metric if metric.label == "Accuracy on random control items")
    assert re.fullmatch(r"\d+ of \d+ · 95% \d+%–\d+%", held_out.delta)  # how many items the figure rests on
    infos = " ".join(info.value for info in at.info)
    # Three rounds with predictions make two comparisons: too early for a verdict, and it says so.
    assert "Too early to tell" in infos
    # 20 labeled control items: random sampling is measured, but too few to extrapolate from.
    assert "not enough control labels yet (20 of 150 needed)" in infos
    assert any("measured by round 4 on 20 labeled control items" in c.value for c in at.caption)
