"""The simulator drives the position interfaces and the PositionMonitor as live does."""

from __future__ import annotations

import numpy as np
import pytest

from actors.backtest.accounting import COMPONENTS
from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.simulator import Simulator
from factory.positions import PositionType
from tests.unit.test_backtest_strategies import mode

MODES = ["pure_lending_usdt", "eth_staking_only", "btc_basis", "eth_basis",
         "usdt_eth_staking_hedged_simple", "usdt_eth_staking_hedged_leveraged"]


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=11, days=90)


def equity_from_snapshot(snap, tick, share_class):
    """Value what the venues report (not the book): amounts x prices + perp uPnL."""
    total = 0.0
    for vs in snap.venues.values():
        for key, pos in vs.positions.items():
            if key.type == PositionType.Perp:
                total += pos.unrealized_pnl * tick.usdt_price
                continue
            token = key.symbol
            if key.type == PositionType.aToken:
                token = token[1:]
            elif key.type == PositionType.debtToken:
                token = token[4:]
            value = pos.amount * tick.unit(token)
            total += -value if key.type == PositionType.debtToken else value
    return total


@pytest.mark.parametrize("name", MODES)
def test_every_mode_runs_through_the_monitor_and_the_venues_show_the_book(market, name):
    sim = Simulator(mode(name), market, "2024-01-01", "2024-03-01")
    res = sim.run()
    snap, book = sim.last_snapshot, sim.book
    assert res.steps == 60 * 24 + 1 and snap.execution_mode == "backtest" and snap.complete
    held = {k: v for k, v in book.amounts.items() if v != 0.0}
    assert set(snap.positions) == set(held)
    for key, amount in held.items():
        assert snap.positions[key] == pytest.approx(amount, rel=1e-12, abs=1e-12)
    assert res.recon_checks > 50 and res.recon_mismatches == 0
    assert equity_from_snapshot(snap, book.tick, res.share_class) == pytest.approx(
        res.final_equity, rel=1e-9)
    assert sum(res.attribution[c] for c in COMPONENTS) == pytest.approx(
        res.final_equity - res.initial_equity, rel=1e-9, abs=1e-9 * res.initial_equity)
    assert res.identity_gap < 1e-9


def test_a_run_is_deterministic_and_fingerprinted(market):
    a = Simulator(mode("eth_basis"), market, "2024-01-01", "2024-02-01").run()
    b = Simulator(mode("eth_basis"), market, "2024-01-01", "2024-02-01").run()
    c = Simulator(mode("eth_basis", "strategy.rebalance_interval_h=8"), market,
                  "2024-01-01", "2024-02-01").run()
    assert a.fingerprint == b.fingerprint and np.array_equal(a.equity, b.equity)
    assert a.fingerprint != c.fingerprint
    assert len(a.fingerprint) == 64


def test_gap_filled_steps_hold_prices_and_never_trade(market):
    sim = Simulator(mode("btc_basis"), market, "2024-02-01", "2024-03-01")
    ticks, stale = sim.ticks(), sim.stale()
    assert sum(stale) == 23  # the synthetic market misses 23 hours on day 41
    j = stale.index(True)
    assert all(ticks[k].usd["BTC"] == ticks[j - 1].usd["BTC"] for k in range(j, j + 23))
    assert all(ticks[k].marks["BTC"] == ticks[j - 1].marks["BTC"] for k in range(j, j + 23))
    res = sim.run()
    assert res.stale_steps == 23


def test_summary_has_the_documented_keys(market):
    s = Simulator(mode("usdt_eth_staking_hedged_leveraged"), market, "2024-01-01",
                  "2024-01-15").run().summary()
    for key in ("start", "end", "initial_equity", "final_equity", "apy", "max_drawdown",
                "attribution", "fingerprint", "volatility", "sharpe", "funding_share",
                "min_health_factor", "min_margin_ratio"):
        assert key in s
    assert set(s["attribution"]) == {"funding", "staking", "lending", "borrow", "fees", "price"}
    assert s["min_health_factor"] > 1.0
