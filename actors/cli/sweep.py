"""``basis sweep FILE``: fan a sweep file's scenarios out over Ray, write table and report.

Everything checkable before Ray starts is checked first (the flags, the sweep file, the output
directory, the data against every scenario); bad input exits 2 without a Ray session.

The backtest modules (pandas, numpy, the simulator) are imported inside the commands, so
``basis --help`` and the live commands, which load every command module, never pay for them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from actors.cli.backtest import add_policy_flags, load_market_for
from actors.cli.exits import EXIT_FAILURE, EXIT_OK
from actors.cli.progress import progress_bar
from actors.cli.ray_session import start_ray, stop_ray
from factory.errors import ConfigError

__all__ = ["DEFAULT_SWEEPS_DIR", "cmd_sweep", "register"]

#: Where a sweep writes its outputs without ``--out`` (one folder per sweep name).
DEFAULT_SWEEPS_DIR = Path("var") / "sweeps"


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
    out = Path(args.out or DEFAULT_SWEEPS_DIR / cfg.name)
    _check_writable(out)
    market = load_market_for(args, args.data or cfg.data)
    scenarios = expand(cfg, base=path.parent, source=str(path))
    check_scenarios(scenarios, market)  # bad data is refused before Ray starts
    ray_start = start_ray(args.address, verbose=getattr(args, "verbose", False))
    try:
        update, stop = progress_bar(len(scenarios)) if not args.quiet else (None, lambda: None)
        try:
            result = run_sweep(scenarios, market, actors=args.actors, progress=update,
                               reconcile_every_h=cfg.reconcile_every_h)
        finally:
            stop()
    finally:
        stop_ray(ray_start)
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
    return EXIT_FAILURE if result.errors else EXIT_OK


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


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the basis CLI."""
    sw = sub.add_parser("sweep", help="run a sweep file's scenarios on Ray")
    sw.add_argument("file", help="configs/sweeps/*.yaml")
    sw.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS or a local Ray)")
    sw.add_argument("--out", help=f"output directory (default {DEFAULT_SWEEPS_DIR}/<name>)")
    sw.add_argument("--data", help="market directory or synthetic[:SEED] (overrides the file; "
                    "default: the data shipped in factory/data/market)")
    sw.add_argument("--actors", type=int, help="number of SimulatorActors (default: cluster CPUs)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    add_policy_flags(sw)
    sw.set_defaults(func=cmd_sweep)
