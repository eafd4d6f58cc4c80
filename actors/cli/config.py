"""``basis config check PATH...``: validate venue, mode and sweep YAML files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actors.cli.exits import EXIT_BAD_INPUT, EXIT_OK
from factory.config import VenueConfig, load_mode, read_mapping, validate
from factory.errors import ConfigError

__all__ = ["cmd_config_check", "register"]


def _config_kind(raw: dict, path: Path) -> str:
    """Tell a venue, a sweep and a mode file apart by their keys, else by their folder."""
    if "kind" in raw or path.parent.name == "venues":
        return "venue"
    if "grid" in raw or "scenarios" in raw or path.parent.name == "sweeps":
        return "sweep"
    return "mode"


def _check_one(path: Path) -> list[str]:
    """Validate one config file; return its problems (empty when it is valid)."""
    try:
        raw = read_mapping(path)
        kind = _config_kind(raw, path)
        if kind == "venue":
            cfg = validate(raw, VenueConfig, str(path))
            if cfg.venue != path.stem:
                return [f"{path}: venue: must equal the file name {path.stem!r} (got {cfg.venue!r})"]
        elif kind == "sweep":
            # imported here: the sweep model pulls numpy, which every other command would pay
            from actors.backtest.sweep import load_sweep

            load_sweep(path)
        else:
            load_mode(path)
    except ConfigError as e:
        return e.problems
    return []


def cmd_config_check(args: argparse.Namespace) -> int:
    """``basis config check PATH...``: print ``ok`` per valid file, else one line per problem."""
    failed = False
    for p in args.paths:
        path = Path(p)
        problems = _check_one(path)
        if problems:
            failed = True
            for line in problems:
                print(line, file=sys.stderr)
        else:
            print(f"{path}: ok")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``config check`` to the basis CLI."""
    config = sub.add_parser("config", help="validate config files")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    config_sub.required = True
    check = config_sub.add_parser(
        "check", help="validate venue, mode and sweep YAML files (exit 0 when all are valid)"
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.set_defaults(func=cmd_config_check)
