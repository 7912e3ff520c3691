"""The job handlers the worker runs, one registered function per job kind."""

from __future__ import annotations

from typing import Any

from workbench.config import Settings
from workbench.embed import embed_project
from workbench.insight.map import MAP_JOB, build_map, schedule_due_maps
from workbench.noise.store import NOISE_JOB, find_noise
from workbench.rounds import ROUND_JOB, run_round, schedule_due_rounds
from workbench.store.engine import Database
from workbench.store.schema import Job
from workbench.worker import ProgressFn, handler


@handler("embed")
def embed(db: Database, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Embed every item of the job's project that has no cached vector yet."""
    stats = embed_project(db, job.project_id, progress=lambda done, total: progress(done / max(total, 1)))
    return {"n_items": stats.n_items, "n_cached": stats.n_cached, "n_computed": stats.n_computed,
            "seconds": round(stats.seconds, 2)}


@handler(ROUND_JOB)
def active_learning_round(db: Database, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Retrain the scorer, rescore the pool and queue the next batch of candidates."""
    outcome = run_round(
        db,
        job.project_id,
        models_dir=Settings.from_env().models_dir,
        trigger=job.payload.get("trigger", "lead"),
        job_id=job.id,
        progress=progress,
    )
    cv = outcome.metrics.get("cv") or {}
    return {"round": outcome.number, "n_labels": outcome.n_labels, "n_candidates": outcome.n_candidates,
            "sampler": outcome.sampler, "cv_accuracy": cv.get("accuracy"), "cv_macro_f1": cv.get("macro_f1")}


@handler(NOISE_JOB)
def noise_scan(db: Database, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Run the noise detectors on the project and replace their open flags."""
    return find_noise(db, job.project_id, detectors=job.payload.get("detectors")).to_dict()


@handler(MAP_JOB)
def embedding_map(db: Database, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Cluster and project the project's embeddings for the Data map; the previous map stays until
    the new one is complete."""
    info = build_map(db, job.project_id, models_dir=Settings.from_env().models_dir, progress=progress)
    return {"n_items": info.n_items, "n_clusters": info.n_clusters, "projection": info.projection,
            "round": info.round, "seconds": info.seconds}


def schedule_rounds(db: Database) -> list[Job]:
    """Queue the rounds that are due (the first part of the worker's idle hook, ``schedule_due_work``)."""
    with db.write() as session:
        return schedule_due_rounds(session)


def schedule_due_work(db: Database) -> list[Job]:
    """The worker's idle hook: queue the rounds that are due, else the embedding maps that are
    out of date (a map follows every round)."""
    queued = schedule_rounds(db)
    if queued:
        return queued
    with db.write() as session:
        return schedule_due_maps(session)
