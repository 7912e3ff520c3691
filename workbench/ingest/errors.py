"""What can go wrong in an import, phrased for the person who owns the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RowProblem(ValueError):
    """A record that cannot be imported; the message is the reason (no file or line)."""


class ImportUsageError(ValueError):
    """Import options that cannot work (unknown shape, unsupported file type, bad mapping)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected record: ``file:line: reason`` (no line for file-level problems)."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


def type_name(value: Any) -> str:
    """The JSON name of a value's type, as users see it in their files ("number", "list", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def wrong_type(field: str, value: Any, expected: str, where: str = "") -> str:
    """``wrong type: 'output' is a number, expected a string`` (``where`` e.g. `` in turn 2``)."""
    name = type_name(value)
    article = "an" if name[0] in "aeiou" else "a"
    return f"wrong type: {field!r}{where} is {article} {name}, expected {expected}"
