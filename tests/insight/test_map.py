"""The embedding map: the worker's map job after each round, the stored file, the page's points."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from fakes import FakeEmbedder
from map_seed import MODEL, seed_topic_project
from workbench import rounds, tasks
from workbench.embed import embed_project
from workbench.insight import map as embedding_map
from workbench.insight.map import (
    MAP_JOB,
    NOT_FLAGGED,
    NOT_PREDICTED,
    UNLABELED,
    build_map,
    category_colours,
    drawn_positions,
    load_map,
    map_figure,
    map_path,
    map_view,
    request_map,
    stratified_sample,
)
from workbench.store.engine import Database
from workbench.store.schema import Item, Job, NoiseFlag, Prediction, Round, utcnow
from workbench.worker import run_until_empty


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(rounds, "embed_project", functools.partial(embed_project, embedder=FakeEmbedder(MODEL)))
    return tmp_path / "models"


def _active_ids(db: Database, project_id: int) -> list[int]:
    with db.read() as session:
        return list(session.scalars(
            select(Item.id).where(Item.project_id == project_id, Item.status == "active").order_by(Item.id)
        ))


def _add_round(db: Database, project_id: int, predictions: dict[int, tuple[str, float]]) -> int:
    """A finished round predicting ``{item_id: (label, confidence)}``; returns its number."""
    with db.write() as session:
        number = (embedding_map.latest_round_number(session, project_id) or 0) + 1
        round_ = Round(project_id=project_id, number=number, classes=["card", "code", "weather"],
                       finished_at=utcnow())
        session.add(round_)
        session.flush()
        for item_id, (label, confidence) in predictions.items():
            session.add(Prediction(round_id=round_.id, item_id=item_id, predicted_label=label,
                                   confidence=confidence, probabilities=b""))
        return number


def test_a_map_follows_every_round_with_every_active_item(db: Database, models_dir) -> None:
    project_id = seed_topic_project(db, label_every=5)
    with db.write() as session:
        last = session.scalars(select(Item).where(Item.project_id == project_id).order_by(Item.id.desc()).limit(1))
        last.one().status = "dropped"  # an unlabeled one
    done = run_until_empty(db, on_idle=tasks.schedule_due_work)
    assert [job.kind for job in done] == ["round", MAP_JOB]  # the map waits for the round
    stored = load_map(map_path(project_id))
    assert stored.item_ids.tolist() == _active_ids(db, project_id)
    assert stored.xy.shape == (149, 2) and np.isfinite(stored.xy).all()
    assert stored.info.round == 1 and stored.info.model == MODEL and stored.info.n_items == 149
    assert stored.info.n_clusters == len(stored.centers) == len(np.unique(stored.cluster))
    assert stored.info.n_labeled == 30 and stored.info.classes == ["card", "code", "weather"]
    with db.read() as session:
        job = session.get(Job, done[1].id)
        assert (job.status, job.result["n_items"], job.result["round"]) == ("done", 149, 1)

    assert run_until_empty(db, on_idle=tasks.schedule_due_work) == []  # up to date: nothing to do
    _add_round(db, project_id, {})
    assert [job.kind for job in run_until_empty(db, on_idle=tasks.schedule_due_work)] == [MAP_JOB]
    assert load_map(map_path(project_id)).info.round == 2


def test_the_leads_request_is_queued_once(db: Database) -> None:
    project_id = seed_topic_project(db)
    with db.write() as session:
        first, second = request_map(session, project_id), request_map(session, project_id)
        assert first.id == second.id and first.kind == MAP_JOB
    assert [job.kind for job in run_until_empty(db, kinds=[MAP_JOB])] == [MAP_JOB]
    assert load_map(map_path(project_id)).info.round is None  # before any round


def test_a_map_job_killed_while_writing_leaves_the_previous_map(db: Database, models_dir, monkeypatch) -> None:
    project_id = seed_topic_project(db)
    build_map(db, project_id)
    before = load_map(map_path(project_id))

    def killed(out, **arrays):
        out.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the worker dies
        raise RuntimeError("worker killed while writing the map")

    monkeypatch.setattr(embedding_map.np, "savez", killed)
    _add_round(db, project_id, {})
    with db.write() as session:
        job_id = request_map(session, project_id).id
    run_until_empty(db, kinds=[MAP_JOB])
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job.status == "failed" and "killed while writing" in job.error
    after = load_map(map_path(project_id))
    assert after.info == before.info and np.array_equal(after.xy, before.xy)
    assert sorted(path.name for path in map_path(project_id).parent.iterdir()) == ["map.npz"]
    with db.write() as session:  # failed since the latest round: not retried on every idle turn
        assert embedding_map.schedule_due_maps(session) == []

    (map_path(project_id).parent / "map.npz.999.partial").write_bytes(b"PK")  # a kill -9 mid-write
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    build_map(db, project_id)
    assert load_map(map_path(project_id)).info.round == 1
    assert sorted(path.name for path in map_path(project_id).parent.iterdir()) == ["map.npz"]


def test_mapping_a_project_with_no_embeddings_says_so(db: Database) -> None:
    project_id = seed_topic_project(db, embed=False)
    with pytest.raises(ValueError, match="embed the project first"):
        build_map(db, project_id)
    assert not map_path(project_id).exists()


def test_the_view_joins_each_points_label_prediction_flag_and_text(db: Database) -> None:
    project_id = seed_topic_project(db, label_every=2)
    ids = _active_ids(db, project_id)
    labeled, unlabeled = ids[0], ids[1]  # the first two "card" items: i = 0 labeled, i = 1 not
    _add_round(db, project_id, {labeled: ("card", 0.9), unlabeled: ("weather", 0.25)})
    with db.write() as session:
        session.add(NoiseFlag(project_id=project_id, item_id=unlabeled, detector="label_issue"))
        session.add(NoiseFlag(project_id=project_id, item_id=unlabeled, detector="heuristic"))
        session.add(NoiseFlag(project_id=project_id, item_id=labeled, detector="outlier", status="resolved"))
    build_map(db, project_id)
    with db.read() as session:
        view = map_view(session, project_id)
    assert view.n_items == view.n_shown == 150 and view.prediction_round == 1
    points = view.points.set_index("item_id")
    first, second, third = points.loc[labeled], points.loc[unlabeled], points.loc[ids[2]]
    assert (first["label"], first["predicted"], first["noise"]) == ("card", "card", NOT_FLAGGED)
    assert first["uncertainty"] == pytest.approx(0.1)
    assert (second["label"], second["predicted"], second["noise"]) == (UNLABELED, "weather", "heuristic + label_issue")
    assert second["uncertainty"] == pytest.approx(0.75)
    assert third["predicted"] == NOT_PREDICTED and np.isnan(third["uncertainty"])
    assert first["snippet"] == "my card payment was declined at the shop number 0"


def test_a_large_map_is_sampled_by_cluster_and_every_cluster_stays_visible() -> None:
    cluster = np.repeat([0, 1, 2], [50_000, 9_990, 10])
    picked = stratified_sample(cluster, 2_000, np.random.default_rng(0))
    counts = np.bincount(cluster[picked], minlength=3)
    assert len(picked) <= 2_000 and len(np.unique(picked)) == len(picked)
    assert counts[2] == 10  # the small cluster is drawn whole
    assert len(picked) == 2_000 and counts[0] > 2 * counts[1] > 4 * counts[2]  # the rest by size
    assert stratified_sample(cluster[:100], 2_000, np.random.default_rng(0)).tolist() == list(range(100))

    flagged = cluster == 1  # 9,990 flags: a quarter of the budget goes to them, the rest as before
    picked, n_flagged = drawn_positions(cluster, flagged, 2_000, np.random.default_rng(0))
    assert n_flagged == 500 and len(picked) == len(np.unique(picked)) == 2_000
    assert np.bincount(cluster[picked], minlength=3)[2] == 10


def test_the_view_draws_at_most_the_limit_flagged_items_first(db: Database) -> None:
    project_id = seed_topic_project(db)
    build_map(db, project_id)
    flagged = _active_ids(db, project_id)[100:110]
    with db.write() as session:
        session.add_all([NoiseFlag(project_id=project_id, item_id=i, detector="heuristic") for i in flagged])
    with db.read() as session:
        view = map_view(session, project_id, max_points=60)
    assert view.n_items == 150 and view.n_shown == 60 and view.n_flagged == 10
    assert set(flagged) <= set(view.points["item_id"])  # every flag drawn, though 40% of points are
    assert set(view.points["cluster"]) == set(range(load_map(map_path(project_id)).info.n_clusters))


def test_the_figure_names_each_points_item_and_shows_sample_html_as_text(db: Database) -> None:
    project_id = seed_topic_project(db, label_every=2)
    with db.write() as session:
        session.add(Item(project_id=project_id, shape="text", sample={"text": "x"}, content_hash="h",
                         text='<b>bold</b> <a href="javascript:alert(1)">link</a>'))
    embed_project(db, project_id, embedder=FakeEmbedder(MODEL))
    build_map(db, project_id)
    with db.read() as session:
        view = map_view(session, project_id)
    figure = map_figure(view, "label")
    names = [trace.name for trace in figure.data]
    assert names[0] == f"{UNLABELED} (76)" and sorted(names[1:]) == ["card (25)", "code (25)", "weather (25)"]
    drawn = sorted(int(i) for trace in figure.data for i in trace.customdata)
    assert drawn == sorted(view.points["item_id"].tolist())
    hover = " ".join(text for trace in figure.data for text in trace.hovertext)
    assert "&lt;b&gt;bold&lt;/b&gt;" in hover and "<a href" not in hover
    scale = map_figure(view, "uncertainty")
    assert [trace.name for trace in scale.data] == [NOT_PREDICTED]  # no round yet
    with pytest.raises(ValueError, match="choose one of"):
        map_figure(view, "colour")


def test_a_label_keeps_its_colour_whatever_the_counts_and_in_both_label_colourings() -> None:
    few = pd.DataFrame({"label": ["b", "a", "a", UNLABELED], "predicted": ["c", "a", "a", "b"]})
    many = pd.DataFrame({"label": ["b", "b", "b", "a"], "predicted": ["a", "c", "c", "c"]})
    assert category_colours(few, "label") == category_colours(many, "predicted")
    assert UNLABELED not in category_colours(few, "label")
    clusters = category_colours(pd.DataFrame({"cluster": [10, 2, 1]}), "cluster")
    assert list(clusters) == ["1", "2", "10"]
