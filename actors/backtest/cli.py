"""Backtest commands of the ``basis`` CLI: ``backtest``, ``sweep`` and ``data``.

`register` adds them to the main parser (factory.cli calls it); `main` runs them alone. Bad
input (missing file, bad date range, unknown ``--set`` path, unreadable data) ends with one
``error:`` line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from factory.config import ModeConfig, config_dir, load_mode, with_overrides
from factory.errors import ConfigError

__all__ = [
    "EXIT_BAD_INPUT",
    "cmd_backtest",
    "cmd_data_describe",
    "cmd_data_fetch",
    "cmd_data_synth",
    "cmd_sweep",
    "main",
    "register",
    "resolve_mode",
]

EXIT_BAD_INPUT = 2


def resolve_mode(text: str) -> ModeConfig:
    """Load a mode from a path, or by name from configs/modes/ (``btc_basis``)."""
    path = Path(text)
    if not path.exists() and path.suffix == "" and "/" not in text:
        named = config_dir() / "modes" / f"{text}.yaml"
        if named.exists():
            path = named
    return load_mode(path)


def _load(args: argparse.Namespace, data: str | Path | None, fill_limit_h: int = 24):
    """Load the market (the shipped data when ``data`` is None) with the command's policy."""
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
    market = _load(args, args.data, args.fill_limit_h)
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
        return 0
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
    return 0


def _progress_bar(total: int):
    """Return (callback, stop) drawing a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress("[bold]sweep", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(file=sys.stderr))
    task = progress.add_task("scenarios", total=total)
    progress.start()

    def update(done: int, n: int, result) -> None:
        progress.update(task, completed=done)
        if not progress.console.is_terminal:
            print(f"sweep: {done}/{n} scenarios done", file=sys.stderr, flush=True)

    return update, progress.stop


def _init_ray(address: str | None, verbose: bool = False) -> None:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``, probed with a bound), else start a
    new embedded local Ray on 127.0.0.1 (see `actors.ray_start`)."""
    from actors.ray_start import start_ray

    start_ray(address, verbose=verbose)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``basis sweep FILE``: fan the scenarios out over Ray and write table + report."""
    from actors.backtest.data.quality import quality_line
    from actors.backtest.report import write_sweep_outputs
    from actors.backtest.sweep import check_scenarios, expand, load_sweep, run_sweep

    path = Path(args.file)
    if args.actors is not None and args.actors < 1:
        raise ConfigError(f"--actors {args.actors}: needs a whole number of actors >= 1 "
                          "(or leave it out: one per cluster CPU)")
    cfg = load_sweep(path)
    out = Path(args.out or Path("var") / "sweeps" / cfg.name)
    _check_writable(out)
    market = _load(args, args.data or cfg.data)
    scenarios = expand(cfg, base=path.parent, source=str(path))
    check_scenarios(scenarios, market)  # bad data is refused before Ray starts
    _init_ray(args.address, getattr(args, "verbose", False))
    update, stop = _progress_bar(len(scenarios)) if not args.quiet else (None, lambda: None)
    try:
        result = run_sweep(scenarios, market, actors=args.actors, progress=update,
                           reconcile_every_h=cfg.reconcile_every_h)
    finally:
        stop()
    paths = write_sweep_outputs(result, out, title=cfg.name)
    lines = {r.scenario.get("id", ""): quality_line(r.data_quality)
             for r in result.results if r is not None}
    flagged = {k: v for k, v in lines.items() if v}
    if flagged:
        first = next(iter(flagged))
        print(f"sweep {len(flagged)}/{len(lines)} scenario(s) with data-quality counts "
              f"(results.csv dq.* columns); {first}: {flagged[first]}", file=sys.stderr)
    print(json.dumps({
        "scenarios": len(scenarios), "completed": sum(r is not None for r in result.results),
        "errors": result.errors, "reruns": result.reruns, "actors": result.actors,
        "wall_s": round(result.wall_s, 3), "out": str(out),
        "files": {k: str(v) for k, v in paths.items()},
    }))
    return 1 if result.errors else 0


def _check_writable(out: Path) -> None:
    """Refuse an output directory that cannot be created or written, before any work starts.

    Nothing is created here: a run refused later (bad data, an unreachable cluster) leaves no
    empty directory behind. An existing directory gets a write probe (a temporary file); a
    missing one needs its nearest existing parent to be a directory this user may write.
    """
    import tempfile

    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"--out {out}: {probe} is a file, not a directory")
    if probe != out:
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out}: cannot write there (permission denied in {probe})")
        return
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _add_policy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-gaps", action="store_true",
                        help="run over missing funding settlements, unusable rates and "
                        "conflicting duplicates, booked as unknown (default: refuse)")
    parser.add_argument("--allow-implausible-rates", action="store_true",
                        help="accept funding rates beyond the plausibility bounds")
    parser.add_argument("--fallback-venue", action="append", default=[], metavar="VENUE",
                        help="a venue whose series stand in for legs on venues the data lacks "
                        "(repeatable, in order; overrides the data's manifest.yaml)")


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """``basis data fetch``: download spot, perp and funding history via ccxt."""
    from actors.backtest.data.fetch import fetch_to_dir

    files = fetch_to_dir(args.exchange, args.base, args.start, args.end, Path(args.out),
                         args.format, args.api_base_url,
                         progress=lambda m: print(f"fetching {m}", file=sys.stderr))
    for f in files:
        print(f)
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    """``basis data synth``: write the seeded synthetic market in the documented layout."""
    from actors.backtest.data.load import write_schema_dir
    from actors.backtest.data.synthetic import synthetic_tables

    for f in write_schema_dir(synthetic_tables(args.seed, args.start, args.days), Path(args.out),
                              args.format):
        print(f)
    return 0


def cmd_data_describe(args: argparse.Namespace) -> int:
    """``basis data describe DIR``: coverage per column, gaps and loader notes, as JSON."""
    from actors.backtest.data.load import load_market
    from factory.data import MARKET_DIR

    print(json.dumps(load_market(args.data or MARKET_DIR).describe(), indent=1))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``backtest``, ``sweep`` and ``data`` to a ``basis`` parser's subcommands."""
    bt = subparsers.add_parser("backtest", help="run one backtest scenario on market history")
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
    bt.add_argument("--fill-limit-h", type=int, default=24,
                    help="longest price gap (hours) to forward-fill (default 24)")
    _add_policy_flags(bt)
    bt.set_defaults(func=cmd_backtest)

    sw = subparsers.add_parser("sweep", help="run a sweep file's scenarios on Ray")
    sw.add_argument("file", help="configs/sweeps/*.yaml")
    sw.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS or a local Ray)")
    sw.add_argument("--out", help="output directory (default var/sweeps/<name>)")
    sw.add_argument("--data", help="market directory or synthetic[:SEED] (overrides the file; "
                    "default: the data shipped in factory/data/market)")
    sw.add_argument("--actors", type=int, help="number of SimulatorActors (default: cluster CPUs)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_policy_flags(sw)
    sw.set_defaults(func=cmd_sweep)

    data = subparsers.add_parser("data", help="market data: fetch, synth, describe")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the basis CLI (``python -m actors.backtest.cli backtest ...`` = ``basis backtest``)."""
    from factory.cli import main as basis_main

    return basis_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
