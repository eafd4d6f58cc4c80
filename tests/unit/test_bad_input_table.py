"""Every kind of bad input to ``basis`` is one line on stderr naming the input, exit status 2,
and, since all of it is known before Ray starts, no Ray session (this directory's conftest makes
``ray.init`` raise, so an attempt would show as a different line and exit status)."""

from __future__ import annotations

import argparse
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.cli.main import build_parser, main
from actors.limits import RateLimiter
from factory.config import venue_defaults
from factory.errors import RateLimitedError
from factory.positions import PortfolioSnapshot, utc

REPO = Path(__file__).resolve().parents[2]
BTC_BASIS = str(REPO / "configs" / "modes" / "btc_basis.yaml")
#: a valid checksummed address, and the same with one letter's case flipped
ADDRESS = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
BAD_CHECKSUM = "0x90f79bf6EB2c4f870365E785982E1f101E93b906"
BINANCE_KEYS = {"BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s"}
CHAIN = {"BASIS_ETHEREUM_RPC_URL": "http://127.0.0.1:9"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BASIS_") or name == "RAY_ADDRESS":
            monkeypatch.delenv(name)


def files(tmp: Path) -> dict[str, str]:
    """The inputs the rows refer to, by name."""
    made = {
        "empty.yaml": "",
        "no_venues.yaml": "mode: m\nvenues: []\n",
        "duplicate.yaml": "mode: m\nvenues: [binance]\nvenues: [okx]\n",
        "kraken.yaml": "mode: m\nvenues: [binance, kraken]\n",
        "deep.yaml": "[" * 5000 + "]" * 5000 + "\n",
        "binance.yaml": "mode: m\nvenues: [binance]\n",
        "wallet.yaml": "mode: m\nvenues: [wallet]\n",
        "history_dir.yaml": f"mode: m\nvenues: [binance]\nmonitor: {{history_path: {tmp}}}\n",
        "notes.txt": "not a database\n",
        "empty.sqlite": "",
    }
    out = {}
    for name, text in made.items():
        (tmp / name).write_text(text)
        out[name] = str(tmp / name)
    other = tmp / "other_app.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    out["other_app.sqlite"] = str(other)
    ours = tmp / "history.sqlite"  # a history file of the store's first layout, two snapshots
    db = sqlite3.connect(ours)
    db.executescript(
        "CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
        " execution_mode TEXT NOT NULL, complete INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX snapshots_ts ON snapshots (ts);"
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
        " venue TEXT, kind TEXT NOT NULL, detail TEXT);")
    for ts in (0, 1):
        body = PortfolioSnapshot(timestamp=utc(ts), execution_mode="live").model_dump_json()
        db.execute("INSERT INTO snapshots (ts, execution_mode, complete, body) VALUES (?,?,?,?)",
                   (ts, "live", 1, body))
    db.commit()
    db.close()
    out["history.sqlite"] = str(ours)
    out["dir"] = str(tmp)
    out["unwritable"] = "/proc/basis-history.sqlite"
    return out


#: (row id, argv built from the files, extra environment, what the one line must contain)
Row = tuple[str, Callable[[dict[str, str]], list[str]], dict[str, str], str]
ROWS: list[Row] = [
    # item 5: an empty mode is not a complete, flat book
    ("config-check-empty-file", lambda f: ["config", "check", f["empty.yaml"]], {},
     "empty.yaml: empty mode file"),
    ("config-check-no-venues", lambda f: ["config", "check", f["no_venues.yaml"]], {},
     "no_venues.yaml: venues: a mode needs at least one venue"),
    ("config-check-duplicate-key", lambda f: ["config", "check", f["duplicate.yaml"]], {},
     "duplicate.yaml: line 3: invalid YAML: duplicate key 'venues' (first at line 2)"),
    ("config-check-unknown-venue", lambda f: ["config", "check", f["kraken.yaml"]], {},
     "kraken.yaml: venues.1: unsupported venue 'kraken'"),
    ("monitor-empty-mode", lambda f: ["monitor", f["empty.yaml"], "--once", "--json"], {},
     "empty.yaml: empty mode file"),
    ("monitor-no-venues", lambda f: ["monitor", f["no_venues.yaml"], "--once", "--json"], {},
     "no_venues.yaml: venues: a mode needs at least one venue"),
    ("monitor-set-venues-away",
     lambda f: ["monitor", f["binance.yaml"], "--once", "--set", "venues=[]"], BINANCE_KEYS,
     "--set: venues: a mode needs at least one venue"),
    # item 9: the history store never takes a foreign file
    ("history-text-file", lambda f: ["history", "--db", f["notes.txt"]], {},
     "notes.txt: not a SQLite database"),
    ("history-empty-file", lambda f: ["history", "--db", f["empty.sqlite"]], {},
     "empty.sqlite: empty file, not a history database"),
    ("history-other-sqlite", lambda f: ["history", "--db", f["other_app.sqlite"]], {},
     "other_app.sqlite: SQLite database without basis-monitor's tables"),
    # item 10: the rest of the table
    ("config-check-deep-yaml", lambda f: ["config", "check", f["deep.yaml"]], {},
     "deep.yaml: line 1: invalid YAML: nested deeper than 64 levels"),
    ("monitor-deep-yaml", lambda f: ["monitor", f["deep.yaml"], "--once"], {},
     "deep.yaml: line 1: invalid YAML: nested deeper than 64 levels"),
    ("monitor-history-dir", lambda f: ["monitor", f["binance.yaml"], "--once", "--db", f["dir"]],
     BINANCE_KEYS, "is a directory, expected a history database file"),
    ("monitor-history-dir-from-mode", lambda f: ["monitor", f["history_dir.yaml"], "--once"],
     BINANCE_KEYS, "is a directory, expected a history database file"),
    ("monitor-history-unwritable",
     lambda f: ["monitor", f["binance.yaml"], "--once", "--db", f["unwritable"]], BINANCE_KEYS,
     "/proc/basis-history.sqlite: cannot create"),
    ("monitor-history-foreign-file",
     lambda f: ["monitor", f["binance.yaml"], "--once", "--db", f["notes.txt"]], BINANCE_KEYS,
     "notes.txt: not a SQLite database"),
    ("history-dir", lambda f: ["history", "--db", f["dir"]], {},
     "is a directory, expected a history database file"),
    ("interval-inf", lambda f: ["monitor", f["binance.yaml"], "--interval", "inf"],
     BINANCE_KEYS,
     "argument --interval: 'inf': expected a finite number of seconds"),
    ("interval-overflow", lambda f: ["monitor", f["binance.yaml"], "--interval", "1e400"],
     BINANCE_KEYS,
     "argument --interval: '1e400': expected a finite number of seconds"),
    ("interval-nan", lambda f: ["monitor", f["binance.yaml"], "--interval", "nan"],
     BINANCE_KEYS,
     "argument --interval: 'nan': expected a finite number of seconds"),
    ("interval-zero", lambda f: ["monitor", f["binance.yaml"], "--interval", "0"],
     BINANCE_KEYS,
     "argument --interval: 0 s is below the minimum of 1 s"),
    ("interval-negative", lambda f: ["monitor", f["binance.yaml"], "--interval=-3"],
     BINANCE_KEYS,
     "argument --interval: -3 s is below the minimum of 1 s"),
    ("interval-too-short", lambda f: ["monitor", f["binance.yaml"], "--interval", "0.2"],
     BINANCE_KEYS,
     "argument --interval: 0.2 s is below the minimum of 1 s"),
    ("interval-not-a-number", lambda f: ["monitor", f["binance.yaml"], "--interval", "soon"],
     BINANCE_KEYS,
     "argument --interval: 'soon' is not a number of seconds"),
    ("wallet-addresses-malformed", lambda f: ["monitor", f["wallet.yaml"], "--once"],
     {**CHAIN, "BASIS_WALLET_ADDRESSES": f"{ADDRESS},0x1234"},
     "BASIS_WALLET_ADDRESSES: entry 2 of 2: not a 0x-prefixed 20-byte address"),
    ("wallet-addresses-bad-checksum", lambda f: ["monitor", f["wallet.yaml"], "--once"],
     {**CHAIN, "BASIS_WALLET_ADDRESSES": BAD_CHECKSUM},
     "BASIS_WALLET_ADDRESSES: entry 1 of 1: its mixed-case checksum is wrong"),
    ("wallet-addresses-only-commas", lambda f: ["monitor", f["wallet.yaml"], "--once"],
     {**CHAIN, "BASIS_WALLET_ADDRESSES": " , ,"}, "BASIS_WALLET_ADDRESSES: no address given"),
    ("history-limit-negative", lambda f: ["history", "--db", f["history.sqlite"], "--limit", "-5"],
     {},
     "argument --limit: -5 is not a positive whole number"),
    ("history-limit-zero", lambda f: ["history", "--db", f["history.sqlite"], "--limit", "0"],
     {},
     "argument --limit: 0 is not a positive whole number"),
    ("history-limit-text", lambda f: ["history", "--db", f["history.sqlite"], "--limit", "all"],
     {},
     "argument --limit: 'all' is not a whole number"),
    ("sweep-out-under-a-file",
     lambda f: ["sweep", str(REPO / "configs" / "sweeps" / "basis_grid.yaml"), "--data",
                "synthetic:7", "--out", f["notes.txt"] + "/sweep"], {},
     "notes.txt is a file, not a directory"),
    ("sweep-actors-zero",
     lambda f: ["sweep", str(REPO / "configs" / "sweeps" / "basis_grid.yaml"), "--data",
                "synthetic:7", "--actors", "0", "--out", f["dir"] + "/sweep"], {},
     "--actors 0: needs a whole number of actors >= 1"),
    ("unknown-command", lambda f: ["monitr", BTC_BASIS], {}, "invalid choice: 'monitr'"),
]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_exit_2_before_ray(row, tmp_path, monkeypatch, capsys,
                                                 ray_init_attempts):
    _, argv, env, expected = row
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    inputs = files(tmp_path)
    before = {p: Path(p).read_bytes() for p in inputs.values() if Path(p).is_file()}
    code, out, err = run(argv(inputs), capsys)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert "Traceback" not in err and "Ray" not in err
    assert ray_init_attempts == []  # refused before any attempt to start Ray
    # nothing the command was given was changed, and no WAL/journal file appeared beside them
    assert {p: Path(p).read_bytes() for p in before} == before
    assert sorted(os.listdir(tmp_path)) == sorted(Path(p).name for p in inputs.values()
                                                  if Path(p).parent == tmp_path)


def test_a_good_file_still_passes_after_the_bad_ones(capsys):
    code, out, _ = run(["config", "check", BTC_BASIS], capsys)
    assert code == 0 and out.strip().endswith(": ok")


def leaf_commands(parser: argparse.ArgumentParser, path: tuple = ()) -> set[tuple[str, ...]]:
    """Every command path of the parser (``("data", "fetch")``...)."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= leaf_commands(child, (*path, name)) or {(*path, name)}
    return found


#: one valid command line per command; ``-v`` is appended after the subcommand's arguments
COMMAND_LINES = {
    ("config", "check"): ["config", "check", BTC_BASIS],
    ("monitor",): ["monitor", BTC_BASIS, "--once"],
    ("history",): ["history", "--db", "h.sqlite"],
    ("backtest",): ["backtest", "btc_basis", "--data", "synthetic"],
    ("sweep",): ["sweep", "configs/sweeps/basis_grid.yaml"],
    ("data", "fetch"): ["data", "fetch", "--base", "BTC", "--start", "2024-01-01", "--end",
                        "2024-02-01", "--out", "d"],
    ("data", "synth"): ["data", "synth", "--out", "d"],
    ("data", "describe"): ["data", "describe", "d"],
    ("demo",): ["demo", "--quick"],
}


def test_verbose_is_accepted_after_every_subcommand():
    parser = build_parser()
    assert set(COMMAND_LINES) == leaf_commands(parser)
    for argv in COMMAND_LINES.values():
        assert parser.parse_args([*argv, "-v"]).verbose is True, argv
        assert parser.parse_args(["-v", *argv]).verbose is True, argv
        assert parser.parse_args(argv).verbose is False, argv


async def test_a_wait_past_the_deadline_is_shown_in_seconds_with_two_decimals():
    limiter = RateLimiter("binance", venue_defaults()["binance"].rate_limits,
                          clock=lambda: 1000.0)
    limiter.block(36.07023223700003)
    with pytest.raises(RateLimitedError) as info:
        await limiter.acquire("spot_account", deadline=1001.0)
    assert "would wait 36.07 s for rate limit, past the deadline" in str(info.value)
    assert "36.070" not in str(info.value)
