"""Account page: who I am, and changing my own password."""

from __future__ import annotations

import streamlit as st

from workbench.ui import session
from workbench.ui.password_form import password_form


def render() -> None:
    user = session.require_user()
    st.title("Account")
    st.text(f"Username: {user.username}\nRole: {user.role}")
    st.subheader("Change password")
    password_form(user, ask_current=True)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
