"""Admin page (leads only): create users, reset passwords, change roles, deactivate accounts.

New accounts and reset passwords get a generated one-time password, shown once here; the user
must choose their own at the next sign-in. A lead cannot demote or deactivate their own account,
so a project never loses its last way in by a slip of the mouse.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from workbench.store import users
from workbench.store.schema import ROLES, User
from workbench.ui import auth, session
from workbench.ui.db import database

ONE_TIME_KEY = "admin_one_time_password"  # (username, password) shown once, then forgotten
OWN_ACCOUNT = "You cannot demote or deactivate your own account; ask another lead."


def _user_table(people: list[User]) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "username": person.username,
                    "role": person.role,
                    "active": person.active,
                    "must change password": person.must_change_password,
                    "last sign-in": (
                        "never" if person.last_login_at is None
                        else person.last_login_at.strftime("%Y-%m-%d %H:%M UTC")
                    ),
                }
                for person in people
            ]
        ),
        hide_index=True,
    )


def _change(
    lead: auth.SignedInUser, username: str, change: Callable[[Session, User], None], notice: str
) -> None:
    try:
        with database().write() as db_session:
            person = users.get_user(db_session, username)
            if person is None:
                raise users.UserError(f"user {username!r} no longer exists")
            change(db_session, person)
    except users.UserError as error:
        st.error(str(error))
        return
    session.set_notice(notice)
    st.rerun()


def _one_time_password(actor: str) -> Callable[[Session, User], None]:
    def reset(db_session: Session, person: User) -> None:
        password = users.generate_password()
        users.set_password(db_session, person, password, must_change=True, actor=actor)
        st.session_state[ONE_TIME_KEY] = (person.username, password)

    return reset


def _create_form(lead: auth.SignedInUser) -> None:
    st.subheader("Create a user")
    with st.form("create_user", clear_on_submit=True):
        username = st.text_input("Username", key="admin_new_username")
        role = st.selectbox("Role", ROLES, key="admin_new_role")
        if not st.form_submit_button("Create", key="admin_create"):
            return
    password = users.generate_password()
    try:
        with database().write() as db_session:
            users.add_user(
                db_session, username.strip(), password, role, must_change_password=True, actor=lead.username
            )
    except users.UserError as error:
        st.error(str(error))
        return
    st.session_state[ONE_TIME_KEY] = (username.strip(), password)
    session.set_notice(f"User {username.strip()} was created.")
    st.rerun()


def _manage(lead: auth.SignedInUser, people: list[User]) -> None:
    st.subheader("Change a user")
    by_name = {person.username: person for person in people}
    username = st.selectbox("User", list(by_name), key="admin_user")
    person = by_name[username]
    own = person.id == lead.id
    reset, role_column, active = st.columns(3)
    if reset.button("Reset password", key="admin_reset"):
        _change(lead, username, _one_time_password(lead.username), f"{username} has a new one-time password.")
    new_role = role_column.selectbox("Role", ROLES, index=ROLES.index(person.role), key="admin_role")
    if role_column.button("Change role", key="admin_change_role", disabled=new_role == person.role):
        if own:
            st.error(OWN_ACCOUNT)
        else:
            _change(
                lead,
                username,
                lambda s, p: users.set_role(s, p, new_role, actor=lead.username),
                f"{username} is now {new_role}.",
            )
    toggle = "Deactivate" if person.active else "Reactivate"
    if active.button(toggle, key="admin_toggle_active"):
        if own:
            st.error(OWN_ACCOUNT)
        else:
            _change(
                lead,
                username,
                lambda s, p: users.set_active(s, p, not person.active, actor=lead.username),
                f"{username} was {'deactivated' if person.active else 'reactivated'}.",
            )


def render() -> None:
    lead = session.require_user("lead")
    st.title("Users")
    if shown := st.session_state.pop(ONE_TIME_KEY, None):
        st.warning(f"One-time password for {shown[0]} (shown only now; they choose their own at sign-in):")
        st.code(shown[1], language=None)
    with database().read() as db_session:
        people = users.list_users(db_session)
    _user_table(people)
    _create_form(lead)
    _manage(lead, people)


# Streamlit runs a page script with __name__ == "__main__"; importing it (tests) renders nothing.
if __name__ == "__main__":
    render()
