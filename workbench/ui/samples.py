"""A sample as the blocks the UI shows: named fields (Alpaca, plain text) or chat turns with roles.

Plain data, no Streamlit: the views decide how a block looks. Each layout is a small registered
function; the first whose test matches the sample's fields is used, so a sample is shown by what it
holds whatever name its shape was given on import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Sample = dict[str, Any]


@dataclass(frozen=True)
class Block:
    """One block of a sample: a field (``title`` is its name) or a chat turn (``title`` is the role)."""

    title: str
    text: str
    is_turn: bool = False


_LAYOUTS: list[tuple[Callable[[Sample], bool], Callable[[Sample], list[Block]]]] = []


def _layout(
    matches: Callable[[Sample], bool],
) -> Callable[[Callable[[Sample], list[Block]]], Callable[[Sample], list[Block]]]:
    def register(blocks: Callable[[Sample], list[Block]]) -> Callable[[Sample], list[Block]]:
        _LAYOUTS.append((matches, blocks))
        return blocks

    return register


def as_text(value: Any) -> str:
    """A field value as display text: strings unchanged, anything else as indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


def _turns(turns: list[Any], role_key: str, text_key: str) -> list[Block]:
    return [
        Block(as_text(turn.get(role_key)) or "?", as_text(turn.get(text_key)), is_turn=True)
        if isinstance(turn, dict)
        else Block("?", as_text(turn), is_turn=True)
        for turn in turns
    ]


@_layout(lambda sample: isinstance(sample.get("conversations"), list))
def _sharegpt(sample: Sample) -> list[Block]:
    return _turns(sample["conversations"], "from", "value")


@_layout(lambda sample: isinstance(sample.get("messages"), list))
def _messages(sample: Sample) -> list[Block]:
    return _turns(sample["messages"], "role", "content")


@_layout(lambda sample: "instruction" in sample)
def _alpaca(sample: Sample) -> list[Block]:
    blocks = [Block("Instruction", as_text(sample.get("instruction")))]
    if as_text(sample.get("input")).strip():
        blocks.append(Block("Input", as_text(sample["input"])))
    blocks.append(Block("Output", as_text(sample.get("output"))))
    return blocks


def _fields(sample: Sample) -> list[Block]:
    return [Block(str(name), as_text(value)) for name, value in sample.items()]


def sample_blocks(sample: Sample) -> list[Block]:
    """The blocks to show for ``sample`` (an item's ``sample`` JSON), in reading order."""
    for matches, blocks in _LAYOUTS:
        if matches(sample):
            return blocks(sample)
    return _fields(sample)
