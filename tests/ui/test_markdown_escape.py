"""Data placed in markdown (headers, captions, expander titles) shows literally."""

from __future__ import annotations

import re

import pytest

from workbench.ui.markdown import escape_markdown


@pytest.mark.parametrize("raw", [
    "[click](http://evil.example)", "![x](http://evil.example/p.png)", "<b>bold</b>",
    "**strong** _em_", "$x^2$", ":red[alarm]", "# heading", "a\\b",
])
def test_every_markup_character_is_escaped_and_the_text_is_kept(raw):
    escaped = escape_markdown(raw)
    assert re.sub(r"\\(.)", r"\1", escaped) == raw  # unescaping gives the text back
    assert not re.search(r"(?<!\\)[\[\]()<>*_$:#!]", re.sub(r"\\.", "", escaped))


def test_line_breaks_collapse_so_a_title_stays_one_line():
    assert escape_markdown("first\n\n# second") == "first \\# second"
