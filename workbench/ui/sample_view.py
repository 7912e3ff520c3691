"""Showing one item: its sample by shape, then where it came from and its metadata.

Sample text is only ever written with ``st.text`` (no markdown, no HTML), and data that must sit
in markdown (captions, labels) is escaped first, so HTML or script in a sample shows as text.
"""

from __future__ import annotations

import streamlit as st

from workbench.store.schema import Item
from workbench.ui.markdown import escape_markdown
from workbench.ui.samples import Block, sample_blocks

_USER_ROLES = frozenset({"user", "human"})
_ASSISTANT_ROLES = frozenset({"assistant", "gpt", "ai", "bot", "model", "chatgpt"})
_OTHER_ROLE_AVATAR = ":material/settings:"


def _avatar(role: str) -> str:
    role = role.lower()
    if role in _USER_ROLES:
        return "user"
    if role in _ASSISTANT_ROLES:
        return "assistant"
    return _OTHER_ROLE_AVATAR


def _render_block(block: Block) -> None:
    if block.is_turn:
        with st.chat_message(block.title, avatar=_avatar(block.title)):
            st.caption(escape_markdown(block.title))
            st.text(block.text)
    else:
        st.caption(escape_markdown(block.title))
        st.text(block.text)


def item_origin(item: Item) -> str:
    """One line naming the item, its imported label and where it came from (markdown-escaped)."""
    parts = [f"item {item.id}", f"status {item.status}"]
    if item.imported_label is not None:
        parts.append(f"imported label {item.imported_label}")
    if item.source_file:
        line = f":{item.source_line}" if item.source_line is not None else ""
        parts.append(f"from {item.source_file}{line}")
    if item.external_id:
        parts.append(f"id {item.external_id}")
    return " · ".join(escape_markdown(part) for part in parts)


def render_item(item: Item) -> None:
    """The item's sample, origin line and metadata, in the current container."""
    for block in sample_blocks(item.sample):
        _render_block(block)
    st.caption(item_origin(item))
    if item.meta:
        st.json(item.meta, expanded=1)  # top-level fields open, nested values folded
