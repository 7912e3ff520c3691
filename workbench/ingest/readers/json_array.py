"""A JSON array of objects, streamed: memory holds about one chunk plus the record being parsed.

``json.JSONDecoder.raw_decode`` parses one element at a time from a text window that is refilled
from the file and trimmed behind the parser. Once the array itself is broken (a missing comma, an
element that is not JSON) nothing after that point can be located reliably, so such an error is
fatal for the rest of the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from workbench.ingest.errors import type_name
from workbench.ingest.readers.base import RawRow, register_reader
from workbench.ingest.readers.utf8 import BOM, BadBytes, StreamDecoder, undecodable

CHUNK_BYTES = 1 << 20
_SPACE = re.compile(r"[ \t\r\n]*")
# A decoding error this close to the end of the window may only mean the element goes on in
# the next chunk (a cut-off keyword, number or \uXXXX escape).
_CUT_MARGIN = 16


class _Window:
    """The file's text from the parser's position on, with what is needed to name lines and columns."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._decoder = StreamDecoder()
        self.text = ""
        self.eof = False
        self.bytes_read = 0
        self._started = False
        self._base_char = 0  # index of text[0] in the whole decoded file
        self._base_column = 0  # characters before text[0] on its line
        self._line = 1  # line of text[_cursor]
        self._cursor = 0

    def more(self) -> bool:
        """Append the next chunk (at least as large as the window, so huge records parse in few tries)."""
        if self.eof:
            return False
        chunk = self._file.read(max(CHUNK_BYTES, len(self.text)))
        self.bytes_read += len(chunk)
        self.eof = not chunk
        decoded = self._decoder.decode(chunk, final=self.eof)
        if not self._started and decoded:
            self._started = True
            if decoded.startswith(BOM):
                decoded = decoded[1:]
                self._base_char = 1
        self.text += decoded
        return True

    def skip_space(self, pos: int) -> int:
        while True:
            pos = _SPACE.match(self.text, pos).end()
            if pos < len(self.text) or not self.more():
                return pos

    def line_of(self, pos: int) -> int:
        """Line of ``text[pos]``; positions must not go backwards (lines are counted once)."""
        self._line += self.text.count("\n", self._cursor, pos)
        self._cursor = pos
        return self._line

    def column_of(self, pos: int) -> int:
        newline = self.text.rfind("\n", 0, pos)
        return pos - newline if newline >= 0 else self._base_column + pos + 1

    def bad_bytes(self, start: int, end: int) -> BadBytes | None:
        """The first undecodable bytes that landed in ``text[start:end]``."""
        first, last = self._base_char + start, self._base_char + end
        return next((bad for bad in self._decoder.bad if first <= bad.char_index < last), None)

    def drop(self, pos: int) -> None:
        """Forget the text before ``pos``."""
        self.line_of(pos)
        newline = self.text.rfind("\n", 0, pos)
        self._base_column = pos - newline - 1 if newline >= 0 else self._base_column + pos
        self._base_char += pos
        self._decoder.bad = [bad for bad in self._decoder.bad if bad.char_index >= self._base_char]
        self.text = self.text[pos:]
        self._cursor = 0


@register_reader("json", ".json")
def read_json_array(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as file:
        yield from _elements(_Window(file), json.JSONDecoder())


def _elements(window: _Window, decoder: json.JSONDecoder) -> Iterator[RawRow]:
    pos = window.skip_space(0)
    if not window.text.startswith("[", pos):
        yield _fatal(window, pos, "not a JSON array (the file must start with '[')")
        return
    pos = window.skip_space(pos + 1)
    if window.text.startswith("]", pos):
        yield from _after_array(window, pos + 1)
        return
    while True:
        parsed = _decode_at(window, decoder, pos)
        if isinstance(parsed, json.JSONDecodeError):
            yield _invalid(window, pos, parsed)
            return
        value, end = parsed
        yield _element(window, pos, end, value)
        pos = window.skip_space(end)
        if pos >= len(window.text):
            yield _fatal(window, pos, "invalid JSON: the array is not closed (missing ']')")
            return
        if window.text[pos] == "]":
            yield from _after_array(window, pos + 1)
            return
        if window.text[pos] != ",":
            yield _fatal(
                window, pos, f"invalid JSON: Expecting ',' delimiter (column {window.column_of(pos)})"
            )
            return
        pos = window.skip_space(pos + 1)
        if window.text.startswith("]", pos):
            yield _fatal(window, pos, "invalid JSON: Illegal trailing comma before end of array")
            return
        if pos > CHUNK_BYTES:
            window.drop(pos)
            pos = 0


def _decode_at(
    window: _Window, decoder: json.JSONDecoder, pos: int
) -> tuple[Any, int] | json.JSONDecodeError:
    """Parse the element at ``pos``, reading more of the file while it may just be cut off."""
    while True:
        try:
            value, end = decoder.raw_decode(window.text, pos)
        except json.JSONDecodeError as exc:
            maybe_cut = exc.pos >= len(window.text) - _CUT_MARGIN or exc.msg.startswith("Unterminated string")
            if maybe_cut and window.more():
                continue
            return exc
        # A value that ends exactly at the window's end (a number) may go on in the next chunk.
        if end < len(window.text) or not window.more():
            return value, end


def _element(window: _Window, start: int, end: int, value: Any) -> RawRow:
    line = window.line_of(start)
    raw = window.text[start:end]
    bad = window.bad_bytes(start, end)
    if bad is not None:
        other_line = bad.line if bad.line != line else None
        return RawRow(line, None, undecodable(bad.byte_column, other_line), raw, window.bytes_read)
    if not isinstance(value, dict):
        return RawRow(line, None, f"not a JSON object (found a {type_name(value)})", raw, window.bytes_read)
    return RawRow(line, value, None, raw, window.bytes_read)


def _invalid(window: _Window, start: int, exc: json.JSONDecodeError) -> RawRow:
    bad = window.bad_bytes(start, exc.pos + 1)
    if bad is not None:
        return RawRow(bad.line, None, undecodable(bad.byte_column), end_byte=window.bytes_read, fatal=True)
    return _fatal(window, exc.pos, f"invalid JSON: {exc.msg} (column {window.column_of(exc.pos)})")


def _after_array(window: _Window, pos: int) -> Iterator[RawRow]:
    pos = window.skip_space(pos)
    if pos < len(window.text):
        yield _fatal(window, pos, "invalid JSON: Extra data after the array")


def _fatal(window: _Window, pos: int, reason: str) -> RawRow:
    return RawRow(window.line_of(pos), None, reason, end_byte=window.bytes_read, fatal=True)
