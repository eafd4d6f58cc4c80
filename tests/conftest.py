"""Shared pytest setup: Ray usage stats off, paths to the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("BASIS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def market_data_dir() -> Path:
    """The real market data beside the project; tests needing it skip when it is absent."""
    d = SHARED_DATA / "market"
    if not d.is_dir():
        pytest.skip(f"real market data not found at {d} (set BASIS_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def ccxt_recorded_dir() -> Path:
    """Recorded exchange responses with ccxt's parsed results; skip when absent."""
    d = SHARED_DATA / "ccxt-recorded"
    if not d.is_dir():
        pytest.skip(f"recorded ccxt responses not found at {d} (set BASIS_SHARED_DATA)")
    return d
