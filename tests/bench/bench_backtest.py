"""Backtest speed: steps/s through the full monitor path, and a vectorised numpy reference.

Runs btc_basis over the whole data set (the longest window every BTC column covers), once with
the default rebalancing and once as a constant hedge, and compares the constant-hedge equity
curve with the same curve computed in a few numpy operations. Prints one JSON object::

    .venv/bin/python -m tests.bench.bench_backtest [--data DIR] [--repeat 3]

DIR defaults to the real data shipped in factory/data/market.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from actors.backtest.data.load import load_market
from actors.backtest.data.market import MarketData, iso
from actors.backtest.simulator import Simulator
from factory.config import ModeConfig, config_dir, load_mode, with_overrides
from factory.data import MARKET_DIR

REPO = Path(__file__).resolve().parents[2]


def default_data() -> str:
    return str(MARKET_DIR)


def reference_curve(market: MarketData, cfg: ModeConfig, i0: int, i1: int) -> np.ndarray:
    """The constant-hedge btc_basis equity curve, vectorised (same rules as the simulator)."""
    sl = slice(i0, i1 + 1)
    spot, perp = market.columns["spot.BTC"][sl], market.columns["perp.BTC"][sl]
    rate = np.nan_to_num(market.columns["funding.BTC"][sl])
    stale = market.stale_mask(["spot.BTC", "perp.BTC"], i0, i1)
    held = np.maximum.accumulate(np.where(stale, 0, np.arange(len(spot))))
    s, m = spot[held], perp[held]
    f, mr, capital = cfg.strategy.fee_rate, cfg.thresholds.target_margin_ratio, cfg.initial_capital
    qty = capital / (s[0] * (1 + f) + m[0] * (mr + f))
    cost = qty * s[0] / (1 - f)
    bought = (cost - cost * f) / s[0]
    legs = np.array([-bought * w for w in cfg.hedge.splits.values()])
    cash0 = capital - cost - np.abs(legs).sum() * m[0] * f
    funding = -legs.sum() * m * rate
    funding[0] = 0.0  # nothing is held before the first step
    return cash0 + np.cumsum(funding) + bought * s + legs.sum() * (m - m[0])


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    market = load_market(args.data)
    base = load_mode(config_dir() / "modes" / "btc_basis.yaml")
    constant = with_overrides(base, ["strategy.rebalance=false"])
    out: dict = {"data": args.data, "python": platform.python_version(),
                 "cpu": platform.processor() or platform.machine(), "scenarios": {}}
    for label, cfg in (("btc_basis", base), ("btc_basis_constant_hedge", constant)):
        sim_s, res = timed(lambda c=cfg: Simulator(c, market).run(), args.repeat)
        out["scenarios"][label] = {"start": iso(res.times[0]), "end": iso(res.times[-1]),
                                   "steps": res.steps, "seconds": round(sim_s, 4),
                                   "steps_per_s": round(res.steps / sim_s, 1)}
    sim = Simulator(constant, market)
    res = sim.run()
    ref_s, ref = timed(lambda: reference_curve(market, constant, sim.i0, sim.i1),
                       max(5, args.repeat))
    diff = float(np.max(np.abs(res.equity - ref) / ref))
    out["numpy_reference"] = {
        "seconds": round(ref_s, 6),
        "max_rel_diff": diff,
        "slowdown_vs_numpy": round(
            out["scenarios"]["btc_basis_constant_hedge"]["seconds"] / ref_s, 1),
    }
    print(json.dumps(out, indent=1))
    if diff > 1e-9:
        raise SystemExit(f"the simulator's curve differs from the numpy reference by {diff:.3g}")
    return out


if __name__ == "__main__":
    main()
