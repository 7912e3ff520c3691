"""Making data safe to put inside Streamlit markdown (headers, captions, expander labels)."""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all
# turns links, images, emphasis, HTML, LaTeX ($) and Streamlit directives (:red[...]) into text.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def escape_markdown(text: str) -> str:
    """``text`` escaped so that markdown shows it literally, on one line."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(text.split()))
