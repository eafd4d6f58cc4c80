"""``basis backtest CONFIG``: one scenario on market history, in this process (no Ray).

Also the pieces ``basis sweep`` shares: `resolve_mode`, the data-policy flags and the market
loading under them. Bad input (missing file, bad date range, unknown ``--set`` path,
unreadable data) ends with one ``error:`` line on stderr and exit status 2, never a traceback.

The backtest modules (pandas, numpy, the simulator) are imported inside the commands, so
``basis --help`` and the live commands, which load every command module, never pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from actors.cli.exits import EXIT_OK
from factory.config import ModeConfig, config_dir, load_mode, with_overrides

__all__ = [
    "FILL_LIMIT_H",
    "add_policy_flags",
    "cmd_backtest",
    "load_market_for",
    "register",
    "resolve_mode",
]

#: Longest price gap (hours) a backtest forward-fills unless ``--fill-limit-h`` says otherwise.
FILL_LIMIT_H = 24


def resolve_mode(text: str) -> ModeConfig:
    """Load a mode from a path, or by name from configs/modes/ (``btc_basis``)."""
    path = Path(text)
    if not path.exists() and path.suffix == "" and "/" not in text:
        named = config_dir() / "modes" / f"{text}.yaml"
        if named.exists():
            path = named
    return load_mode(path)


def load_market_for(args: argparse.Namespace, data: str | Path | None,
                    fill_limit_h: int = FILL_LIMIT_H):
    """Load the market (the shipped data when ``data`` is None) with the command's policy.

    Args:
        args: the parsed flags of `add_policy_flags`.
        data: a market directory or ``synthetic[:SEED]``; None for the shipped data.
        fill_limit_h: longest price gap (hours) to forward-fill.

    Returns:
        the loaded `MarketData` with the gap, plausibility and fallback policy of the flags.
    """
    from dataclasses import replace

    from actors.backtest.data.load import load_market
    from factory.data import MARKET_DIR

    market = load_market(data or MARKET_DIR, fill_limit_h=fill_limit_h)
    policy = replace(market.policy, allow_gaps=args.allow_gaps,
                     allow_implausible=args.allow_implausible_rates)
    if args.fallback_venue:
        policy = replace(policy, fallback_venues=tuple(args.fallback_venue),
                         fallback_origin="--fallback-venue")
    market.policy = policy
    return market


def cmd_backtest(args: argparse.Namespace) -> int:
    """``basis backtest CONFIG [--data DIR]``: run one scenario in this process."""
    from actors.backtest.data.quality import quality_line
    from actors.backtest.simulator import Simulator

    config = resolve_mode(args.config)
    if args.set:
        config = with_overrides(config, args.set)
    market = load_market_for(args, args.data, args.fill_limit_h)
    result = Simulator(config, market, args.start, args.end).run()
    summary = result.summary()
    line = quality_line(result.data_quality)
    if args.equity_csv:
        import pandas as pd

        pd.DataFrame({"timestamp": result.times, "equity": result.equity}).to_csv(
            args.equity_csv, index=False, float_format="%.17g"
        )
    if args.json:
        if line:
            print(line, file=sys.stderr)
        print(json.dumps(summary, allow_nan=False))
        return EXIT_OK
    a = summary["attribution"]
    print(f"{summary['mode']}  {summary['start']} .. {summary['end']}  ({summary['steps']} steps)")
    print(f"  equity {summary['initial_equity']:,.2f} -> {summary['final_equity']:,.2f} "
          f"{summary['share_class']}   APY {summary['apy']:.4%}   "
          f"max DD {summary['max_drawdown']:.3%}")
    print("  PnL   " + "  ".join(f"{k} {v:,.2f}" for k, v in a.items()))
    for key in ("min_health_factor", "min_margin_ratio", "funding_yield_on_notional"):
        if summary.get(key) is not None:
            print(f"  {key} {summary[key]:.4f}")
    print(f"  fingerprint {summary['fingerprint']}")
    if line:
        print(f"  {line}")
    return EXIT_OK


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    """Add the data-policy flags shared by ``backtest`` and ``sweep``."""
    parser.add_argument("--allow-gaps", action="store_true",
                        help="run over missing funding settlements, unusable rates and "
                        "conflicting duplicates, booked as unknown (default: refuse)")
    parser.add_argument("--allow-implausible-rates", action="store_true",
                        help="accept funding rates beyond the plausibility bounds")
    parser.add_argument("--fallback-venue", action="append", default=[], metavar="VENUE",
                        help="a venue whose series stand in for legs on venues the data lacks "
                        "(repeatable, in order; overrides the data's manifest.yaml)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``backtest`` to the basis CLI."""
    bt = sub.add_parser("backtest", help="run one backtest scenario on market history")
    bt.add_argument("config", help="mode YAML file or a mode name (btc_basis)")
    bt.add_argument("--data",
                    help="market directory (docs/DATA.md layout or raw files) or "
                    "synthetic[:SEED] (default: the data shipped in factory/data/market)")
    bt.add_argument("--start", help="first instant (YYYY-MM-DD or ISO, UTC)")
    bt.add_argument("--end", help="last instant (inclusive)")
    bt.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a mode field by dotted path (repeatable)")
    bt.add_argument("--json", action="store_true", help="print one JSON object")
    bt.add_argument("--equity-csv", metavar="FILE", help="also write the equity curve")
    bt.add_argument("--fill-limit-h", type=int, default=FILL_LIMIT_H,
                    help=f"longest price gap (hours) to forward-fill (default {FILL_LIMIT_H})")
    add_policy_flags(bt)
    bt.set_defaults(func=cmd_backtest)
