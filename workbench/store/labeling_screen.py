"""Everything the labeling page shows for an annotator, read with the claim in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store.labeling import (
    DEFAULT_LEASE,
    Claim,
    candidate_for,
    claim_next,
    current_sample,
    project_or_fail,
)
from workbench.store.labeling_history import Progress, RecentLabel, progress, recent_labels
from workbench.store.schema import Item, ItemRevision, Prediction, Project

FALLBACK_NO_ROUND = "No round yet: items in import order until the first round picks the most useful ones."
FALLBACK_ROUND_DONE = "This round's candidates are all taken: items in import order until the next round."


@dataclass(frozen=True)
class Suggestion:
    label: str
    probability: float


@dataclass(frozen=True)
class LabelScreen:
    """The annotator's screen: the current item (None when the queue is empty) and their figures.

    Attributes
    ----------
    project : Project
        As read in the same transaction (its label schema gives the buttons).
    sample : dict
        The item's sample as last corrected (``revision`` says by which revision), else as imported.
    why : str
        Why this item was chosen: the sampler and its reason, or why it came from the fallback order.
    suggestion : Suggestion or None
        The latest round's predicted label, when the project shows suggestions.
    """

    project: Project
    claim: Claim | None
    item: Item | None
    sample: dict[str, Any] | None
    revision: ItemRevision | None
    why: str
    suggestion: Suggestion | None
    progress: Progress
    recent: list[RecentLabel]


def _why(session: Session, claim: Claim, has_round: bool) -> str:
    candidate = candidate_for(session, claim.round_id, claim.item_id)
    if candidate is None:
        return FALLBACK_ROUND_DONE if has_round else FALLBACK_NO_ROUND
    reason = candidate.reason or f"score {candidate.score:.3f}"
    return f"Chosen by {candidate.sampler}: {reason} (rank {candidate.rank + 1})"


def _suggestion(session: Session, project: Project, round_id: int | None, item_id: int) -> Suggestion | None:
    if round_id is None or not (project.settings or {}).get("show_suggestions", True):
        return None
    prediction = session.scalar(
        select(Prediction).where(Prediction.round_id == round_id, Prediction.item_id == item_id)
    )
    return None if prediction is None else Suggestion(prediction.predicted_label, prediction.confidence)


def label_screen(
    session: Session, project_id: int, user_id: int, *, lease: timedelta = DEFAULT_LEASE, n_recent: int = 10
) -> LabelScreen:
    """Claim (or resume) the user's item and read what the page shows with it (a write transaction).

    Raises
    ------
    LabelingError
        If there is no project ``project_id``.
    """
    project = project_or_fail(session, project_id)
    claim = claim_next(session, project.id, user_id, lease=lease)
    figures = progress(session, project.id, user_id, working_round_id=claim.round_id if claim else None)
    recent = recent_labels(session, project.id, user_id, limit=n_recent)
    if claim is None:
        return LabelScreen(project, None, None, None, None, "", None, figures, recent)
    item = session.get(Item, claim.item_id)
    sample, revision = current_sample(session, item)
    return LabelScreen(
        project,
        claim,
        item,
        sample,
        revision,
        _why(session, claim, figures.round_id is not None),
        _suggestion(session, project, figures.round_id, item.id),
        figures,
        recent,
    )
