"""Review page (leads only). BEING BUILT in session 2: replace this whole file."""

from __future__ import annotations

import streamlit as st

from workbench.ui import session

session.require_user("lead")
st.title("Review")
