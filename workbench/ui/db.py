"""The app's database: one engine per URL and server process, migrated once when first used."""

from __future__ import annotations

import streamlit as st

from workbench.config import Settings
from workbench.store import migrate
from workbench.store.engine import Database


@st.cache_resource(show_spinner="Preparing the database...")
def database_for(url: str) -> Database:
    """A migrated ``Database`` for ``url``, shared by every session of this server process.

    Keyed by URL so that tests pointing ``WORKBENCH_DB_URL`` at different files never share an
    engine. Migrating here lets the app start on a fresh, empty database.
    """
    db = Database(url)
    migrate.upgrade(db)
    return db


def database() -> Database:
    """The database named by the environment (``WORKBENCH_DB_URL``, else ``db/workbench.sqlite``)."""
    return database_for(Settings.from_env().db_url)
