"""``basis history``: the snapshots the live monitor stored, as a table or CSV.

A bad date, a reversed range or a path that is not a history database is one ``error:`` line
and exit status 2; a foreign file is refused untouched.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import datetime

from actors.cli.exits import EXIT_OK
from actors.store_guard import check_history_path
from factory.config import DEFAULT_HISTORY_PATH, load_mode
from factory.errors import ConfigError
from factory.positions import utc

__all__ = ["cmd_history", "register"]


def _positive_int(text: str) -> int:
    """Parse a count that must be a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number (at least 1)")
    return value


def _date(text: str | None, flag: str) -> datetime | None:
    """Parse ``--start``/``--end`` as a UTC instant; raise `ConfigError` naming the flag."""
    if text is None:
        return None
    try:
        return utc(text)
    except (ValueError, TypeError):
        raise ConfigError(f"{flag} {text!r}: expected an ISO date like 2024-01-31 or "
                          "2024-01-31T08:00:00Z") from None


def cmd_history(args: argparse.Namespace) -> int:
    """Print stored snapshots as a table or CSV."""
    from actors.store import SnapshotStore

    start, end = _date(args.start, "--start"), _date(args.end, "--end")
    if start and end and start > end:
        raise ConfigError(f"--start {args.start} is after --end {args.end}")
    path = args.db
    if path is None and args.config:
        path = load_mode(args.config).monitor.history_path
    path = path or DEFAULT_HISTORY_PATH
    if not os.path.lexists(path):
        raise ConfigError(f"{path}: no history database here (run basis monitor first, or --db)")
    check_history_path(path)  # a foreign file is refused untouched, one line
    rows = SnapshotStore(path).query(start, end, limit=args.limit)
    header = ["timestamp", "complete", "ok", "stale", "missing", "net_exposure", "alerts"]
    records = []
    for s in rows:
        ok = sum(1 for v in s.venues.values() if v.status == "ok")
        stale = sum(1 for v in s.venues.values() if v.status == "stale")
        exposure = " ".join(f"{k}={'unknown' if v is None else format(v, '.6g')}"
                            for k, v in sorted(s.net_exposure.items()))
        records.append([s.timestamp.isoformat(), s.complete, ok, stale, len(s.missing), exposure,
                        len(s.alerts)])
    if args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(header)
        w.writerows(records)
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"history {path} ({len(records)} snapshots)")
    for h in header:
        table.add_column(h)
    for r in records:
        table.add_row(*[str(x) for x in r])
    Console().print(table)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``history`` to the basis CLI."""
    h = sub.add_parser("history", help="show stored snapshots as a table or CSV")
    h.add_argument("--db", default=None, help="history database file")
    h.add_argument("--config", default=None, help="mode config whose history_path to read")
    h.add_argument("--start", default=None, help="from this date/time (UTC)")
    h.add_argument("--end", default=None, help="until this date/time (UTC)")
    h.add_argument("--limit", type=_positive_int, default=None,
                   help="at most this many snapshots (a positive whole number)")
    h.add_argument("--csv", action="store_true", help="CSV on stdout")
    h.set_defaults(func=cmd_history)
