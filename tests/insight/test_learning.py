"""The Learning page's numbers, from rounds run by the real round code on a fake-embedded project."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict

import numpy as np
import pytest
from sqlalchemy import select, update

from e2e.learning_seed import MODEL, add_topics_project
from fakes import FakeEmbedder

from workbench import rounds
from workbench.insight import learning
from workbench.insight.learning import KappaPair, learning_report, stop_set, stopping_verdict
from workbench.samplers import CONTROL_SAMPLER
from workbench.samplers.control import CONTROL_REASON
from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Candidate, Decision, Item, Prediction, Round


@pytest.fixture
def project(db: Database, tmp_path):
    """150 embedded items of 3 topics; batches of 20 of which half are random control picks."""
    project_id = add_topics_project(db, settings={"batch_size": 20, "control_share": 0.5})
    with db.write() as session:
        users.add_user(session, "ann", "password-123", "annotator")
        users.add_user(session, "boss", "password-123", "lead")
    run = functools.partial(
        rounds.run_round, db, project_id, models_dir=tmp_path / "models", embedder=FakeEmbedder(MODEL)
    )
    return run, project_id


def _candidates(db: Database, number: int) -> list[Candidate]:
    with db.read() as session:
        round_id = session.scalar(select(Round.id).where(Round.number == number))
        return list(session.scalars(select(Candidate).where(Candidate.round_id == round_id).order_by(Candidate.rank)))


def _label(db: Database, item_ids: list[int], *, swap: dict[str, str] | None = None) -> None:
    """The annotator labels the items with their topic (``swap`` maps some topics to wrong ones)."""
    with db.write() as session:
        ann = users.get_user(session, "ann")
        for item_id in item_ids:
            topic = session.get(Item, item_id).meta["topic"]
            session.add(Annotation(project_id=session.get(Item, item_id).project_id, item_id=item_id,
                                   user_id=ann.id, label=(swap or {}).get(topic, topic)))


def _label_round(db: Database, number: int) -> None:
    _label(db, [c.item_id for c in _candidates(db, number)])


def _report(db: Database, project_id: int) -> learning.LearningReport:
    with db.read() as session:
        return learning_report(session, project_id)


def _predicted(db: Database, number: int) -> dict[int, str]:
    with db.read() as session:
        round_id = session.scalar(select(Round.id).where(Round.number == number))
        return dict(session.execute(select(Prediction.item_id, Prediction.predicted_label)
                                    .where(Prediction.round_id == round_id)).all())


def test_curve_spread_control_slice_and_mind_changes(db: Database, project, monkeypatch) -> None:
    # 20 control labels are far too few for a trustworthy estimate, but they exercise the reading.
    monkeypatch.setattr(learning, "MIN_ESTIMATE_LABELS", 20)
    run, project_id = project
    run()  # the cold start: diversity only, no scorer
    empty = _report(db, project_id)
    assert [p.number for p in empty.rounds] == [1] and empty.rounds[0].accuracy is None
    assert empty.verdict.status == "too early" and empty.stability == []

    # Labels with two topics swapped, so the next rounds' models disagree and minds change.
    _label(db, [c.item_id for c in _candidates(db, 1)], swap={"card": "weather", "weather": "card"})
    run()
    with db.read() as session:
        unlabeled_before_2 = set(session.scalars(select(Item.id))) - set(session.scalars(select(Annotation.item_id)))
    control_2 = [c for c in _candidates(db, 2) if c.sampler == CONTROL_SAMPLER]
    assert len(control_2) == 10 and {c.reason for c in control_2} == {CONTROL_REASON}
    assert {c.item_id for c in control_2} <= unlabeled_before_2
    _label_round(db, 2)
    with db.write() as session:  # the lead corrects the swapped labels
        boss = users.get_user(session, "boss")
        for c in _candidates(db, 1):
            topic = session.get(Item, c.item_id).meta["topic"]
            session.add(Decision(project_id=project_id, item_id=c.item_id, user_id=boss.id, action="relabel",
                                 label=topic))
    run()
    not_yet = _report(db, project_id)  # round 3 measured the curve on round 2's 10 control items
    assert not_yet.random_curve_round == 3 and not_yet.random_curve.params is None
    assert not_yet.random_curve.message == "not enough control labels yet (10 of 20 needed)"
    assert not_yet.random_estimate_message == not_yet.random_curve.message
    assert all(p.random_estimate is None for p in not_yet.rounds)
    _label_round(db, 3)
    run()

    report = _report(db, project_id)
    assert [p.number for p in report.rounds] == [1, 2, 3, 4]
    for point in report.rounds[1:]:
        for figure, spread in ((point.accuracy, point.accuracy_spread), (point.macro_f1, point.macro_f1_spread)):
            assert spread is not None and 0.0 <= spread.low <= spread.mean <= spread.high <= 1.0
            assert figure is not None
    assert sum(report.rounds[1].label_counts.values()) == 20 and set(report.rounds[1].label_counts) <= {"card", "weather", "code"}
    assert report.rounds[3].n_labels == 60

    # Mind changes of round 2's picks, by hand from the stored predictions.
    before, after = _predicted(db, 2), _predicted(db, 3)
    expected: dict[str, Counter] = defaultdict(Counter)
    for c in _candidates(db, 2):
        with db.read() as session:
            topic = session.get(Item, c.item_id).meta["topic"]
        expected[c.sampler].update(picked=1, changed=after[c.item_id] != before[c.item_id],
                                   disagreed=topic != before[c.item_id])
    got = {b.sampler: b for b in report.batches if b.round_number == 2}
    assert set(got) == set(expected)
    for sampler, counts in expected.items():
        batch = got[sampler]
        assert (batch.picked, batch.labeled, batch.labeled_before_next, batch.compared) == (counts["picked"],) * 4
        assert (batch.changed, batch.disagreed) == (counts["changed"], counts["disagreed"])
    # The swapped labels made round 2 wrong about many card/weather items, and round 3 right.
    assert sum(b.changed for b in got.values()) > 0
    last = {b.sampler: b for b in report.batches if b.round_number == 4}
    assert all(b.labeled == 0 and b.compared == 0 for b in last.values())
    # Rounds 3 and 4 measured the batch before them while training; rounds stored before that
    # are measured by the report from the stored predictions, with the same counts.
    assert [p.mind_changes["round"] if p.mind_changes else None for p in report.rounds] == [None, None, 2, 3]
    with db.write() as session:
        for round_ in session.scalars(select(Round)):
            round_.metrics = {k: v for k, v in round_.metrics.items() if k != "mind_changes"}
    assert _report(db, project_id).batches == report.batches

    # Held-out control accuracy of round 2: the control items of rounds 2 and 3 (all labeled).
    control = [c.item_id for n in (2, 3) for c in _candidates(db, n) if c.sampler == CONTROL_SAMPLER]
    with db.read() as session:
        truth = {i: session.get(Item, i).meta["topic"] for i in control}
    held = report.rounds[1].held_out
    assert held.n == 20 and held.correct == sum(before[i] == truth[i] for i in control)
    assert held.low <= held.accuracy <= held.high
    assert report.rounds[2].held_out.n == 10 and report.rounds[3].held_out is None

    curve = report.random_curve
    assert report.random_curve_round == 4
    assert curve.n_labels == 20 and curve.message == "" and curve.params is not None
    # Read up to 6x the largest measured size (16 of 20 control items): 96 labels.
    assert report.random_estimate_message == ""
    assert [p.random_estimate is not None for p in report.rounds] == [False, True, True, True]
    assert all(p.random_extrapolated for p in report.rounds[1:])
    monkeypatch.setattr(learning, "MIN_ESTIMATE_LABELS", 150)
    cautious = _report(db, project_id)
    assert cautious.random_estimate_message == "not enough control labels yet (20 of 150 needed)"
    assert all(p.random_estimate is None for p in cautious.rounds)


def test_old_rounds_without_fold_figures_stay_readable(db: Database, project) -> None:
    run, project_id = project
    run()
    _label_round(db, 1)
    run()
    with db.write() as session:
        metrics = session.scalar(select(Round.metrics).where(Round.number == 2))
        session.execute(update(Round).where(Round.number == 2).values(
            metrics={k: v for k, v in metrics.items() if k != "cv_folds"}))
    point = _report(db, project_id).rounds[1]
    assert point.accuracy is not None and point.accuracy_spread is None and point.macro_f1_spread is None


def test_the_verdict_turns_to_stop_when_predictions_stop_changing(db: Database, project) -> None:
    run, project_id = project
    run()
    _label(db, [c.item_id for c in _candidates(db, 1)], swap={"card": "weather", "weather": "card"})
    run()  # round 2 learned the swapped topics
    with db.write() as session:
        boss = users.get_user(session, "boss")
        for c in _candidates(db, 1):
            session.add(Decision(project_id=project_id, item_id=c.item_id, user_id=boss.id, action="relabel",
                                 label=session.get(Item, c.item_id).meta["topic"]))
    run()  # round 3 unlearned them: many predictions change
    assert _report(db, project_id).verdict.status == "too early"
    run()
    run()  # pairs 2-3 (changed), 3-4, 4-5 (same labels, same predictions)
    report = _report(db, project_id)
    assert report.stability[0].kappa < 0.99 and report.stability[0].changed > 0
    assert [p.kappa for p in report.stability[1:]] == [1.0, 1.0]
    assert report.verdict.status == "continue" and "still changes its mind" in report.verdict.reason
    run()
    report = _report(db, project_id)
    assert report.verdict.status == "stop", report.verdict.reason
    assert "Consider stopping" in report.verdict.reason and "rounds 3-6" in report.verdict.reason

    # Each round measured its kappa with the previous one; rounds stored before that are measured
    # by the report from the stop set's predictions, with the same result.
    assert all(p.stability is not None for p in report.rounds[2:])
    with db.write() as session:
        for round_ in session.scalars(select(Round)):
            round_.metrics = {k: v for k, v in round_.metrics.items() if k != "stability"}
    live = _report(db, project_id)
    assert all(p.stability is None for p in live.rounds)
    assert live.stability == report.stability and live.verdict == report.verdict


def test_stop_set_is_fixed_and_stable():
    ids = np.arange(1, 10_001)
    chosen = stop_set(ids, 500)
    assert len(chosen) == 500 and len(np.unique(chosen)) == 500
    np.testing.assert_array_equal(chosen, stop_set(ids[::-1], 500))
    # Labeling (removing) items outside the set leaves it as it was.
    outside = np.setdiff1d(ids, chosen)[:3000]
    np.testing.assert_array_equal(stop_set(np.setdiff1d(ids, outside), 500), chosen)
    # Spread over the ids, not the lowest ones.
    assert chosen.max() > 9000 and chosen.min() < 1000


def _pairs(*kappas: float) -> list[KappaPair]:
    return [KappaPair(i + 1, i + 2, k, 2000, 0 if k == 1.0 else 40) for i, k in enumerate(kappas)]


def test_verdicts():
    assert stopping_verdict(_pairs(0.999, 1.0), None).status == "too early"
    assert stopping_verdict(_pairs(0.9, 0.995, 0.999), 0.001).status == "continue"
    stop = stopping_verdict(_pairs(0.9, 0.995, 0.999, 1.0), 0.001)
    assert stop.status == "stop" and "+0.1 accuracy points per 100 labels" in stop.reason
    rising = stopping_verdict(_pairs(0.995, 0.999, 1.0), 0.03)
    assert rising.status == "continue" and "still rises" in rising.reason


def test_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    first = rng.choice(["a", "b", "c", "d"], 500)
    second = np.where(rng.random(500) < 0.7, first, rng.choice(["a", "b", "c", "e"], 500))
    assert learning.cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))
    assert learning.cohen_kappa(first, first) == pytest.approx(1.0)
    assert learning.cohen_kappa(np.array(["a"] * 5), np.array(["a"] * 5)) == 1.0
