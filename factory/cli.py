"""The ``basis`` command line.

Every error path prints one clear line per problem on stderr and exits non-zero (2 for bad
input) without a traceback. Subcommands that live in other modules register themselves through
`COMMAND_MODULES` (each exposes ``register(subparsers)``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from factory.config import VenueConfig, read_mapping, load_mode, validate
from factory.errors import BasisError, ConfigError

__all__ = ["COMMAND_MODULES", "EXIT_BAD_INPUT", "OneLineParser", "build_parser", "main"]

EXIT_BAD_INPUT = 2

#: Modules adding subcommands: each has ``register(subparsers)``; a module that is not
#: installed is skipped.
COMMAND_MODULES = [
    "actors.backtest.cli",
    "actors.live_cli",
    "actors.demo",
]


def _config_kind(raw: dict, path: Path) -> str:
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
            try:
                sweep = importlib.import_module("actors.backtest.sweep")
            except ImportError:
                return [f"{path}: sweep configs need actors.backtest.sweep, which is not installed"]
            sweep.load_sweep(path)
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
    return EXIT_BAD_INPUT if failed else 0


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` on one line and exit 2 (argparse prints usage)."""
        message = " ".join(message.split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``-v`` after every subcommand too (``basis monitor X -v``).

    argparse keeps subparsers in private attributes; walking them here covers the commands other
    modules register. The flag's default is SUPPRESS so a subcommand without ``-v`` keeps the
    value given before it.
    """
    for action in parser._actions:  # argparse exposes no public walk
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in set(action.choices.values()):
            if "-v" not in child._option_string_actions:
                child.add_argument("-v", "--verbose", action="store_true",
                                   default=argparse.SUPPRESS, help="log at INFO level")
            _verbose_everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``basis`` parser with every subcommand registered."""
    parser = OneLineParser(
        prog="basis",
        description="Live position monitoring and Ray-parallel backtests for basis/carry desks.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    config = sub.add_parser("config", help="validate config files")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    config_sub.required = True
    check = config_sub.add_parser(
        "check", help="validate venue, mode and sweep YAML files (exit 0 when all are valid)"
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.set_defaults(func=cmd_config_check)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue
            raise
        module.register(sub)
    _verbose_everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (also used by the console script)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BasisError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # the CLI never shows a traceback by default
        if args.verbose:
            raise
        print(f"error: {type(e).__name__}: {e} (run with -v for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
