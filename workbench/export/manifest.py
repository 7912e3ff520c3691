"""``manifest.json``: what an export holds, how it was made, and a hash of every file."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.export.collect import ExportItem
from workbench.export.plan import ExportPlan, preview


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def counts_by(items: Iterable[ExportItem], field_name: str) -> dict[str, int]:
    return dict(sorted(Counter(item.value_of(field_name) for item in items).items()))


def build_manifest(
    plan: ExportPlan, files: dict[str, int], out_dir: Path, created_at: datetime
) -> dict[str, Any]:
    """The manifest of a written export.

    Parameters
    ----------
    files : dict
        ``{file name: number of records}`` of the data files written in ``out_dir``.
    """
    train_items = [item for item, _ in plan.train]
    validation_items = [item for item, _ in plan.validation]
    repeated = {str(item_id): n for item_id, n in sorted(plan.mixture.copies.items()) if n > 1}
    return {
        "project": plan.project_name,
        "created_at": created_at.isoformat(timespec="seconds"),
        "format": plan.settings.format,
        "seed": plan.settings.seed,
        "settings": plan.settings.as_dict(),
        "scorer_round": plan.round_number,
        "files": {name: {"records": n, "sha256": sha256_of(out_dir / name)} for name, n in files.items()},
        "counts": {
            "before": {"label": counts_by(plan.pool, "label"), "source": counts_by(plan.pool, "source")},
            "after": {"label": counts_by(train_items, "label"), "source": counts_by(train_items, "source")},
            "validation": {
                "label": counts_by(validation_items, "label"),
                "source": counts_by(validation_items, "source"),
            },
            "label_source": dict(
                sorted(Counter(item.label_source for item in train_items + validation_items).items())
            ),
        },
        "mixture": {"fields": list(plan.mixture.fields), "rows": preview(plan)},
        "repeats": {"extra_copies": plan.mixture.n_repeats, "copies_by_item": repeated},
        "drops": {
            **{reason: {"count": n, "ids": None} for reason, n in plan.excluded.items()},
            **{reason: {"count": len(ids), "ids": ids} for reason, ids in plan.left_out.items()},
        },
    }
