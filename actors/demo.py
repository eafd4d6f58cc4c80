"""``basis demo``: the main job on the embedded default (a local Ray).

Today it runs the engine in backtest mode on a sample btc_basis book and prints the portfolio
snapshot; the live sandbox demo builds on the same path.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from factory.config import config_dir, load_mode, with_overrides

__all__ = ["register", "run_demo"]

SAMPLE_ALLOCATION = {
    "binance:BaseToken:BTC": 1.0,
    "binance:BaseToken:USDT": 40_000.0,
    "binance:Perp:BTCUSDT": -0.4,
    "bybit:BaseToken:USDT": 30_000.0,
    "bybit:Perp:BTCUSDT": -0.3,
    "okx:BaseToken:USDT": 30_000.0,
    "okx:Perp:BTCUSDT": -0.3,
}


def render(snapshot) -> None:
    """Print a portfolio snapshot."""
    from rich.console import Console

    from actors.view import render_snapshot

    Console().print(render_snapshot(snapshot))


def run_demo(args: argparse.Namespace) -> int:
    """Start a local Ray, build the engine on a sample book, print one snapshot."""
    import ray

    from actors.engine import EventDrivenStrategyEngine

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    mode = load_mode(Path(config_dir()) / "modes" / "btc_basis.yaml")
    mode = with_overrides(mode, {"allocation": SAMPLE_ALLOCATION,
                                 "venues": ["binance", "bybit", "okx"]})
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        engine = EventDrivenStrategyEngine(mode, "backtest")
        try:
            render(engine.get_real_positions("2024-06-01T00:00:00Z"))
        finally:
            engine.shutdown()
    finally:
        if started:
            ray.shutdown()
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the monitor on the embedded default (local Ray)")
    p.set_defaults(func=run_demo)
