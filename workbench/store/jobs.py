"""The job queue in the database: the UI and CLI enqueue, worker processes claim.

A claim is one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`` so two workers never take
the same job (on PostgreSQL the inner SELECT also skips rows locked by another claimer). A running
job whose worker stopped sending heartbeats is put back in the queue, or failed after its last
attempt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workbench.store.schema import Job, utcnow

ACTIVE = ("queued", "running")


def enqueue(
    session: Session,
    kind: str,
    *,
    project_id: int | None = None,
    payload: dict[str, Any] | None = None,
    created_by: int | None = None,
    max_attempts: int = 3,
) -> Job:
    """Queue a job, or return the same kind's queued or running job for the project.

    Asking twice for the same work (two clicks, two CLI calls) therefore runs it once.
    """
    existing = session.scalar(
        select(Job)
        .where(Job.kind == kind, Job.project_id == project_id, Job.status.in_(ACTIVE))
        .order_by(Job.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    job = Job(
        kind=kind,
        project_id=project_id,
        payload=payload or {},
        created_by=created_by,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


def claim_next(session: Session, worker: str, kinds: list[str] | None = None) -> Job | None:
    """Atomically mark the oldest queued job (of ``kinds``, if given) as running by ``worker``."""
    oldest = select(Job.id).where(Job.status == "queued")
    if kinds is not None:
        oldest = oldest.where(Job.kind.in_(kinds))
    oldest = oldest.order_by(Job.created_at, Job.id).limit(1).with_for_update(skip_locked=True)
    now = utcnow()
    job_id = session.execute(
        update(Job)
        .where(Job.id == oldest.scalar_subquery(), Job.status == "queued")
        .values(status="running", worker=worker, claimed_at=now, heartbeat_at=now,
                attempts=Job.attempts + 1, progress=0.0, error=None)
        .returning(Job.id)
    ).scalar()
    return None if job_id is None else session.get(Job, job_id, populate_existing=True)


def heartbeat(session: Session, job_id: int, worker: str, progress: float | None = None) -> bool:
    """Record that ``worker`` still runs the job; False if the job was taken from it."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running").values(**values)
    )
    return result.rowcount == 1


def finish(session: Session, job_id: int, result: dict[str, Any]) -> None:
    session.execute(
        update(Job).where(Job.id == job_id)
        .values(status="done", result=result, progress=1.0, finished_at=utcnow())
    )


def fail(session: Session, job: Job, error: str) -> None:
    """Record a failed attempt: back to the queue while attempts remain, else failed for good."""
    retry = job.attempts < job.max_attempts
    job.status = "queued" if retry else "failed"
    job.error = error
    job.worker = None
    job.finished_at = None if retry else utcnow()


def release(session: Session, job_id: int) -> None:
    """Give a job back untouched (the worker is shutting down); the attempt does not count."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running")
        .values(status="queued", worker=None, attempts=Job.attempts - 1)
    )


def requeue_stale(session: Session, timeout: timedelta) -> list[int]:
    """Jobs whose worker sent no heartbeat for ``timeout``: retried, or failed after the last attempt.

    Returns the ids of the jobs that were changed.
    """
    cutoff = utcnow() - timeout
    stale = session.scalars(
        select(Job).where(Job.status == "running", Job.heartbeat_at < cutoff).with_for_update(skip_locked=True)
    ).all()
    for job in stale:
        fail(session, job, f"worker {job.worker} stopped sending heartbeats (killed or hung)")
    return [job.id for job in stale]


def latest_jobs(session: Session, project_id: int | None = None, limit: int = 20) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    return list(session.scalars(query))
