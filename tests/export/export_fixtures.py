"""Set-up helpers for export tests: a project with items of every shape, written straight to the
store (no import code), plus the review and scorer rows an export reads."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.store import projects, users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Decision, Item, ItemRevision, NoiseFlag, Prediction, Round
from workbench.text import content_hash, normalize_text

LABELS = ["math", "code", "chat"]


def text_item(text: str, label: str | None = None, **meta: Any) -> dict[str, Any]:
    return {"shape": "text", "sample": {"text": text}, "label": label, "meta": meta}


def alpaca_item(
    instruction: str, output: str, label: str | None = None, input_: str = "", **meta: Any
) -> dict:
    return {
        "shape": "alpaca",
        "sample": {"instruction": instruction, "input": input_, "output": output},
        "label": label,
        "meta": meta,
    }


def chat_item(user: str, assistant: str, label: str | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "shape": "messages",
        "sample": {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": user},
                {"role": "assistant", "content": assistant},
            ]
        },
        "label": label,
        "meta": meta,
    }


def make_project(db: Database, rows: list[dict[str, Any]], name: str = "p") -> tuple[int, list[int]]:
    """A project with one active item per row (imported label = ``row["label"]``); returns
    ``(project id, item ids in row order)``."""
    with db.write() as session:
        project = projects.create_project(
            session, name, labels=projects.make_label_schema(LABELS), embedding_model="fake"
        )
        items = []
        for line, row in enumerate(rows, start=1):
            text = normalize_text(str(row["sample"]) + f"#{line}")
            items.append(
                Item(
                    project_id=project.id,
                    shape=row["shape"],
                    sample=row["sample"],
                    text=text,
                    content_hash=content_hash(text),
                    source_file="/data/in.jsonl",
                    source_line=line,
                    meta=row.get("meta") or {},
                    imported_label=row.get("label"),
                )
            )
        session.add_all(items)
        session.flush()
        return project.id, [item.id for item in items]


def add_lead(db: Database, name: str = "boss") -> int:
    with db.write() as session:
        return users.add_user(session, name, "password-123", "lead").id


def vote(db: Database, project_id: int, item_id: int, label: str, username: str) -> None:
    with db.write() as session:
        user = users.get_user(session, username) or users.add_user(
            session, username, "password-123", "annotator"
        )
        session.add(Annotation(project_id=project_id, item_id=item_id, user_id=user.id, label=label))


def decide(
    db: Database,
    project_id: int,
    item_id: int,
    lead_id: int,
    action: str,
    label: str | None = None,
    flag_id: int | None = None,
) -> None:
    with db.write() as session:
        session.add(
            Decision(
                project_id=project_id,
                item_id=item_id,
                user_id=lead_id,
                action=action,
                label=label,
                flag_id=flag_id,
            )
        )
        if action == "drop":
            session.get(Item, item_id).status = "dropped"


def edit(db: Database, item_id: int, sample: dict[str, Any], revision: int) -> None:
    with db.write() as session:
        text = normalize_text(str(sample))
        session.add(
            ItemRevision(
                item_id=item_id, revision=revision, sample=sample, text=text, content_hash=content_hash(text)
            )
        )


def flag_near_duplicates(db: Database, project_id: int, item_ids: list[int], group: int) -> list[int]:
    """One near-duplicate flag per item, all in ``group``; returns the flag ids."""
    with db.write() as session:
        flags = [
            NoiseFlag(
                project_id=project_id,
                item_id=item_id,
                detector="near_duplicate",
                severity=0.5,
                evidence={"group": group},
            )
            for item_id in item_ids
        ]
        session.add_all(flags)
        session.flush()
        return [flag.id for flag in flags]


def add_round(db: Database, project_id: int, probabilities: dict[int, list[float]], number: int = 1) -> None:
    """A finished round whose classes are ``LABELS``; ``probabilities[item_id]`` in that order."""
    with db.write() as session:
        round_ = Round(project_id=project_id, number=number, classes=LABELS)
        session.add(round_)
        session.flush()
        for item_id, probas in probabilities.items():
            vector = np.asarray(probas, dtype=np.float32)
            session.add(
                Prediction(
                    round_id=round_.id,
                    item_id=item_id,
                    predicted_label=LABELS[int(vector.argmax())],
                    confidence=float(vector.max()),
                    probabilities=vector.tobytes(),
                )
            )
