"""Record shapes: an item's sample (any imported shape) as Alpaca, ShareGPT or chat messages.

Every sample is first read as a list of chat turns ``(role, content)`` with roles ``system``,
``user`` and ``assistant``: Alpaca is one user turn (instruction, then input) and one assistant
turn; a text item is a single user turn. A sample already in the target shape passes through
unchanged. Chat to Alpaca: the last assistant turn is the output, the user turn before it the
instruction, and any earlier turns go into ``input`` as ``role: content`` lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.ingest.shapes import ROLE_ALIASES

Turn = tuple[str, str]
SHAREGPT_ROLES = {"user": "human", "assistant": "gpt"}


def turns_of(shape: str, sample: dict[str, Any]) -> list[Turn]:
    """The sample as chat turns with normalized roles."""
    if shape == "alpaca":
        prompt = sample.get("instruction") or ""
        if sample.get("input"):
            prompt = f"{prompt}\n\n{sample['input']}"
        return [("user", prompt), ("assistant", sample.get("output") or "")]
    if shape == "text":
        return [("user", sample.get("text") or "")]
    key, role_key, content_key = (
        ("messages", "role", "content") if shape == "messages" else ("conversations", "from", "value")
    )
    turns = []
    for turn in sample.get(key) or []:
        role = str(turn.get(role_key, "")).strip().lower()
        turns.append((ROLE_ALIASES.get(role, role), str(turn.get(content_key) or "")))
    return turns


#: ``to_shape(shape, sample) -> the record's shape fields``.
ToShape = Callable[[str, dict[str, Any]], dict[str, Any]]
RECORD_SHAPES: dict[str, ToShape] = {}


def register_record_shape(name: str) -> Callable[[ToShape], ToShape]:
    def decorate(function: ToShape) -> ToShape:
        RECORD_SHAPES[name] = function
        return function

    return decorate


@register_record_shape("alpaca")
def to_alpaca(shape: str, sample: dict[str, Any]) -> dict[str, Any]:
    if shape == "alpaca":
        return {
            "instruction": sample.get("instruction") or "",
            "input": sample.get("input") or "",
            "output": sample.get("output") or "",
        }
    if shape == "text":
        return {"instruction": sample.get("text") or "", "input": "", "output": ""}
    turns = turns_of(shape, sample)
    output = ""
    if turns and turns[-1][0] == "assistant":
        output = turns.pop()[1]
    instruction = ""
    if turns and turns[-1][0] == "user":
        instruction = turns.pop()[1]
    context = "\n".join(f"{role}: {content}" for role, content in turns)
    return {"instruction": instruction, "input": context, "output": output}


@register_record_shape("sharegpt")
def to_sharegpt(shape: str, sample: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversations": [
            {"from": SHAREGPT_ROLES.get(role, role), "value": content}
            for role, content in turns_of(shape, sample)
        ]
    }


@register_record_shape("messages")
def to_messages(shape: str, sample: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": content} for role, content in turns_of(shape, sample)]}
