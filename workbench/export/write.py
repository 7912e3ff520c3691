"""Write a planned export: data files per split, ``README.md`` (the card) and ``manifest.json``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.export.card import dataset_card
from workbench.export.formats import FORMATS, columns_for
from workbench.export.manifest import build_manifest, sha256_of
from workbench.export.plan import ExportPlan, preview
from workbench.export.records import to_records
from workbench.store.schema import utcnow

MANIFEST = "manifest.json"
CARD = "README.md"


def write_export(plan: ExportPlan, out_dir: Path, *, created_at: datetime | None = None) -> dict[str, Any]:
    """Write the plan's files into ``out_dir`` (created if missing) and return the manifest.

    Files: ``train.<ext>``, ``validation.<ext>`` when there is a validation split, ``README.md``
    and ``manifest.json``. The data files and the card depend only on the plan, so the same
    database, settings and seed give byte-identical files; only the manifest's time differs.
    """
    fmt = FORMATS[plan.settings.format]
    columns = columns_for(fmt.record_shape, weighted=plan.settings.weights is not None)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, int] = {}
    for split, rows in (("train", plan.train), ("validation", plan.validation)):
        name = f"{split}.{fmt.extension}"
        if split == "validation" and not rows:
            # A validation file left by an earlier export into this folder would be loaded as ours.
            (out_dir / name).unlink(missing_ok=True)
            continue
        fmt.write(to_records(rows, fmt.record_shape), columns, out_dir / name)
        files[name] = len(rows)
    (out_dir / CARD).write_text(dataset_card(plan, files, preview(plan)), encoding="utf-8")
    manifest = build_manifest(plan, files, out_dir, created_at or utcnow())
    manifest["files"][CARD] = {"sha256": sha256_of(out_dir / CARD)}
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
