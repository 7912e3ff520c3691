"""The job handlers the worker runs, one registered function per job kind."""

from __future__ import annotations

from typing import Any

from workbench.embed import embed_project
from workbench.store.engine import Database
from workbench.store.schema import Job
from workbench.worker import ProgressFn, handler


@handler("embed")
def embed(db: Database, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Embed every item of the job's project that has no cached vector yet."""
    stats = embed_project(db, job.project_id, progress=lambda done, total: progress(done / max(total, 1)))
    return {"n_items": stats.n_items, "n_cached": stats.n_cached, "n_computed": stats.n_computed,
            "seconds": round(stats.seconds, 2)}
