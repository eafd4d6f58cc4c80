"""``basis monitor``: the live monitor of a mode's venues, or one snapshot with ``--once``.

Errors (bad config, unknown venue, missing credential variable, unreachable venue, bad flags)
print one line each on stderr and exit non-zero, never a traceback. Everything known before Ray
starts (the mode, the flags, credentials, wallet addresses, the history file) is checked before
it starts: bad input exits 2 without a Ray session.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Mapping

from actors.cli.exits import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_OK
from actors.cli.io import exit_on_signals, json_stdout
from actors.cli.ray_session import LIVE_NUM_CPUS, start_ray, stop_ray
from actors.store_guard import check_history_path
from factory.config import MIN_INTERVAL_S, ModeConfig, load_mode, with_overrides
from factory.errors import ConfigError
from factory.interfaces.evm.plans import desk_addresses

__all__ = [
    "MONITOR_RESTART_WAIT_S",
    "PREPARE_TIMEOUT_S",
    "SNAPSHOT_TIMEOUT_S",
    "check_before_start",
    "cmd_monitor",
    "missing_credentials",
    "register",
]

#: Seconds the live loop waits for a crashed monitor actor that Ray restarts.
MONITOR_RESTART_WAIT_S = 60.0
#: Bound of one snapshot call through the monitor actor (its own deadline is the mode's).
SNAPSHOT_TIMEOUT_S = 60.0
#: Bound of the venue actors' start and one-time setup before ``--once`` takes its snapshot.
PREPARE_TIMEOUT_S = 30.0


def missing_credentials(
    mode: ModeConfig, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Return one line per credential variable the mode's venues need and the environment lacks."""
    env = os.environ if environ is None else environ
    lines = []
    seen: set[str] = set()
    for venue in mode.venues:
        creds = mode.venue_config(venue).credentials
        for field in ("api_key_env", "api_secret_env", "passphrase_env", "rpc_url_env",
                      "addresses_env"):
            name = getattr(creds, field)
            if name and not env.get(name) and name not in seen:
                seen.add(name)
                lines.append(f"{venue}: missing credential, set the environment variable {name}")
    return lines


def _load(args: argparse.Namespace) -> ModeConfig:
    """Load the mode (at least one venue, every venue supported) with its ``--set`` overrides."""
    mode = load_mode(args.config)
    if getattr(args, "set", None):
        mode = with_overrides(mode, args.set)
    return mode


def _interval(text: str) -> float:
    """Parse ``--interval``: a finite number of seconds, at least `MIN_INTERVAL_S`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number of seconds")
    if value < MIN_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"{value:g} s is below the minimum of {MIN_INTERVAL_S:g} s")
    return value


def check_before_start(args: argparse.Namespace, mode: ModeConfig,
                       environ: dict[str, str] | None = None) -> list[str]:
    """Return one line per problem ``basis monitor`` can see before it starts Ray.

    Checks the credential variables, the desk's wallet addresses (format and checksum) and, for
    a local Ray (no ``--address``/``RAY_ADDRESS``, so the history file is on this machine),
    that the history path is a file the store may create or open.
    """
    env = os.environ if environ is None else environ
    missing = missing_credentials(mode, env)
    if missing:
        return missing
    lines: list[str] = []
    checked: set[str] = set()
    for venue in mode.venues:
        cfg = mode.venue_config(venue)
        name = cfg.credentials.addresses_env
        if not name or name in checked:
            continue
        checked.add(name)
        try:
            desk_addresses(cfg, env)
        except ConfigError as e:
            lines.extend(e.problems)
    if not (args.address or env.get("RAY_ADDRESS")):
        try:
            check_history_path(args.db or mode.monitor.history_path)
        except ConfigError as e:
            lines.extend(e.problems)
    return lines


def _problems(snap) -> list[str]:
    """One line per venue that is not fresh; a missing venue's line carries its last error."""
    reasons = {a.venue: a.message for a in snap.alerts if a.kind == "missing_venue"}
    lines = []
    for v in snap.missing:
        reason = reasons.get(v, "")
        detail = reason.split(": ", 1)[1] if ": " in reason else "never answered"
        lines.append(f"{v}: unreachable, no data ({detail})")
    for name, v in sorted(snap.venues.items()):
        if v.status != "ok":
            lines.append(f"{name}: {v.status} for {v.age_s:.1f} s: {v.error}")
    return lines


def cmd_monitor(args: argparse.Namespace) -> int:
    """Run the live monitor against the venues of a mode config."""
    mode = _load(args)
    problems = check_before_start(args, mode)
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with exit_on_signals(), json_stdout(args.json) as out:
        if args.once and not (args.address or os.environ.get("RAY_ADDRESS") or _on_ray()):
            return _once_here(mode, args, out)
        return _monitor_on_ray(mode, args, out)


def _on_ray() -> bool:
    """True when this process is already a Ray driver (its venue actors may be running)."""
    ray = sys.modules.get("ray")  # not imported: certainly not connected (and no import cost)
    return bool(ray is not None and ray.is_initialized())


def _once_here(mode: ModeConfig, args: argparse.Namespace, out) -> int:
    """``--once`` on this machine: one snapshot in this process, no Ray (`actors.once`)."""
    import asyncio
    import logging

    from actors.once import snapshot_once

    if not getattr(args, "verbose", False):  # each failing venue gets its own error line
        for name in ("basis", "actors", "factory"):
            logging.getLogger(name).setLevel(logging.ERROR)
    snap = asyncio.run(snapshot_once(mode, args.db or mode.monitor.history_path))
    return _report_once(snap, args, out)


def _report_once(snap, args: argparse.Namespace, out) -> int:
    """Print one snapshot (JSON or table) and one stderr line per venue that is not fresh."""
    if args.json:
        print(snap.model_dump_json(indent=2), file=out, flush=True)
    else:
        from rich.console import Console

        from actors.view import render_snapshot

        Console().print(render_snapshot(snap))
    for line in _problems(snap):
        print(f"error: {line}", file=sys.stderr)
    return EXIT_OK if snap.complete else EXIT_INCOMPLETE


def _monitor_on_ray(mode: ModeConfig, args: argparse.Namespace, out) -> int:
    """The live monitor on Ray: venue actors and the supervising monitor actor.

    A monitor actor that crashes is restarted by Ray; the loop waits for it (at most
    `MONITOR_RESTART_WAIT_S`) and goes on, so a crash costs a late snapshot, not the run.
    """
    # imported here: the engine imports Ray, which ``--once`` on this machine never loads
    from rich.console import Console
    from rich.live import Live

    from actors.engine import EventDrivenStrategyEngine
    from actors.view import render_snapshot

    ray_start = start_ray(args.address, num_cpus=LIVE_NUM_CPUS,
                          verbose=getattr(args, "verbose", False))
    engine = None
    try:
        engine = EventDrivenStrategyEngine(mode, "live", store_path=args.db,
                                           restart_wait_s=MONITOR_RESTART_WAIT_S)
        if args.once:
            # venue actors start and build their clients first, so the one deadline of the
            # snapshot is spent on positions, not on process start and market loading
            engine.prepare_venues(timeout_s=PREPARE_TIMEOUT_S)
            snap = engine.get_real_positions(None, timeout_s=SNAPSHOT_TIMEOUT_S)
            if not snap.complete:
                time.sleep(mode.monitor.deadline_s)
                snap = engine.get_real_positions(None, timeout_s=SNAPSHOT_TIMEOUT_S)
            return _report_once(snap, args, out)
        interval = args.interval or mode.monitor.interval_s
        live = None
        if not args.json:
            live = Live(console=Console(), refresh_per_second=4, screen=False)
            live.start()
        try:
            while True:
                t0 = time.monotonic()
                snap = engine.get_real_positions(None, timeout_s=SNAPSHOT_TIMEOUT_S)
                if live is None:
                    print(snap.model_dump_json(), file=out, flush=True)
                else:
                    live.update(render_snapshot(snap, title=f"basis-monitor {mode.mode}"))
                time.sleep(max(0.0, interval - (time.monotonic() - t0)))
        finally:
            if live is not None:
                live.stop()
    finally:
        if engine is not None:
            engine.shutdown()
        stop_ray(ray_start)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``monitor`` to the basis CLI."""
    p = sub.add_parser("monitor", help="monitor the venues of a mode config live")
    p.add_argument("config", help="mode config file, e.g. configs/modes/btc_basis.yaml")
    p.add_argument("--once", action="store_true", help="take one snapshot and exit")
    p.add_argument("--json", action="store_true", help="print PortfolioSnapshot JSON")
    p.add_argument("--interval", type=_interval, default=None,
                   help=f"seconds between snapshots (at least {MIN_INTERVAL_S:g})")
    p.add_argument("--address", default=None, help="Ray cluster address (default: local Ray)")
    p.add_argument("--db", default=None, help="history database (default: the mode's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a mode field by dotted path")
    p.set_defaults(func=cmd_monitor)
