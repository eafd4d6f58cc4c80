"""Acceptance on the real 2024-2025 files: numbers checked against independent computations.

The expected values here are computed from the raw CSVs with pandas, not through the loader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.backtest.data.load import load_market
from actors.backtest.simulator import Simulator
from tests.unit.test_backtest_strategies import mode

BTC_PERP = "binance_BTCUSDT_perp_1h_2024-01-01_2025-09-30.csv.gz"
BTC_SPOT = "binance_BTCUSDT_1h_2024-01-01_2025-09-30.csv.gz"
BTC_FUNDING = "binance_BTCUSDT_funding_rates_2024-01-01_2025-09-30.csv.gz"
USDT_AAVE = "aave_v3_aave-v3-ethereum_USDT_rates_2024-01-01_2025-09-18.csv.gz"
WEETH_ORACLE = "weETH_ETH_oracle_2024-01-01_2025-09-18.csv.gz"


@pytest.fixture(scope="module")
def real(market_data_dir):
    return load_market(market_data_dir)


def raw(dir_, name, time_col="timestamp"):
    df = pd.read_csv(dir_ / name, comment="#")
    df["t"] = pd.to_datetime(df[time_col], utc=True, format="ISO8601")
    return df.set_index("t").sort_index()


def test_constant_hedge_funding_equals_a_vectorised_computation(market_data_dir, real):
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2025-09-25", tz="UTC")
    cfg = mode("btc_basis", "strategy.rebalance=false")
    res = Simulator(cfg, real, "2024-01-01", "2025-09-25").run()

    perp = raw(market_data_dir, BTC_PERP)["open"]
    spot = raw(market_data_dir, BTC_SPOT)["open"]
    rates = raw(market_data_dir, BTC_FUNDING, "funding_timestamp")["funding_rate"]
    # short size from the documented sizing rule at the first instant
    f, m, capital = cfg.strategy.fee_rate, cfg.thresholds.target_margin_ratio, cfg.initial_capital
    qty = capital / (spot[start] * (1 + f) + perp[start] * (m + f))
    # the mark at each settlement: the perp price then, carried over the 23 h gaps
    hourly = perp.reindex(pd.date_range(perp.index[0], perp.index[-1], freq="1h")).ffill(limit=24)
    settle = rates[(rates.index > start) & (rates.index <= end)]
    expected = float((qty * hourly.reindex(settle.index).to_numpy() * settle.to_numpy()).sum())

    assert res.attribution["funding"] == pytest.approx(expected, rel=1e-9)
    assert res.trades == 4  # a constant hedge: nothing traded after the open


def test_pure_lending_return_is_the_liquidity_index_ratio(market_data_dir, real):
    res = Simulator(mode("pure_lending_usdt"), real, "2024-01-01", "2025-09-01").run()
    idx = raw(market_data_dir, USDT_AAVE, "targetDate")["liquidityIndex"]
    ratio = idx[pd.Timestamp("2025-09-01", tz="UTC")] / idx[pd.Timestamp("2024-01-01", tz="UTC")]
    assert res.final_equity / res.initial_equity == pytest.approx(ratio, rel=1e-12)


def test_eth_staking_return_in_eth_is_the_weeth_rate_ratio(market_data_dir, real):
    res = Simulator(mode("eth_staking_only"), real, "2024-05-13", "2025-09-18").run()
    rate = raw(market_data_dir, WEETH_ORACLE)["oracle_price_eth"]
    ratio = rate[pd.Timestamp("2025-09-18", tz="UTC")] / rate[pd.Timestamp("2024-05-13", tz="UTC")]
    assert res.share_class == "ETH"
    assert res.final_equity / res.initial_equity == pytest.approx(ratio, rel=1e-12)


@pytest.fixture(scope="module")
def year_2024(real):
    out = {}
    for name in ("pure_lending_usdt", "eth_staking_only", "btc_basis", "eth_basis",
                 "usdt_eth_staking_hedged_simple", "usdt_eth_staking_hedged_leveraged"):
        start = "2024-05-13" if "staking" in name else "2024-01-01"  # weETH data starts then
        out[name] = Simulator(mode(name), real, start, "2025-01-01").run()
    return out


@pytest.mark.parametrize("name,lo,hi", [
    ("pure_lending_usdt", 0.03, 0.08),
    ("eth_staking_only", 0.02, 0.035),
    ("btc_basis", 0.06, 0.10),  # on equity: ~2/3 of the ~12% funding on the hedged notional
    ("eth_basis", 0.06, 0.11),
    ("usdt_eth_staking_hedged_simple", 0.045, 0.09),
])
def test_2024_apy_is_in_the_sanity_range(year_2024, name, lo, hi):
    assert lo <= year_2024[name].metrics()["apy"] <= hi


def test_2024_btc_funding_on_the_hedged_notional_is_about_12_percent(year_2024):
    assert 0.10 <= year_2024["btc_basis"].metrics()["funding_yield_on_notional"] <= 0.14


def test_2024_leveraged_staking_beats_simple_with_a_safe_health_factor(year_2024):
    lev = year_2024["usdt_eth_staking_hedged_leveraged"]
    simple = year_2024["usdt_eth_staking_hedged_simple"]
    assert lev.metrics()["apy"] > simple.metrics()["apy"]
    assert 1.1 < lev.min_health_factor < 2.0
    assert lev.attribution["borrow"] < 0 < lev.attribution["staking"]


def test_2024_every_mode_attribution_sums_to_the_equity_change(year_2024):
    for res in year_2024.values():
        total = sum(res.attribution.values())
        assert total == pytest.approx(res.final_equity - res.initial_equity,
                                      abs=1e-9 * res.initial_equity)
        assert res.recon_mismatches == 0 and res.margin_breaches == 0
        assert np.isfinite(res.equity).all()
