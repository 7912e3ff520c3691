"""The response of an SFT sample: which field holds it, and a copy of the sample with a new one.

An annotator corrects the response (the part the model learns to produce): the ``output`` of an
Alpaca sample, the last assistant turn of a chat, the whole text of a plain-text sample.
"""

from __future__ import annotations

import copy
from typing import Any

from workbench.ingest.shapes import SHAPES, Shaped

Sample = dict[str, Any]

_ASSISTANT_ROLES = frozenset({"assistant", "gpt", "ai", "bot", "model", "chatgpt"})
# (list field, role key, content key) of the chat layouts.
_CHAT_FIELDS = (("messages", "role", "content"), ("conversations", "from", "value"))


class ResponseError(ValueError):
    """A sample whose response cannot be found or replaced; the message says why."""


def _last_assistant_turn(sample: Sample) -> tuple[dict[str, Any], str] | None:
    for field, role_key, content_key in _CHAT_FIELDS:
        turns = sample.get(field)
        if isinstance(turns, list):
            for turn in reversed(turns):
                if isinstance(turn, dict) and str(turn.get(role_key, "")).strip().lower() in _ASSISTANT_ROLES:
                    return turn, content_key
            return None
    return None


def response_of(sample: Sample) -> str | None:
    """The response text of ``sample``, or None when it has none (e.g. a chat without an assistant turn)."""
    turn = _last_assistant_turn(sample)
    if turn is not None:
        return str(turn[0].get(turn[1], ""))
    for field in ("output", "text"):
        if isinstance(sample.get(field), str):
            return sample[field]
    return None


def with_response(sample: Sample, response: str) -> Sample:
    """A deep copy of ``sample`` whose response is ``response`` (the original is not changed).

    Raises
    ------
    ResponseError
        If the sample has no response to replace.
    """
    revised = copy.deepcopy(sample)
    turn = _last_assistant_turn(revised)
    if turn is not None:
        turn[0][turn[1]] = response
        return revised
    for field in ("output", "text"):
        if isinstance(revised.get(field), str):
            revised[field] = response
            return revised
    raise ResponseError("this sample has no response to correct (no output, text or assistant turn)")


def reshape(shape: str, sample: Sample) -> Shaped:
    """``sample`` run through its import shape again: the stored sample and its normalized text."""
    if shape not in SHAPES:
        raise ResponseError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    return SHAPES[shape](sample, {})
