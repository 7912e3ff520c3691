"""Normalized text and content hashes: what makes two samples "the same" and keys the embedding cache."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"[ \t\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Canonical form of a text for hashing and embedding.

    Unicode NFC, ``\\r\\n``/``\\r`` to ``\\n``, runs of spaces and tabs to one space, trailing
    spaces on each line and runs of blank lines removed, ends stripped. Letters, punctuation and
    case are kept: only layout differences are erased.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def content_hash(normalized: str) -> str:
    """SHA-256 hex digest of an already normalized text (64 characters)."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()
