"""Noise detection for a project: read its items, run the detectors, store ``NoiseFlag`` rows.

Storage functions take a Session and never commit; ``find_noise`` owns its transactions (one read,
one write), so a failed run leaves the flags as they were. A run replaces the *open* flags of the
detectors that ran; resolved flags stay, and a finding on an item whose flag of that detector the
lead already resolved is not raised again. Annotators' flags (detector ``annotator_flag``, written
by the labeling page) are never replaced by a run and are read like any other flag.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from workbench.embed import load_embeddings
from workbench.noise.registry import (
    Finding,
    NoiseData,
    NoiseSettings,
    applicable,
    detector_names,
    detector_spec,
    run_detectors,
)
from workbench.store import jobs
from workbench.store.engine import Database
from workbench.store.gold import gold_labels, human_votes
from workbench.store.schema import Decision, Item, Job, NoiseFlag, Project

NOISE_JOB = "find_noise"
#: Flags an annotator raised on the labeling page.
ANNOTATOR_FLAG = "annotator_flag"


@dataclass(frozen=True)
class NoiseRun:
    """What ``find_noise`` did.

    Attributes
    ----------
    n_items : int
        Active items checked.
    detectors : list of str
        Detectors that ran.
    skipped : dict of str to str
        Detectors that could not run, with the reason (e.g. items not embedded yet).
    n_flags : dict of str to int
        Open flags written per detector.
    seconds : float
    """

    n_items: int
    detectors: list[str]
    skipped: dict[str, str]
    n_flags: dict[str, int]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_noise_data(session: Session, project: Project) -> NoiseData:
    """The project's active items as ``NoiseData``; ``ids`` are item ids in id order.

    Embeddings are given only when every active item has one (else the embedding detectors wait
    for the embedding job); labels are the gold labels (imported ones included, None where an
    item has none); votes are the annotators' current labels of items labeled more than once.
    """
    rows = session.execute(
        select(Item.id, Item.shape, Item.sample, Item.content_hash)
        .where(Item.project_id == project.id, Item.status == "active")
        .order_by(Item.id)
    ).all()
    ids = [row[0] for row in rows]
    position = {item_id: i for i, item_id in enumerate(ids)}
    embedded_ids, vectors = load_embeddings(session, project.id, project.embedding_model)
    complete = len(ids) > 0 and np.array_equal(embedded_ids, np.asarray(ids, dtype=np.int64))
    gold = gold_labels(session, project.id, include_imported=True)
    votes = {
        position[item_id]: counts
        for item_id, counts in human_votes(session, project.id).items()
        if item_id in position and sum(counts.values()) > 1
    }
    return NoiseData(
        ids=ids,
        labels=[gold[item_id].label if item_id in gold else None for item_id in ids],
        embeddings=vectors if complete else None,
        content_hashes=[row[3] for row in rows],
        samples=[(row[1], row[2]) for row in rows],
        votes=votes,
    )


def resolved_pairs(session: Session, project_id: int, detectors: Sequence[str]) -> set[tuple[int, str]]:
    """``(item_id, detector)`` of the project's resolved flags of ``detectors``."""
    rows = session.execute(
        select(NoiseFlag.item_id, NoiseFlag.detector).where(
            NoiseFlag.project_id == project_id,
            NoiseFlag.status == "resolved",
            NoiseFlag.detector.in_(list(detectors)),
        )
    )
    return {(item_id, detector) for item_id, detector in rows}


def replace_open_flags(
    session: Session,
    project_id: int,
    item_ids: Sequence[int],
    findings: Sequence[Finding],
    detectors: Sequence[str],
    *,
    round_id: int | None = None,
) -> dict[str, int]:
    """Delete the open flags of ``detectors`` and add one open flag per new finding.

    Parameters
    ----------
    item_ids : sequence of int
        Item id of each ``Finding.index``.
    findings : sequence of Finding
    detectors : sequence of str
        The detectors that ran (``annotator_flag`` is refused: those are people's flags).

    Returns
    -------
    dict of str to int
        Flags written per detector.
    """
    if ANNOTATOR_FLAG in detectors:
        raise ValueError(f"{ANNOTATOR_FLAG!r} flags come from annotators and are never replaced by a run")
    replaced = select(NoiseFlag.id).where(
        NoiseFlag.project_id == project_id,
        NoiseFlag.status == "open",
        NoiseFlag.detector.in_(list(detectors)),
    )
    # An open flag that a decision names was reopened by an undo of that decision; the undone
    # decision keeps the flag's id in its before/after, so the reference can go with the flag.
    session.execute(
        update(Decision).where(Decision.flag_id.in_(replaced)).values(flag_id=None),
        execution_options={"synchronize_session": False},
    )
    session.execute(delete(NoiseFlag).where(NoiseFlag.id.in_(replaced)))
    settled = resolved_pairs(session, project_id, detectors)
    written: dict[str, int] = {name: 0 for name in detectors}
    rows = []
    for finding in findings:
        item_id = int(item_ids[finding.index])
        if (item_id, finding.detector) in settled:
            continue
        rows.append(
            {
                "project_id": project_id,
                "item_id": item_id,
                "detector": finding.detector,
                "severity": float(min(max(finding.severity, 0.0), 1.0)),
                "evidence": finding.evidence,
                "status": "open",
                "round_id": round_id,
            }
        )
        written[finding.detector] += 1
    if rows:
        session.add_all(NoiseFlag(**row) for row in rows)
        session.flush()
    return written


def find_noise(
    db: Database,
    project_id: int,
    *,
    detectors: Sequence[str] | None = None,
    settings: NoiseSettings | None = None,
) -> NoiseRun:
    """Run the detectors on a project's active items and store their open flags.

    Parameters
    ----------
    detectors : sequence of str, optional
        Registered detector names; default every detector whose inputs the project has. A named
        detector whose inputs are missing is skipped with its reason.

    Raises
    ------
    LookupError
        If the project does not exist.
    workbench.noise.UnknownDetectorError
        For a name that is not registered.
    """
    started = time.perf_counter()
    wanted = detector_names() if detectors is None else [detector_spec(name).name for name in detectors]
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise LookupError(f"no project with id {project_id}")
        data = project_noise_data(session, project)
    ready = applicable(data)
    skipped = {name: _why_skipped(data, name) for name in wanted if name not in ready}
    to_run = [name for name in wanted if name in ready]
    findings = run_detectors(data, to_run, settings) if data.ids else []
    with db.write() as session:
        written = replace_open_flags(session, project_id, data.ids, findings, to_run)
    return NoiseRun(len(data.ids), to_run, skipped, written, round(time.perf_counter() - started, 3))


def _why_skipped(data: NoiseData, name: str) -> str:
    missing = [need for need in detector_spec(name).needs if not data.has(need)]
    if "embeddings" in missing:
        return "not every item is embedded yet"
    return f"the project has no {', '.join(missing)}"


def request_noise_scan(
    session: Session, project_id: int, *, user_id: int | None = None, detectors: Sequence[str] | None = None
) -> Job:
    """Queue a ``find_noise`` job for the worker (or return the one already queued or running)."""
    payload = {} if detectors is None else {"detectors": [detector_spec(name).name for name in detectors]}
    return jobs.enqueue(session, NOISE_JOB, project_id=project_id, payload=payload, created_by=user_id)


def open_flags(session: Session, project_id: int, *, detector: str | None = None) -> list[NoiseFlag]:
    """The project's open flags, detectors' and annotators' alike, most severe first."""
    query = select(NoiseFlag).where(NoiseFlag.project_id == project_id, NoiseFlag.status == "open")
    if detector is not None:
        query = query.where(NoiseFlag.detector == detector)
    return list(session.scalars(query.order_by(NoiseFlag.severity.desc(), NoiseFlag.id)))


def open_flag_counts(session: Session, project_id: int) -> dict[str, int]:
    """Open flags per detector (``annotator_flag`` included)."""
    rows = session.execute(
        select(NoiseFlag.detector, func.count())
        .where(NoiseFlag.project_id == project_id, NoiseFlag.status == "open")
        .group_by(NoiseFlag.detector)
    )
    return dict(rows.all())
