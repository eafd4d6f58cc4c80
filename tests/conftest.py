"""Shared pytest setup: Ray usage stats off, paths to the real data shipped with the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from factory.data import CCXT_RECORDED_DIR, MARKET_DIR
from tests.skipguard import (  # noqa: F401 - hooks: an unlisted skip fails the run
    pytest_make_collect_report,
    pytest_runtest_makereport,
)

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# Property tests: `make test` (and CI) replays the same examples every run, so a red run is a
# change in the code, not a new draw; `make fuzz` explores fresh random examples.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("BASIS_HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def market_data_dir() -> Path:
    """The real market data shipped in the repository (factory/data/market)."""
    assert MARKET_DIR.is_dir(), f"shipped market data missing at {MARKET_DIR}"
    return MARKET_DIR


@pytest.fixture(scope="session")
def ccxt_recorded_dir() -> Path:
    """Recorded exchange responses with ccxt's parsed results (factory/data/ccxt-recorded)."""
    assert CCXT_RECORDED_DIR.is_dir(), f"shipped recorded responses missing at {CCXT_RECORDED_DIR}"
    return CCXT_RECORDED_DIR


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the mutation harness's session totals (tests/mutation.py) when any harness ran."""
    from tests.mutation import TALLY

    if TALLY.runs:
        terminalreporter.write_sep("-", "mutation harness")
        for outcome in TALLY.runs:
            terminalreporter.write_line(outcome.line())
        terminalreporter.write_line(TALLY.line())
