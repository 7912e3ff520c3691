"""Set-up for the labeling tests: a project with items, annotators, and a round with candidates."""

from __future__ import annotations

from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import Candidate, Prediction, Project, Round, utcnow

# Cheap to hash is not needed: add_user hashes with argon2, so tests make few users.
PASSWORD = "annotator-password"


def add_annotators(db: Database, *names: str) -> dict[str, int]:
    """Create annotators; returns their ids by name."""
    with db.write() as session:
        return {name: users.add_user(session, name, PASSWORD, "annotator").id for name in names}


def add_round(
    db: Database, project_id: int, item_ids: list[int], *, number: int = 1, classes=("a", "b")
) -> int:
    """A completed round whose candidates are ``item_ids`` in rank order, with a prediction each."""
    with db.write() as session:
        round_ = Round(project_id=project_id, number=number, classes=list(classes), created_at=utcnow())
        session.add(round_)
        session.flush()
        for rank, item_id in enumerate(item_ids):
            session.add(
                Candidate(
                    round_id=round_.id,
                    item_id=item_id,
                    sampler="margin",
                    score=0.01 * (rank + 1),
                    rank=rank,
                    reason=f"margin {0.01 * (rank + 1):.2f}",
                )
            )
            session.add(
                Prediction(
                    round_id=round_.id,
                    item_id=item_id,
                    predicted_label=classes[0],
                    confidence=0.7,
                    probabilities=b"",
                )
            )
        return round_.id


def set_overlap(db: Database, project_id: int, overlap: int) -> None:
    with db.write() as session:
        project = session.get(Project, project_id)
        project.settings = {**project.settings, "overlap": overlap}
