"""Sign-in page: the only page a signed-out session gets."""

from __future__ import annotations

import streamlit as st

from workbench.ui import auth, session
from workbench.ui.db import database


THROTTLE_KEY = "sign_in_throttle"


def _throttle() -> auth.Throttle:
    """This browser session's sign-in throttle (failed attempts per typed name)."""
    return st.session_state.setdefault(THROTTLE_KEY, auth.Throttle())


def render() -> None:
    st.title("Sign in")
    # clear_on_submit: the typed password does not stay in the session state.
    with st.form("sign_in", clear_on_submit=True):
        username = st.text_input("Username", key="sign_in_username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="sign_in_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary", key="sign_in_submit")
    if not submitted:
        return
    try:
        user = auth.sign_in(database(), username, password, throttle=_throttle())
    except auth.SignInThrottled as throttled:
        st.error(str(throttled))
        return
    if user is None:
        st.error(auth.SIGN_IN_FAILED)
        return
    session.start(user)
    st.rerun()


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
