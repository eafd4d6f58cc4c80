"""The ``basis`` command line: the parser, ``main(argv)`` and the exit statuses.

Every error path prints one clear line per problem on stderr and exits non-zero (2 for bad
input) without a traceback. Each command lives in its own module of this package, which
exposes ``register(subparsers)``; `COMMAND_MODULES` lists them in the order ``basis --help``
shows them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from actors.cli import backtest, config, data, demo, history, monitor, sweep
from actors.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
)
from factory.errors import BasisError, ConfigError

__all__ = ["COMMAND_MODULES", "EXIT_BAD_INPUT", "OneLineParser", "build_parser", "main"]

#: The command modules, each with ``register(subparsers)``, in the order of ``basis --help``.
COMMAND_MODULES: tuple[ModuleType, ...] = (config, backtest, sweep, data, monitor, history, demo)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` on one line and exit 2 (argparse prints usage)."""
        message = " ".join(message.split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``-v`` after every subcommand too (``basis monitor X -v``).

    argparse keeps subparsers in private attributes; walking them here covers every command
    module's parsers. The flag's default is SUPPRESS so a subcommand without ``-v`` keeps the
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
    """Return the ``basis`` parser with every command registered."""
    parser = OneLineParser(
        prog="basis",
        description="Live position monitoring and Ray-parallel backtests for basis/carry desks.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
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
        return int(args.func(args) or EXIT_OK)
    except ConfigError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BasisError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # the CLI never shows a traceback by default
        if args.verbose:
            raise
        print(f"error: {type(e).__name__}: {e} (run with -v for the traceback)", file=sys.stderr)
        return EXIT_FAILURE
