"""A seeded synthetic market in the documented schema, so the demo and tests run offline.

Correlated BTC/ETH random walks (lognormal), perps at a mean-reverting basis to spot, 8-hourly
funding around ~11%/yr, daily AAVE indices with their rates, a weETH rate drifting ~2.8%/yr.
Like the real Binance files it misses 23 consecutive hours of spot and perp prices about every
41 days, so gap handling is exercised. Same seed, same market, on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from actors.backtest.data.market import HOUR_S, MarketData, parse_instant

__all__ = ["synthetic_market", "synthetic_tables"]


def _ou(rng: np.random.Generator, n: int, mean: float, sd: float, kappa: float) -> np.ndarray:
    x = np.empty(n)
    x[0] = mean
    shocks = rng.normal(0.0, sd * np.sqrt(2 * kappa), n)
    for i in range(1, n):
        x[i] = x[i - 1] + kappa * (mean - x[i - 1]) + shocks[i]
    return x


def synthetic_tables(
    seed: int = 0, start: str = "2024-01-01", days: int = 366, gap_every_days: int = 41
) -> dict[tuple[str, str], Any]:
    """Return schema tables ``{(kind, name): DataFrame}`` (see `actors.backtest.data.load`)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t0 = parse_instant(start)
    if t0 is None:
        raise ValueError("synthetic data needs a start date")
    n = days * 24 + 1
    ts = t0 + HOUR_S * np.arange(n, dtype=np.int64)
    dt = 1.0 / (365 * 24)
    z1, z2 = rng.normal(size=(2, n))
    z2 = 0.8 * z1 + 0.6 * z2
    btc = 42_000.0 * np.exp(np.cumsum(0.55 * np.sqrt(dt) * z1 - 0.5 * 0.55**2 * dt))
    eth = 2_300.0 * np.exp(np.cumsum(0.65 * np.sqrt(dt) * z2 - 0.5 * 0.65**2 * dt))
    btc[0], eth[0] = 42_000.0, 2_300.0
    basis_btc = _ou(rng, n, 3e-4, 4e-4, 0.05)
    basis_eth = _ou(rng, n, 3e-4, 5e-4, 0.05)
    keep = np.ones(n, dtype=bool)
    for d in range(gap_every_days, days, gap_every_days):  # 23 missing hours, like Binance
        keep[d * 24 + 1 : d * 24 + 24] = False
    tables: dict[tuple[str, str], Any] = {}
    for name, spot, basis in (("BTC", btc, basis_btc), ("ETH", eth, basis_eth)):
        tables[("spot", name)] = pd.DataFrame({"timestamp": ts[keep], "price": spot[keep]})
        tables[("perp", name)] = pd.DataFrame(
            {"timestamp": ts[keep], "mark": (spot * (1 + basis))[keep]}
        )
        f_ts = ts[::8]
        mean = 1.0e-4 if name == "BTC" else 0.9e-4
        tables[("funding", name)] = pd.DataFrame(
            {"timestamp": f_ts, "rate": _ou(rng, len(f_ts), mean, 1.2e-4, 0.1)}
        )
    d_ts = ts[::24]
    reserves = (("USDT", 0.05, 0.065), ("WETH", 0.018, 0.026), ("weETH", 0.0005, 0.01))
    for reserve, supply, borrow in reserves:
        s_rate = np.clip(_ou(rng, len(d_ts), supply, supply * 0.2, 0.2), 0.0, None)
        b_rate = np.clip(_ou(rng, len(d_ts), borrow, borrow * 0.2, 0.2), 0.0, None)
        days_f = 1.0 / 365
        li = np.concatenate(([1.02], 1.02 * np.cumprod(1 + s_rate[:-1] * days_f)))
        bi = np.concatenate(([1.03], 1.03 * np.cumprod((1 + b_rate[:-1] / 86400 / 365) ** 86400)))
        tables[("aave", reserve)] = pd.DataFrame(
            {"timestamp": d_ts, "liquidity_index": li, "variable_borrow_index": bi,
             "liquidity_rate": s_rate, "variable_borrow_rate": b_rate}
        )
    drift = 0.028 / (365 * 24)
    rate = 1.04 * np.exp(np.cumsum(np.full(n, drift) + rng.normal(0, 2e-6, n)))
    tables[("lst", "weETH")] = pd.DataFrame({"timestamp": ts, "rate": rate})
    return tables


def synthetic_market(seed: int = 0, start: str = "2024-01-01", days: int = 366) -> MarketData:
    """Return the synthetic market for ``seed`` aligned like loaded data."""
    from actors.backtest.data.tables import assemble

    return assemble(synthetic_tables(seed, start, days), f"synthetic:{seed}")
