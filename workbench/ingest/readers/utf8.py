"""Strict UTF-8 decoding that says where the undecodable bytes are instead of giving up.

Bad bytes become U+FFFD so reading can go on; the caller rejects the record that holds them.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

BOM = "\ufeff"


def undecodable(byte_column: int, line: int | None = None) -> str:
    """The reason given for a record with bytes that are not UTF-8.

    ``byte_column`` counts bytes from 1 within the line; ``line`` is named when the record spans
    several lines and the bad bytes are not on its first.
    """
    where = "" if line is None else f" of line {line}"
    return f"undecodable bytes (not UTF-8) at byte {byte_column}{where}"


def decode_line(data: bytes) -> tuple[str, int | None]:
    """Decode one line; return the text and the 1-based byte column of the first bad byte, if any."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", "replace"), exc.start + 1


@dataclass(frozen=True, slots=True)
class BadBytes:
    """Undecodable bytes in a stream: where they landed in the text and where they are in the file."""

    char_index: int
    line: int
    byte_column: int


class StreamDecoder:
    """Decode a byte stream chunk by chunk, recording every run of undecodable bytes.

    A multi-byte character split across two chunks is kept back until the next chunk.
    """

    def __init__(self) -> None:
        self.bad: list[BadBytes] = []
        self._pending = b""
        self._chars = 0  # characters returned so far
        self._offset = 0  # file offset of _pending[0]
        self._newlines = 0  # newlines before _pending[0]
        self._line_start = 0  # file offset where the current line starts

    def decode(self, chunk: bytes, final: bool = False) -> str:
        data = self._pending + chunk
        view = memoryview(data)
        parts: list[str] = []
        pos = 0
        while True:
            try:
                text, used = codecs.utf_8_decode(view[pos:], "strict", final)
            except UnicodeDecodeError as exc:
                bad_at = pos + exc.start
                parts.append(bytes(view[pos:bad_at]).decode("utf-8"))
                self._record_bad(data, bad_at, self._chars + sum(map(len, parts)))
                parts.append("\ufffd")
                pos = pos + exc.end
                continue
            parts.append(text)
            pos += used
            break
        self._advance(data, pos)
        self._pending = data[pos:]
        decoded = "".join(parts)
        self._chars += len(decoded)
        return decoded

    def _record_bad(self, data: bytes, bad_at: int, char_index: int) -> None:
        newline = data.rfind(b"\n", 0, bad_at)
        line_start = self._line_start if newline < 0 else self._offset + newline + 1
        line = 1 + self._newlines + data.count(b"\n", 0, bad_at)
        self.bad.append(BadBytes(char_index, line, self._offset + bad_at - line_start + 1))

    def _advance(self, data: bytes, consumed: int) -> None:
        newline = data.rfind(b"\n", 0, consumed)
        if newline >= 0:
            self._line_start = self._offset + newline + 1
        self._newlines += data.count(b"\n", 0, consumed)
        self._offset += consumed
