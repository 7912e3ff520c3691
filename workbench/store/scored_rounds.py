"""Which round's predictions to read: the latest round that trained a scorer.

The cold-start round (and a round without two labeled classes) selects a batch but trains no
scorer, so it has no predictions; readers of predictions skip it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store.schema import Round


def latest_scored_round(session: Session, project_id: int) -> tuple[int, int] | None:
    """``(round id, round number)`` of the project's latest round with a scorer, None before any."""
    rounds = session.execute(
        select(Round.id, Round.number, Round.classes).where(Round.project_id == project_id)
        .order_by(Round.number.desc())
    )
    return next(((round_id, number) for round_id, number, classes in rounds if classes), None)
