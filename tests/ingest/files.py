"""Data files and database counts shared by the import tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from workbench.store.engine import Database
from workbench.store.schema import AuditEntry, ImportBatch, Item, Project

DATA = Path("/work/shared/data")
BELLE = DATA / "belle_eval_zh" / "belle_eval_set.jsonl"
ALPACA = DATA / "alpaca" / "alpaca_data.jsonl"


def jsonl(records: Iterable[Any]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def first_records(path: Path, n: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(next(file)) for _ in range(n)]


def table_counts(db: Database) -> dict[str, int]:
    """Rows in the tables an import writes, to show that a failed import left nothing behind."""
    with db.read() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (Project, ImportBatch, Item, AuditEntry)
        }
