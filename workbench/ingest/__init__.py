"""Import of SFT data: readers per file format, shapes per SFT layout, and ``import_file``."""

from workbench.ingest.errors import ImportUsageError, RowError
from workbench.ingest.importer import import_file
from workbench.ingest.readers import FORMATS
from workbench.ingest.report import Duplicate, ImportFailed, ImportReport
from workbench.ingest.shapes import SHAPES

__all__ = [
    "FORMATS",
    "SHAPES",
    "Duplicate",
    "ImportFailed",
    "ImportReport",
    "ImportUsageError",
    "RowError",
    "import_file",
]
