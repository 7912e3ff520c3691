"""Forced password change: all a user with a one-time password sees until they choose their own."""

from __future__ import annotations

import streamlit as st

from workbench.ui import session
from workbench.ui.password_form import password_form


def render() -> None:
    user = session.require_user()
    st.title("Choose a new password")
    st.text(
        f"Signed in as {user.username} with a one-time password. "
        "Choose your own password to continue."
    )
    password_form(user, ask_current=False)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
