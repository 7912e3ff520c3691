"""The Data map page: empty states, the chart and the cluster table after a map, the recompute
button queueing one job, and annotators kept out."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from sqlalchemy import select

from fakes import FakeEmbedder
from insight.map_seed import MODEL, seed_topic_project
from workbench.embed import embed_project
from workbench.insight.map import MAP_JOB, build_map
from workbench.store.engine import Database
from workbench.store.schema import Job

PAGE = "views/data_map.py"


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def _open(signed_in):
    at = signed_in("lead1")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _values(array) -> list:
    """An array of a Plotly figure's JSON: a list, or (numpy data) ``{"dtype", "bdata"}`` base64."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _info(at) -> str:
    return " ".join(element.value for element in at.info)


def test_before_embedding_and_before_the_map_the_page_says_what_is_missing(app_db: Database, signed_in) -> None:
    project_id = seed_topic_project(app_db, embed=False)
    at = _open(signed_in)
    assert "No item of this project is embedded yet" in _info(at)
    embed_project(app_db, project_id, embedder=FakeEmbedder(MODEL))
    at.run()
    assert "The map has not been computed yet (150 of 150 items are embedded)" in _info(at)
    at.button(key="data_map_recompute").click().run()
    at.button(key="data_map_recompute").click().run()  # a second click finds the queued job
    assert not at.exception, at.exception
    with app_db.read() as session:
        queued = session.scalars(select(Job).where(Job.kind == MAP_JOB)).all()
    assert [(job.status, job.project_id) for job in queued] == [("queued", project_id)]
    assert "waiting for the worker" in " ".join(element.proto.text for element in at.get("progress"))


def test_after_a_map_the_chart_and_cluster_table_show_every_item(app_db: Database, signed_in) -> None:
    project_id = seed_topic_project(app_db, label_every=2, flip=2)
    info = build_map(app_db, project_id)
    at = _open(signed_in)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    drawn = [item for trace in figure["data"] for item in _values(trace["customdata"])]
    assert sorted(drawn) == list(range(1, 151)) and figure["data"][0]["type"] == "scattergl"
    assert {trace["name"] for trace in figure["data"]} == {
        "(unlabeled) (75)", "card (23)", "weather (27)", "code (25)"
    }
    assert "Showing all 150 items" in " ".join(element.value for element in at.caption)

    table = at.dataframe[0].value
    assert table["items"].sum() == 150 and len(table) == info.n_clusters
    assert (table["scored"] > 0).all() and table["label errors"].notna().all()  # labeled items in every cluster
    assert table["label errors"].max() > 0  # the two flipped labels
    assert len(at.expander) == info.n_clusters

    at.segmented_control(key="data_map_colour").set_value("cluster").run()
    assert not at.exception, at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(figure["data"]) == info.n_clusters


def test_annotators_do_not_get_the_page(app_db: Database, signed_in) -> None:
    at = signed_in("ann")
    with pytest.raises(Exception):
        at.switch_page(PAGE).run()
