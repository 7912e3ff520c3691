"""What is exported: the project's labeled items as the review left them, read in bulk.

An item's label is its gold label (lead decision > annotators' agreed label > imported label,
``workbench.store.gold``); dropped items have none. The newest text edit (``item_revisions``)
replaces the imported sample. Optionally, unlabeled items the latest scorer round predicts with a
probability above a threshold come in as pseudo-labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.store.gold import gold_labels
from workbench.store.schema import Item, ItemRevision, Prediction, Round

PSEUDO = "pseudo"


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One item as it will be exported.

    Attributes
    ----------
    id : int
        The item id in the database (the record's ``id``).
    shape : str
        The SFT shape of ``sample`` (alpaca, sharegpt, messages, text).
    sample : dict
        The sample, with the newest text edit applied.
    label : str
    label_source : str
        ``lead``, ``agreed``, ``imported`` or ``pseudo``.
    source : str
        Where the item came from: its ``source`` metadata field, else the imported file's name.
    meta : dict
        The item's other metadata (mixture fields other than ``label`` and ``source`` read it).
    confidence : float or None
        The latest scorer round's probability of ``label``; None without a round or when the
        round's classes do not include the label.
    edited : bool
        True when a text edit replaced the imported sample.
    """

    id: int
    shape: str
    sample: dict[str, Any]
    label: str
    label_source: str
    source: str
    meta: dict[str, Any]
    confidence: float | None
    edited: bool

    def value_of(self, field_name: str) -> str:
        """The item's value of a mixture field: ``label``, ``source`` or a metadata field."""
        if field_name == "label":
            return self.label
        if field_name == "source":
            return self.source
        value = self.meta.get(field_name)
        return "" if value is None else str(value)


@dataclass
class Collection:
    """The exportable items (sorted by id) and what was left out before any mixing.

    ``excluded`` counts items left out by reason (``dropped in review``, ``unlabeled``);
    ``round_number`` is the scorer round whose predictions were used, if any.
    """

    items: list[ExportItem]
    excluded: dict[str, int] = field(default_factory=dict)
    round_number: int | None = None


def latest_round(session: Session, project_id: int) -> Round | None:
    """The project's newest finished scorer round."""
    return session.scalars(
        select(Round)
        .where(Round.project_id == project_id, Round.status == "done")
        .order_by(Round.number.desc())
        .limit(1)
    ).first()


def round_probabilities(session: Session, round_: Round) -> dict[int, tuple[str, float, np.ndarray]]:
    """``{item_id: (predicted_label, confidence, probabilities)}``; probabilities has shape
    (n_classes,) in the order of ``round_.classes``."""
    rows = session.execute(
        select(
            Prediction.item_id, Prediction.predicted_label, Prediction.confidence, Prediction.probabilities
        ).where(Prediction.round_id == round_.id)
    )
    return {
        item_id: (label, float(confidence), np.frombuffer(probabilities, dtype=np.float32))
        for item_id, label, confidence, probabilities in rows
    }


def latest_samples(session: Session, project_id: int) -> dict[int, dict[str, Any]]:
    """The newest edited sample of each edited item of the project."""
    rows = session.execute(
        select(ItemRevision.item_id, ItemRevision.sample)
        .join(Item, Item.id == ItemRevision.item_id)
        .where(Item.project_id == project_id)
        .order_by(ItemRevision.item_id, ItemRevision.revision)
    )
    return {item_id: sample for item_id, sample in rows}  # later revisions overwrite earlier ones


def _source_of(meta: dict[str, Any], source_file: str) -> str:
    value = meta.get("source")
    if value is not None and value != "":
        return str(value)
    return PurePath(source_file).name if source_file else ""


def collect_items(
    session: Session,
    project_id: int,
    *,
    human_labels_only: bool = False,
    pseudo_label_threshold: float | None = None,
) -> Collection:
    """Read every exportable item of a project.

    Parameters
    ----------
    human_labels_only : bool
        Leave out items whose only label is the imported one.
    pseudo_label_threshold : float or None
        When given, unlabeled active items whose latest-round predicted probability exceeds it
        are exported with the predicted label and ``label_source="pseudo"``.
    """
    gold = gold_labels(session, project_id, include_imported=not human_labels_only)
    round_ = latest_round(session, project_id)
    predictions = round_probabilities(session, round_) if round_ is not None else {}
    class_index = {name: i for i, name in enumerate(round_.classes)} if round_ is not None else {}
    edits = latest_samples(session, project_id)
    status_counts = dict(
        session.execute(
            select(Item.status, func.count()).where(Item.project_id == project_id).group_by(Item.status)
        ).all()
    )

    labels: dict[int, tuple[str, str]] = {item_id: (g.label, g.source) for item_id, g in gold.items()}
    n_pseudo = 0
    if pseudo_label_threshold is not None:
        active_ids = session.scalars(
            select(Item.id).where(Item.project_id == project_id, Item.status == "active")
        ).all()
        for item_id in active_ids:
            prediction = predictions.get(item_id)
            if item_id not in labels and prediction is not None and prediction[1] > pseudo_label_threshold:
                labels[item_id] = (prediction[0], PSEUDO)
                n_pseudo += 1

    # Reading every active row and skipping the unlabeled ones beats a long IN list (which
    # PostgreSQL also caps at 65,535 parameters).
    rows = session.execute(
        select(Item.id, Item.shape, Item.sample, Item.meta, Item.source_file)
        .where(Item.project_id == project_id, Item.status == "active")
        .order_by(Item.id)
    )
    items = []
    for item_id, shape, sample, meta, source_file in rows:
        if item_id not in labels:
            continue
        label, label_source = labels[item_id]
        prediction = predictions.get(item_id)
        column = class_index.get(label)
        confidence = float(prediction[2][column]) if prediction is not None and column is not None else None
        meta = meta or {}
        items.append(
            ExportItem(
                id=item_id,
                shape=shape,
                sample=edits.get(item_id, sample),
                label=label,
                label_source=label_source,
                source=_source_of(meta, source_file or ""),
                meta=meta,
                confidence=confidence,
                edited=item_id in edits,
            )
        )
    n_active = status_counts.get("active", 0)
    excluded = {"dropped in review": status_counts.get("dropped", 0), "unlabeled": n_active - len(items)}
    return Collection(items, excluded, round_.number if round_ is not None else None)
