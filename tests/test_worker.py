"""The job queue and the worker process: each job runs once, failures retry, dead workers' jobs come back."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from workbench import worker as worker_module
from workbench.store import jobs, migrate
from workbench.store.engine import Database
from workbench.store.schema import Job, utcnow


@pytest.fixture
def counting_handler(monkeypatch):
    calls: list[int] = []

    def count(db, job, progress):
        progress(0.5)
        calls.append(job.id)
        if job.payload.get("fail"):
            raise RuntimeError("boom")
        return {"seen": job.payload.get("n")}

    monkeypatch.setitem(worker_module.HANDLERS, "count", count)
    return calls


def test_enqueue_twice_runs_once(db: Database, counting_handler) -> None:
    with db.write() as session:
        first = jobs.enqueue(session, "count", payload={"n": 1}).id
        second = jobs.enqueue(session, "count", payload={"n": 1}).id
    assert first == second
    done = worker_module.run_until_empty(db, kinds=["count"])
    assert [job.id for job in done] == [first] and counting_handler == [first]
    with db.read() as session:
        job = session.get(Job, first)
        assert (job.status, job.result, job.progress) == ("done", {"seen": 1}, 1.0)


def test_failing_job_is_retried_then_failed(db: Database, counting_handler) -> None:
    with db.write() as session:
        job_id = jobs.enqueue(session, "count", payload={"fail": True}, max_attempts=2).id
    worker_module.run_until_empty(db, kinds=["count"])
    assert counting_handler == [job_id, job_id]
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job.status == "failed" and job.attempts == 2 and "RuntimeError: boom" in job.error


def test_stale_running_job_is_requeued(db: Database) -> None:
    with db.write() as session:
        job_id = jobs.enqueue(session, "count").id
        claimed = jobs.claim_next(session, "dead-worker", ["count"])
        assert claimed.id == job_id
    with db.write() as session:
        session.execute(update(Job).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    with db.write() as session:
        assert jobs.requeue_stale(session, timedelta(seconds=60)) == [job_id]
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job.status == "queued" and "heartbeats" in job.error


def _claim_all(url: str, name: str, out) -> None:
    db = Database(url)
    mine = []
    while True:
        with db.write() as session:
            job = jobs.claim_next(session, name, ["count"])
        if job is None:
            break
        mine.append(job.id)
    out.put(mine)
    db.dispose()


def test_concurrent_workers_never_claim_the_same_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.sqlite'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        session.add_all(Job(kind="count", payload={"n": i}) for i in range(300))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(url, f"w{i}", out)) for i in range(4)]
    for proc in procs:
        proc.start()
    claimed = [job_id for _ in procs for job_id in out.get(timeout=120)]
    for proc in procs:
        proc.join(30)
    assert len(claimed) == 300 and len(set(claimed)) == 300


def _sleepy_worker(url: str) -> None:
    def sleepy(db, job, progress):
        time.sleep(60)
        return {}

    worker_module.HANDLERS["sleepy"] = sleepy
    worker_module.Worker(Database(url), kinds=["sleepy"]).run_forever(poll_seconds=0.1)


def test_sigterm_puts_the_running_job_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.sqlite'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        job_id = jobs.enqueue(session, "sleepy").id
    proc = mp.get_context("spawn").Process(target=_sleepy_worker, args=(url,))
    proc.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.read() as session:
            if session.scalar(select(Job.status).where(Job.id == job_id)) == "running":
                break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    proc.join(30)
    assert proc.exitcode == 0
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job.status == "queued" and job.attempts == 0 and job.worker is None
