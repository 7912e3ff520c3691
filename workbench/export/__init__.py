"""Export of the labeled, cleaned set for SFT: what is exported, how it is mixed, split and written.

The pipeline, one module per step:

- ``collect``: every exportable item with its gold label, latest text edit, source and scorer
  confidence (``collect_items``); ``duplicates`` keeps one item per near-duplicate group
- ``split``: stratified train/validation split of the de-duplicated items
- ``mixture``: target weights per label or metadata field, up-sampling by repeats (or weights) and
  down-sampling (at random or lowest quality first); ``weights``: per-record loss weights
- ``shapes`` and ``formats``: records in Alpaca / ShareGPT / messages shapes written as JSONL,
  Parquet or CSV (registered small functions)
- ``plan``: all of the above in memory (``plan_export``, ``preview``); ``write``: the files,
  ``manifest.json`` and the dataset card (``write_export``)
"""

from workbench.export.formats import FORMATS
from workbench.export.mixture import MixtureError, MixtureSpec, parse_mixture
from workbench.export.plan import ExportPlan, ExportSettings, ExportSettingsError, plan_export, preview
from workbench.export.weights import WEIGHT_SCHEMES
from workbench.export.write import write_export

__all__ = [
    "FORMATS",
    "WEIGHT_SCHEMES",
    "ExportPlan",
    "ExportSettings",
    "ExportSettingsError",
    "MixtureError",
    "MixtureSpec",
    "parse_mixture",
    "plan_export",
    "preview",
    "write_export",
]
