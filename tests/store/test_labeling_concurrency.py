"""Eight annotator processes claim and label against one SQLite file at once."""

from __future__ import annotations

import multiprocessing

import pytest
from labeling_setup import add_annotators, set_overlap
from sqlalchemy import func, select

from tests.fakes import add_project
from workbench.store.engine import Database
from workbench.store.labeling import claim_next, save_label
from workbench.store.schema import Annotation, Assignment

N_PROCESSES = 8
CLAIMS_PER_PROCESS = 250


def _annotate(url: str, project_id: int, user_id: int) -> tuple[int, str | None]:
    """Claim and label until the queue is empty; returns (labels saved, first error or None)."""
    db = Database(url)
    saved = 0
    try:
        while True:
            with db.write() as session:
                claim = claim_next(session, project_id, user_id)
            if claim is None:
                break
            with db.write() as session:
                save_label(session, project_id, user_id, claim.item_id, "a" if claim.item_id % 2 else "b")
            saved += 1
    except Exception as error:  # noqa: BLE001 - the parent asserts there were none
        return saved, f"{type(error).__name__}: {error}"
    finally:
        db.dispose()
    return saved, None


# Overlap 2 on a smaller project: the same code path, and the suite stays short.
@pytest.mark.parametrize(("overlap", "claims_per_process"), [(1, CLAIMS_PER_PROCESS), (2, 50)])
def test_eight_processes_claim_every_item_the_wanted_number_of_times(sqlite_db, overlap, claims_per_process):
    """8 processes share 8 x ``claims_per_process`` claims-and-labels until the queue is empty."""
    n_items = N_PROCESSES * claims_per_process // overlap
    project_id = add_project(sqlite_db, "p", [f"item {i}" for i in range(n_items)], model="m")
    set_overlap(sqlite_db, project_id, overlap)
    people = add_annotators(sqlite_db, *(f"u{i}" for i in range(N_PROCESSES)))

    # fork: the children start at once with everything imported (spawn costs seconds each here).
    with multiprocessing.get_context("fork").Pool(N_PROCESSES) as pool:
        results = pool.starmap(
            _annotate, [(sqlite_db.url, project_id, user_id) for user_id in people.values()]
        )

    assert [error for _, error in results if error] == []
    with sqlite_db.read() as session:
        per_item = dict(
            session.execute(select(Assignment.item_id, func.count()).group_by(Assignment.item_id)).all()
        )
        n_annotations = session.scalar(select(func.count()).select_from(Annotation))
    assert sum(saved for saved, _ in results) == n_annotations == N_PROCESSES * claims_per_process
    assert len(per_item) == n_items and set(per_item.values()) == {overlap}
