"""Entry script: ``streamlit run workbench/ui/app.py``.

Every run re-reads the signed-in user from the database and registers with ``st.navigation``
only the pages that user may see (``auth.pages_for_user``): a page that is not registered cannot
be reached, not even by its URL. A user deactivated meanwhile is signed out at once. The role's
home (``auth.home_page``: Label for annotators, Overview for leads) is the default page.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import workbench  # noqa: F401
except ImportError:
    # ``streamlit run`` puts only this script's folder on sys.path; the package lives two up.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import streamlit as st

from workbench.ui import auth, session
from workbench.ui.markdown import escape_markdown

def _sidebar(user: auth.SignedInUser) -> None:
    st.sidebar.caption(f"Signed in as **{escape_markdown(user.username)}** ({user.role})")
    st.sidebar.button("Sign out", key="sign_out", on_click=session.end)


def main() -> None:
    st.set_page_config(page_title="Workbench", page_icon=":material/fact_check:", layout="wide")
    user = session.current_user()
    if user is None and session.signed_in_id() is not None:
        session.end(session.DEACTIVATED_NOTICE)
    specs = auth.pages_for_user(user)
    home = auth.home_page(user)
    navigation = st.navigation(
        [st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec == home) for spec in specs],
        # Sign-in and the forced password change are single pages: no menu to show.
        position="sidebar" if len(specs) > 1 else "hidden",
    )
    if user is not None:
        _sidebar(user)
    session.show_notice()
    navigation.run()


main()
