"""Projects with items, inserted straight through the ORM (no import code needed)."""

from __future__ import annotations

import pytest

from tests.fakes import MakeProject, add_project
from workbench.store.engine import Database


@pytest.fixture
def make_project(db: Database) -> MakeProject:
    """``add_project`` on the ``db`` fixture."""
    return lambda name, texts, **kwargs: add_project(db, name, texts, **kwargs)
