"""Page scripts registered with ``st.navigation`` (see ``workbench.ui.auth.PAGES``)."""
