"""The ``basis`` program is the package actors.cli: the console script, ``python -m actors.cli``
and one module per command of ``basis --help``, with the exit statuses scripts rely on."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

from actors.cli import exits
from actors.cli.main import COMMAND_MODULES, build_parser, main

REPO = Path(__file__).resolve().parents[2]


def test_the_console_script_runs_the_package_main():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["basis"].partition(":")
    assert getattr(importlib.import_module(module), name) is main


def test_every_command_of_the_help_is_one_module_of_the_package():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = list(sub.choices)
    assert commands == ["config", "backtest", "sweep", "data", "monitor", "history", "demo"]
    assert [m.__name__ for m in COMMAND_MODULES] == [f"actors.cli.{c}" for c in commands]


def test_python_dash_m_runs_the_same_program_with_its_exit_status(tmp_path):
    bad = tmp_path / "btc_basis.yaml"
    bad.write_text("venues: [binance]\nmonitor: {interval_s: 0.1}\n")
    out = subprocess.run([sys.executable, "-m", "actors.cli", "config", "check", str(bad)],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == exits.EXIT_BAD_INPUT == 2
    assert out.stderr.startswith(f"{bad}: monitor.interval_s:")
    assert "Traceback" not in out.stderr


def test_the_exit_statuses_keep_their_numbers():
    assert (exits.EXIT_OK, exits.EXIT_FAILURE, exits.EXIT_INCOMPLETE, exits.EXIT_BAD_INPUT,
            exits.EXIT_INTERRUPTED) == (0, 1, 1, 2, 130)

