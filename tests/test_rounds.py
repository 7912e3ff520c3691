"""Rounds in the app: labels in the database trigger a round in the worker, which retrains, rescores
and queues candidates with their sampler and reason; a crash leaves nothing half-written."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sqlalchemy import func, select

from fakes import FakeEmbedder
from workbench import rounds, tasks
from workbench.embed import embed_project
from workbench.samplers import CONTROL_SAMPLER, DEFAULT_BUDGET
from workbench.scorer import load_scorer
from workbench.store import projects, users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Candidate, Decision, Item, Job, Prediction, Round
from workbench.text import content_hash, normalize_text
from workbench.worker import run_until_empty

TOPICS = {
    "card": "my card payment was declined at the shop number {i}",
    "weather": "what is the weather forecast for tomorrow in town {i}",
    "code": "python function raises a type error on line {i}",
}
MODEL = "fake-trigram-32"


@pytest.fixture
def project(db: Database, tmp_path, monkeypatch):
    """A 3-topic project of 150 embedded items with a low round threshold and batch size."""
    fake = FakeEmbedder(MODEL)
    monkeypatch.setattr(rounds, "embed_project", functools.partial(embed_project, embedder=fake))
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    with db.write() as session:
        created = projects.create_project(
            session, "topics", labels=projects.make_label_schema(list(TOPICS)), embedding_model=MODEL,
            settings={"batch_size": 10, "round_threshold": 12},
        )
        for label, template in TOPICS.items():
            for i in range(50):
                text = normalize_text(template.format(i=i * 7))
                session.add(Item(project_id=created.id, shape="text", sample={"text": text}, text=text,
                                 content_hash=content_hash(text), meta={"topic": label, "source": f"s{i % 2}"}))
        users.add_user(session, "ann", "password-123", "annotator")
        users.add_user(session, "boss", "password-123", "lead")
        project_id = created.id
    embed_project(db, project_id, embedder=fake)
    return project_id


def _work(db: Database) -> list[Job]:
    return run_until_empty(db, on_idle=tasks.schedule_rounds)


def _label_candidates(db: Database, project_id: int, round_number: int, n: int) -> list[int]:
    """The annotator labels the first n candidates of a round with their true topic."""
    with db.write() as session:
        round_id = session.scalar(select(Round.id).where(Round.project_id == project_id, Round.number == round_number))
        picked = session.scalars(
            select(Candidate.item_id).where(Candidate.round_id == round_id).order_by(Candidate.rank).limit(n)
        ).all()
        ann = users.get_user(session, "ann")
        for item_id in picked:
            item = session.get(Item, item_id)
            session.add(Annotation(project_id=project_id, item_id=item_id, user_id=ann.id, label=item.meta["topic"]))
    return list(picked)


def test_labels_trigger_rounds_that_retrain_and_queue_candidates(db: Database, project: int) -> None:
    done = _work(db)  # embedded but no round yet: the cold-start round
    assert [job.kind for job in done] == ["round"]
    with db.read() as session:
        first = session.scalars(select(Round)).one()
        assert (first.number, first.trigger, first.n_labels, first.classes) == (1, "initial", 0, [])
        candidates = session.scalars(select(Candidate).where(Candidate.round_id == first.id)).all()
        assert len(candidates) == 10 and {c.sampler for c in candidates} == {"diversity"}
        assert all("cluster" in c.reason for c in candidates)
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0

    labeled = _label_candidates(db, project, 1, 10)
    assert _work(db) == []  # 10 new labels < threshold 12: nothing is due

    with db.read() as session:
        more = session.scalars(select(Item.id).where(Item.id.not_in(labeled)).limit(2)).all()
    with db.write() as session:
        ann = users.get_user(session, "ann")
        for item_id in more:
            topic = session.get(Item, item_id).meta["topic"]
            session.add(Annotation(project_id=project, item_id=item_id, user_id=ann.id, label=topic))
    labeled += list(more)

    done = _work(db)
    assert [job.kind for job in done] == ["round"] and done[0].payload == {"trigger": "threshold"}
    with db.read() as session:
        second = session.scalar(select(Round).where(Round.number == 2))
        assert second.n_labels == 12 and len(second.classes) >= 2
        assert 0.0 <= second.metrics["cv"]["accuracy"] <= 1.0
        assert second.metrics["cv"]["n_labels"] == 12
        n_predictions = session.scalar(select(func.count()).where(Prediction.round_id == second.id))
        assert n_predictions == 150
        candidates = session.scalars(select(Candidate).where(Candidate.round_id == second.id)).all()
        assert len(candidates) == 10
        assert not {c.item_id for c in candidates} & set(labeled)  # never a reviewed item again
        assert all(c.reason for c in candidates)
        assert {c.sampler for c in candidates} <= set(DEFAULT_BUDGET) | {"diversity", CONTROL_SAMPLER}
        # 5% of a batch of 10 still keeps one uniformly random control pick.
        assert [c.sampler for c in candidates].count(CONTROL_SAMPLER) == 1
        spread = second.metrics["cv_folds"]
        assert spread["n_folds"] == 5 and len(spread["accuracy"]["per_fold"]) == 5
        for figure in ("accuracy", "macro_f1"):
            low, mean, high = (spread[figure][key] for key in ("min", "mean", "max"))
            assert 0.0 <= low <= mean <= high <= 1.0 and spread[figure]["std"] >= 0.0
        scorer = load_scorer(second.artefact_path)
        assert list(scorer.classes_) == second.classes
        item_ids, _ = np.array([p.item_id for p in session.scalars(select(Prediction))]), None
        assert len(set(item_ids.tolist())) == 150


def test_lead_decisions_train_and_drops_leave_the_pool(db: Database, project: int) -> None:
    with db.write() as session:
        boss = users.get_user(session, "boss")
        items = session.scalars(select(Item).order_by(Item.id)).all()
        for item in items[:3] + items[50:53]:
            session.add(Decision(project_id=project, item_id=item.id, user_id=boss.id, action="relabel",
                                 label=item.meta["topic"]))
        for item in items[100:110]:
            item.status = "dropped"
        dropped = {item.id for item in items[100:110]}
        rounds.request_round(session, project)
    _work(db)
    with db.read() as session:
        round_ = session.scalars(select(Round)).one()
        assert round_.trigger == "lead" and round_.n_labels == 6 and round_.classes == ["card", "weather"]
        predicted = set(session.scalars(select(Prediction.item_id)))
        assert len(predicted) == 140 and not predicted & dropped
        assert not set(session.scalars(select(Candidate.item_id))) & dropped


def test_lead_relabels_and_drops_count_toward_the_next_round(db: Database, project: int) -> None:
    _work(db)  # the cold-start round
    with db.write() as session:
        boss = users.get_user(session, "boss")
        items = session.scalars(select(Item).order_by(Item.id)).all()
        for item in items[:11]:
            session.add(Decision(project_id=project, item_id=item.id, user_id=boss.id, action="relabel",
                                 label=item.meta["topic"]))
        session.add(Decision(project_id=project, item_id=items[20].id, user_id=boss.id, action="keep"))
    assert _work(db) == []  # 11 relabels (a keep changes no training data) < threshold 12
    with db.write() as session:
        boss = users.get_user(session, "boss")
        session.add(Decision(project_id=project, item_id=items[11].id, user_id=boss.id, action="drop"))
    assert [job.payload for job in _work(db)] == [{"trigger": "threshold"}]


def test_a_crash_before_commit_leaves_no_round(db: Database, project: int, monkeypatch) -> None:
    def crash(session, *args, **kwargs):
        rounds_written = real_write(session, *args, **kwargs)  # rows are inserted, then the worker dies
        raise RuntimeError(f"killed after writing round {rounds_written.number}")

    real_write = rounds.write_round
    monkeypatch.setattr(rounds, "write_round", crash)
    with db.write() as session:
        job_id = rounds.request_round(session, project).id
    _work(db)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 0
        assert session.scalar(select(func.count()).select_from(Candidate)) == 0
        job = session.get(Job, job_id)
        assert job.status == "failed" and job.attempts == job.max_attempts and "killed after" in job.error
    assert tasks.schedule_rounds(db) == []  # a failed round is not retried forever without news

    monkeypatch.setattr(rounds, "write_round", real_write)
    with db.write() as session:
        rounds.request_round(session, project)
    _work(db)
    with db.read() as session:
        assert session.scalars(select(Round.number)).all() == [1]


def test_an_invalid_sampler_setting_fails_the_round_with_its_name(db: Database, project: int) -> None:
    with db.write() as session:
        topics = projects.get_project(session, "topics")
        topics.settings = {**topics.settings, "sampler": "nope"}
        job_id = rounds.request_round(session, project).id
    _work(db)
    with db.read() as session:
        error = session.get(Job, job_id).error
    assert "setting 'sampler'" in error and "hybrid" in error


@pytest.mark.parametrize("share", [0.7, "lots"])
def test_an_invalid_control_share_fails_the_round_with_its_name(db: Database, project: int, share) -> None:
    with db.write() as session:
        topics = projects.get_project(session, "topics")
        topics.settings = {**topics.settings, "control_share": share}
        job_id = rounds.request_round(session, project).id
    _work(db)
    with db.read() as session:
        error = session.get(Job, job_id).error
    assert "setting 'control_share'" in error and "from 0" in error


def test_round_and_rounds_commands(db: Database, project: int, monkeypatch) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.cli.app import database

    monkeypatch.setenv("WORKBENCH_DB_URL", db.url)
    database.cache_clear()
    runner = CliRunner()
    queued = runner.invoke(app, ["round", "--project", "topics"])
    assert queued.exit_code == 0 and "queued as job" in queued.output
    ran = runner.invoke(app, ["round", "--project", "topics", "--now"])
    assert ran.exit_code == 0, ran.output
    assert "round 1: 0 labels, 10 candidates queued by hybrid" in ran.output
    listing = runner.invoke(app, ["rounds", "--project", "topics"]).output.splitlines()
    assert listing[1].split() == ["1", "lead", "0", "-", "-", "hybrid"]
    missing = runner.invoke(app, ["round", "--project", "nope"])
    assert missing.exit_code == 1 and "no project named 'nope'" in missing.output
    database.cache_clear()
