"""The prompt and the response of an SFT sample, whatever its shape."""

from __future__ import annotations

from typing import Any

from workbench.ingest.shapes import ROLE_ALIASES

#: Chat shapes: the key of the turn list, and the role and content keys of a turn.
CHAT_KEYS = {"messages": ("messages", "role", "content"), "sharegpt": ("conversations", "from", "value")}


def _chat(sample: dict[str, Any], key: str, role_key: str, content_key: str) -> tuple[str, str] | None:
    turns = [
        (
            ROLE_ALIASES.get(
                str(turn.get(role_key, "")).strip().lower(), str(turn.get(role_key, "")).strip().lower()
            ),
            str(turn.get(content_key) or ""),
        )
        for turn in sample.get(key) or []
        if isinstance(turn, dict)
    ]
    last_answer = max((i for i, (role, _) in enumerate(turns) if role == "assistant"), default=None)
    if last_answer is None:
        return None
    asked = [content for role, content in turns[:last_answer] if role == "user"]
    return (asked[-1] if asked else "", turns[last_answer][1])


def prompt_and_response(shape: str, sample: dict[str, Any]) -> tuple[str, str] | None:
    """``(prompt, response)`` of a sample, or None when it has no response (e.g. plain text).

    Alpaca: the instruction (and input, after a blank line) and the output. Chat: the last
    assistant turn and the user turn before it.
    """
    if shape == "alpaca":
        prompt = "\n\n".join(part for part in (sample.get("instruction"), sample.get("input")) if part)
        return prompt, str(sample.get("output") or "")
    if shape in CHAT_KEYS:
        return _chat(sample, *CHAT_KEYS[shape])
    return None
