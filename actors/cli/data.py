"""``basis data``: market data for backtests: ``fetch`` (via ccxt), ``synth``, ``describe``.

The backtest modules (pandas, numpy, the simulator) are imported inside the commands, so
``basis --help`` and the live commands, which load every command module, never pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from actors.cli.exits import EXIT_OK

__all__ = ["cmd_data_describe", "cmd_data_fetch", "cmd_data_synth", "register"]


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """``basis data fetch``: download spot, perp and funding history via ccxt."""
    from actors.backtest.data.fetch import fetch_to_dir

    files = fetch_to_dir(args.exchange, args.base, args.start, args.end, Path(args.out),
                         args.format, args.api_base_url,
                         progress=lambda m: print(f"fetching {m}", file=sys.stderr))
    for f in files:
        print(f)
    return EXIT_OK


def cmd_data_synth(args: argparse.Namespace) -> int:
    """``basis data synth``: write the seeded synthetic market in the documented layout."""
    from actors.backtest.data.load import write_schema_dir
    from actors.backtest.data.synthetic import synthetic_tables

    for f in write_schema_dir(synthetic_tables(args.seed, args.start, args.days), Path(args.out),
                              args.format):
        print(f)
    return EXIT_OK


def cmd_data_describe(args: argparse.Namespace) -> int:
    """``basis data describe DIR``: coverage per column, gaps and loader notes, as JSON."""
    from actors.backtest.data.load import load_market
    from factory.data import MARKET_DIR

    print(json.dumps(load_market(args.data or MARKET_DIR).describe(), indent=1))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data fetch``, ``data synth`` and ``data describe`` to the basis CLI."""
    data = sub.add_parser("data", help="market data: fetch, synth, describe")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True
    fe = dsub.add_parser("fetch", help="download CEX spot, perp and funding history via ccxt")
    fe.add_argument("--exchange", default="binance", help="ccxt id (binance, bybit, okx)")
    fe.add_argument("--base", action="append", required=True, help="base asset (repeatable): BTC")
    fe.add_argument("--start", required=True)
    fe.add_argument("--end", required=True)
    fe.add_argument("--out", required=True, help="directory to write (docs/DATA.md layout)")
    fe.add_argument("--format", choices=("csv", "parquet"), default="csv")
    fe.add_argument("--api-base-url", help="re-root the exchange's URLs (proxy, testnet, mock)")
    fe.set_defaults(func=cmd_data_fetch)
    sy = dsub.add_parser("synth", help="write the seeded synthetic market (offline demo)")
    sy.add_argument("--out", required=True)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--start", default="2024-01-01")
    sy.add_argument("--days", type=int, default=366)
    sy.add_argument("--format", choices=("csv", "parquet"), default="csv")
    sy.set_defaults(func=cmd_data_synth)
    de = dsub.add_parser("describe", help="print coverage, gaps and notes of a market directory")
    de.add_argument("data", nargs="?",
                    help="market directory (default: the data shipped in factory/data/market)")
    de.set_defaults(func=cmd_data_describe)
