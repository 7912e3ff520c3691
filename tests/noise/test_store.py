"""Noise flags of a project: a run writes open flags, replaces its own open ones, keeps the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fakes import FakeEmbedder
from workbench.embed import embed_project
from workbench.noise.store import (
    ANNOTATOR_FLAG,
    NOISE_JOB,
    find_noise,
    open_flag_counts,
    open_flags,
    replace_open_flags,
    request_noise_scan,
)
from workbench.store import projects
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Item, NoiseFlag
from workbench.store.users import add_user
from workbench.text import content_hash, normalize_text

MODEL = "fake-trigram-32"
CARD = ["my card is lost", "card never arrived", "new card please", "card was stolen", "block my card"]
TRANSFER = ["send money abroad", "transfer is pending", "transfer failed", "wire money home", "transfer fee"]


def _project(db: Database) -> tuple[int, dict[str, int]]:
    """A project of labeled Alpaca items: two topics, one empty output, one mislabeled item.

    Returns the project id and the item id of each sample's name.
    """
    samples = {}
    for i in range(40):
        samples[f"c{i}"] = (f"{CARD[i % 5]}, {CARD[i // 5 % 5]}, {CARD[i // 25 % 5]} {i}", "card")
        samples[f"t{i}"] = (
            f"{TRANSFER[i % 5]}, {TRANSFER[i // 5 % 5]}, {TRANSFER[i // 25 % 5]} {i}",
            "transfer",
        )
    samples["c3"] = (samples["c3"][0], "transfer")  # mislabeled
    ids = {}
    with db.write() as session:
        project = projects.create_project(
            session, "tickets", labels=projects.make_label_schema(["card", "transfer"]), embedding_model=MODEL
        )
        for name, (instruction, label) in samples.items():
            output = "" if name == "t7" else f"Answer about {label}."
            sample = {"instruction": instruction, "output": output}
            text = normalize_text(f"{instruction}\n\n{output}")
            item = Item(project_id=project.id, shape="alpaca", sample=sample, text=text,
                        content_hash=content_hash(text), imported_label=label)  # fmt: skip
            session.add(item)
            session.flush()
            ids[name] = item.id
        project_id = project.id
    embed_project(db, project_id, embedder=FakeEmbedder(MODEL))
    return project_id, ids


def _flags(db: Database, project_id: int) -> list[tuple[int, str, str]]:
    with db.read() as session:
        return [(f.item_id, f.detector, f.status) for f in open_flags(session, project_id)]


def test_a_run_flags_the_planted_problems_with_readable_evidence(db):
    project_id, ids = _project(db)
    run = find_noise(db, project_id)
    assert run.n_items == 80 and "label_issue" in run.detectors and run.skipped == {}
    with db.read() as session:
        flags = open_flags(session, project_id)
        by_detector = {}
        for flag in flags:
            by_detector.setdefault(flag.detector, []).append(flag)
        assert [f.item_id for f in by_detector["short_output"]] == [ids["t7"]]
        issue = next(f for f in by_detector["label_issue"] if f.item_id == ids["c3"])
        assert issue.evidence["given_label"] == "transfer" and issue.evidence["suggested_label"] == "card"
        assert all(f.status == "open" and 0 <= f.severity <= 1 for f in flags)
        assert [f.severity for f in flags] == sorted((f.severity for f in flags), reverse=True)
        assert open_flag_counts(session, project_id)["short_output"] == 1


def test_a_rerun_replaces_open_flags_and_keeps_resolved_and_annotator_flags(db):
    project_id, ids = _project(db)
    find_noise(db, project_id)
    with db.write() as session:
        user = add_user(session, "ann", "a-long-password", "annotator")
        session.add(NoiseFlag(project_id=project_id, item_id=ids["t1"], detector=ANNOTATOR_FLAG,
                              severity=0.5, evidence={"reason": "odd"}, user_id=user.id))  # fmt: skip
        short = session.scalar(select(NoiseFlag).where(NoiseFlag.detector == "short_output"))
        short.status = "resolved"  # the lead kept it
    before = _flags(db, project_id)
    find_noise(db, project_id)
    after = _flags(db, project_id)
    assert sorted(after) == sorted(f for f in before)  # same findings, not doubled
    assert (ids["t1"], ANNOTATOR_FLAG, "open") in after
    assert all(detector != "short_output" for _, detector, _ in after)  # resolved stays resolved
    with db.read() as session:
        assert (
            session.scalar(select(NoiseFlag.status).where(NoiseFlag.detector == "short_output")) == "resolved"
        )


def test_only_the_detectors_that_ran_are_replaced(db):
    project_id, ids = _project(db)
    find_noise(db, project_id)
    before = _flags(db, project_id)
    with db.write() as session:
        session.get(Item, ids["t7"]).sample = {"instruction": "x", "output": "now answered properly"}
    run = find_noise(db, project_id, detectors=["short_output"])
    assert run.detectors == ["short_output"] and run.n_flags == {"short_output": 0}
    assert _flags(db, project_id) == [f for f in before if f[1] != "short_output"]


def test_annotator_disagreement_comes_from_overlapping_annotations(db):
    project_id, ids = _project(db)
    with db.write() as session:
        users = [add_user(session, f"u{i}", "a-long-password", "annotator") for i in range(2)]
        for user, label in zip(users, ["card", "transfer"]):
            session.add(Annotation(project_id=project_id, item_id=ids["c1"], user_id=user.id, label=label))
    find_noise(db, project_id, detectors=["disagreement"])
    with db.read() as session:
        [flag] = open_flags(session, project_id, detector="disagreement")
    assert flag.item_id == ids["c1"]
    assert flag.evidence["votes"] == {"card": 1, "transfer": 1} and flag.evidence["needs_adjudication"]


def test_embedding_detectors_wait_for_the_embedding(db):
    with db.write() as session:
        project = projects.create_project(session, "raw", labels=projects.make_label_schema(["a", "b"]),
                                          embedding_model=MODEL)  # fmt: skip
        text = normalize_text("hello")
        session.add(Item(project_id=project.id, shape="text", sample={"text": "hello"}, text=text,
                         content_hash=content_hash(text), imported_label="a"))  # fmt: skip
        project_id = project.id
    run = find_noise(db, project_id)
    assert run.skipped["label_issue"] == "not every item is embedded yet"
    assert "label_issue" not in run.detectors


def test_a_run_never_replaces_annotator_flags(db):
    with db.write() as session, pytest.raises(ValueError, match="annotator_flag"):
        replace_open_flags(session, 1, [], [], [ANNOTATOR_FLAG])


def test_a_scan_is_queued_once_for_the_worker(db):
    project_id, _ = _project(db)
    with db.write() as session:
        first = request_noise_scan(session, project_id, detectors=["label_issue"])
        second = request_noise_scan(session, project_id)
        assert first.id == second.id and first.kind == NOISE_JOB
        assert first.payload == {"detectors": ["label_issue"]}


def test_the_worker_runs_a_queued_scan(db):
    from workbench import tasks  # noqa: F401  (registers the handlers)
    from workbench.worker import Worker

    project_id, ids = _project(db)
    with db.write() as session:
        request_noise_scan(session, project_id, detectors=["short_output"])
    job = Worker(db, name="test", kinds=[NOISE_JOB]).run_one()
    assert job is not None and job.kind == NOISE_JOB
    assert _flags(db, project_id) == [(ids["t7"], "short_output", "open")]
