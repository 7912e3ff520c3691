"""The browser session's identity (a user id in ``st.session_state``) and one-shot notices."""

from __future__ import annotations

import streamlit as st

from workbench.ui import auth
from workbench.ui.db import database

USER_ID_KEY = "workbench_user_id"
NOTICE_KEY = "workbench_notice"
DEACTIVATED_NOTICE = "You were signed out: your account was deactivated or removed."


def signed_in_id() -> int | None:
    return st.session_state.get(USER_ID_KEY)


def start(user: auth.SignedInUser) -> None:
    st.session_state[USER_ID_KEY] = user.id


def end(notice: str | None = None) -> None:
    """Sign out, forgetting everything this session held (filters, page numbers, ...)."""
    st.session_state.clear()
    if notice:
        st.session_state[NOTICE_KEY] = notice


def current_user() -> auth.SignedInUser | None:
    """The signed-in user as the database has it now (None if signed out or deactivated)."""
    return auth.load_user(database(), signed_in_id())


def require_user(*roles: str) -> auth.SignedInUser:
    """The current user, re-read from the database; stops the page for anyone else.

    Pages call this first, so a page never runs for a user whose role lost it, even if the
    navigation registered it earlier in the same run.
    """
    user = current_user()
    if user is None or (roles and user.role not in roles):
        st.error("You do not have access to this page.")
        st.stop()
    return user


def set_notice(message: str) -> None:
    """A message shown once, at the top of the next page (it survives ``st.rerun``)."""
    st.session_state[NOTICE_KEY] = message


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
