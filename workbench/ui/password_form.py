"""The form that changes the signed-in user's own password (account page and forced change)."""

from __future__ import annotations

import streamlit as st

from workbench.store.users import MIN_PASSWORD_LENGTH
from workbench.ui import auth, session
from workbench.ui.db import database


def password_form(user: auth.SignedInUser, *, ask_current: bool) -> None:
    """Ask for the new password twice (and the current one if ``ask_current``) and set it.

    On success the page reruns with a notice; a refused password shows why and changes nothing.
    The form clears on submit so no password stays in the session state.
    """
    with st.form("change_password", clear_on_submit=True):
        current = (
            st.text_input("Current password", type="password", key="password_current")
            if ask_current
            else None
        )
        new = st.text_input(
            "New password",
            type="password",
            key="password_new",
            help=f"At least {MIN_PASSWORD_LENGTH} characters.",
        )
        repeated = st.text_input("Repeat the new password", type="password", key="password_repeat")
        submitted = st.form_submit_button("Change password", type="primary", key="password_submit")
    if not submitted:
        return
    try:
        auth.change_password(database(), user.id, new, repeated, current_password=current)
    except auth.PasswordChangeError as error:
        st.error(str(error))
        return
    session.set_notice("Your password was changed.")
    st.rerun()
