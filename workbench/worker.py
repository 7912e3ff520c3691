"""The background worker: a separate process that claims jobs from the database and runs them.

Heavy work (embedding, retraining) never runs inside a Streamlit script run: there it would slow
every page through the GIL and be abandoned when the user clicks. Each job kind is a registered
handler ``fn(db, job, report_progress) -> result dict``. A handler that writes derived data does it
in one transaction at the end (or in self-contained chunks), so a killed worker leaves no
half-written state; a heartbeat thread lets other workers retry the job of a dead one.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from workbench.store import jobs
from workbench.store.engine import Database
from workbench.store.schema import Job

log = logging.getLogger("workbench.worker")

ProgressFn = Callable[[float], None]
Handler = Callable[[Database, Job, ProgressFn], dict[str, Any]]
IdleFn = Callable[[Database], list[Job]]
HANDLERS: dict[str, Handler] = {}

HEARTBEAT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        if kind in HANDLERS:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        HANDLERS[kind] = fn
        return fn

    return register


class _Heartbeat(threading.Thread):
    """Sends the job's heartbeat and latest progress every few seconds while it runs."""

    def __init__(self, db: Database, job_id: int, worker: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.db, self.job_id, self.worker = db, job_id, worker
        self.progress: float | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                with self.db.write() as session:
                    jobs.heartbeat(session, self.job_id, self.worker, self.progress)
            except Exception:  # a missed beat is harmless; the next one retries
                log.exception("heartbeat of job %s failed", self.job_id)


class Worker:
    """Claims and runs jobs until stopped.

    Parameters
    ----------
    db : Database
    name : str, optional
        Identifies this process in ``jobs.worker``; defaults to ``host:pid``.
    kinds : list of str, optional
        Only claim these job kinds (default: every registered kind).
    on_idle : callable, optional
        ``on_idle(db) -> list of queued jobs``, called when the queue is empty; it may queue
        work that is due (e.g. a round after enough new labels).
    """

    def __init__(
        self,
        db: Database,
        name: str | None = None,
        kinds: list[str] | None = None,
        on_idle: IdleFn | None = None,
    ) -> None:
        self.db = db
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.kinds = kinds or sorted(HANDLERS)
        self.on_idle = on_idle
        self.stopping = threading.Event()

    def run_one(self) -> Job | None:
        """Claim one job and run it to the end; None when the queue is empty."""
        with self.db.write() as session:
            jobs.requeue_stale(session, STALE_AFTER)
            job = jobs.claim_next(session, self.name, self.kinds)
        if job is None:
            return None
        log.info("job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
        beat = _Heartbeat(self.db, job.id, self.name)
        beat.start()

        def report_progress(fraction: float) -> None:
            beat.progress = max(0.0, min(1.0, fraction))

        try:
            result = HANDLERS[job.kind](self.db, job, report_progress)
        except KeyboardInterrupt:
            beat.stopped.set()
            with self.db.write() as session:
                jobs.release(session, job.id)
            raise
        except Exception as exc:
            beat.stopped.set()
            with self.db.write() as session:
                jobs.fail(session, session.get(Job, job.id), "".join(traceback.format_exception(exc)).strip())
            log.exception("job %s (%s) failed", job.id, job.kind)
            return job
        beat.stopped.set()
        with self.db.write() as session:
            jobs.finish(session, job.id, result)
        log.info("job %s (%s) done: %s", job.id, job.kind, result)
        return job

    def idle(self) -> bool:
        """Run the idle hook; True if it queued work."""
        if self.on_idle is None:
            return False
        try:
            return bool(self.on_idle(self.db))
        except Exception:  # scheduling must never stop the worker; the next idle turn retries
            log.exception("idle hook failed")
            return False

    def run_forever(self, poll_seconds: float = 1.0) -> None:
        """Run jobs until SIGTERM/SIGINT; a job interrupted by a signal goes back to the queue."""

        def interrupt(signum: int, _frame: Any) -> None:
            self.stopping.set()
            raise KeyboardInterrupt(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, interrupt)
        log.info("worker %s waiting for jobs (%s)", self.name, ", ".join(self.kinds))
        try:
            while not self.stopping.is_set():
                if self.run_one() is None and not self.idle():
                    self.stopping.wait(poll_seconds)
        except KeyboardInterrupt:
            log.info("worker %s stopped", self.name)


def run_until_empty(db: Database, kinds: list[str] | None = None, on_idle: IdleFn | None = None) -> list[Job]:
    """Run queued jobs in this process until none is left and the idle hook queues no more
    (tests, ``worker --once``)."""
    worker = Worker(db, kinds=kinds, on_idle=on_idle)
    done = []
    while True:
        job = worker.run_one()
        if job is not None:
            done.append(job)
        elif not worker.idle():
            return done

