"""Fixtures of the sampler tests."""

from __future__ import annotations

import pytest

from tests.samplers.pools import Pool, small_pool


@pytest.fixture
def pool() -> Pool:
    return small_pool()
