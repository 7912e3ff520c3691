"""SFT shapes: how a record's fields become a sample and the normalized text that is embedded.

Each shape is a small registered function ``convert(record, fields) -> Shaped`` where ``fields``
maps the shape's field names to the record's keys (the ``--map`` option). The sample keeps the
shape's fields under their canonical names with the values exactly as in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.ingest.errors import RowProblem, wrong_type
from workbench.text import normalize_text

#: Chat roles written differently by different tools, mapped to one spelling.
ROLE_ALIASES = {"human": "user", "gpt": "assistant"}


@dataclass(frozen=True, slots=True)
class Shaped:
    """A record in a shape: ``sample`` as stored, ``text`` normalized for hashing and embedding."""

    sample: dict[str, Any]
    text: str


class ShapeProblem(RowProblem):
    """A field the shape needs is missing or of the wrong type."""


Convert = Callable[[Mapping[str, Any], Mapping[str, str]], Shaped]


@dataclass(frozen=True)
class Shape:
    """A registered shape.

    Attributes
    ----------
    name : str
    fields : tuple of str
        Every field it reads (the targets ``--map`` accepts).
    detect_by : tuple of str
        Fields whose presence in a record identifies the shape.
    convert : Convert
    """

    name: str
    fields: tuple[str, ...]
    detect_by: tuple[str, ...]
    convert: Convert

    def __call__(self, record: Mapping[str, Any], fields: Mapping[str, str]) -> Shaped:
        """Convert ``record``; a missing or mistyped field's message names this shape."""
        try:
            return self.convert(record, fields)
        except ShapeProblem as exc:
            raise ShapeProblem(f"{exc} ({self.name} shape)") from None


#: Registered shapes, in the order auto-detection tries them (most specific first).
SHAPES: dict[str, Shape] = {}


def register_shape(
    name: str, *, fields: tuple[str, ...], detect_by: tuple[str, ...]
) -> Callable[[Convert], Convert]:
    def decorate(convert: Convert) -> Convert:
        SHAPES[name] = Shape(name, fields, detect_by, convert)
        return convert

    return decorate


def detect_shape(record: Mapping[str, Any], fields: Mapping[str, str]) -> Shape | None:
    """The first shape whose identifying fields are all in ``record`` (after mapping), else None."""
    for shape in SHAPES.values():
        if all(fields.get(name, name) in record for name in shape.detect_by):
            return shape
    return None


def _string(record: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    """A string field; absent or null is "missing" unless ``optional``."""
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise ShapeProblem(f"missing field {key!r}")
    if not isinstance(value, str):
        raise ShapeProblem(wrong_type(key, value, "a string"))
    return value


def _text_of(parts: list[str]) -> str:
    if not any(normalize_text(part) for part in parts):
        raise RowProblem("empty text")
    return normalize_text("\n\n".join(parts))


@register_shape("messages", fields=("messages",), detect_by=("messages",))
def messages(record: Mapping[str, Any], fields: Mapping[str, str]) -> Shaped:
    key = fields.get("messages", "messages")
    turns = _turns(record, key, role_key="role", content_key="content")
    return Shaped({"messages": record[key]}, _chat_text(turns))


@register_shape("sharegpt", fields=("conversations",), detect_by=("conversations",))
def sharegpt(record: Mapping[str, Any], fields: Mapping[str, str]) -> Shaped:
    key = fields.get("conversations", "conversations")
    turns = _turns(record, key, role_key="from", content_key="value")
    return Shaped({"conversations": record[key]}, _chat_text(turns))


@register_shape("alpaca", fields=("instruction", "input", "output"), detect_by=("instruction", "output"))
def alpaca(record: Mapping[str, Any], fields: Mapping[str, str]) -> Shaped:
    # "input" is optional: many Alpaca-style files leave it out when there is none.
    values = {
        name: _string(record, fields.get(name, name), optional=name == "input")
        for name in ("instruction", "input", "output")
    }
    sample = {name: value for name, value in values.items() if value is not None}
    return Shaped(sample, _text_of(list(sample.values())))


@register_shape("text", fields=("text",), detect_by=("text",))
def text(record: Mapping[str, Any], fields: Mapping[str, str]) -> Shaped:
    value = _string(record, fields.get("text", "text"))
    return Shaped({"text": value}, _text_of([value]))


def _turns(record: Mapping[str, Any], key: str, *, role_key: str, content_key: str) -> list[tuple[str, str]]:
    """``(role, content)`` per turn of a chat list, roles normalized."""
    value = record.get(key)
    if value is None:
        raise ShapeProblem(f"missing field {key!r}")
    if not isinstance(value, list):
        raise ShapeProblem(wrong_type(key, value, "a list"))
    turns = []
    for number, turn in enumerate(value, start=1):
        if not isinstance(turn, dict):
            expected = f"an object with {role_key!r} and {content_key!r}"
            raise ShapeProblem(wrong_type(key, turn, expected, where=f" turn {number}"))
        for field in (role_key, content_key):
            if turn.get(field) is None:
                raise ShapeProblem(f"missing field {field!r} in {key!r} turn {number}")
            if not isinstance(turn[field], str):
                raise ShapeProblem(
                    wrong_type(field, turn[field], "a string", where=f" in {key!r} turn {number}")
                )
        role = turn[role_key].strip().lower()
        turns.append((ROLE_ALIASES.get(role, role), turn[content_key]))
    return turns


def _chat_text(turns: list[tuple[str, str]]) -> str:
    _text_of([content for _, content in turns])
    return normalize_text("\n".join(f"{role}: {content}" for role, content in turns))
