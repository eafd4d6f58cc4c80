"""A mode that monitors nothing, a key written twice, an unknown venue or YAML nested without end
is refused by every loader, with one line naming the file (and the line where YAML knows it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.cli.main import main
from factory.config import load_mode, load_venue, resolve_config, with_overrides
from factory.errors import ConfigError
from factory.sandbox.exchange.model import load_scenario
from factory.yamlfile import MAX_DEPTH, parse_yaml

REPO = Path(__file__).resolve().parents[2]
BTC_BASIS = REPO / "configs" / "modes" / "btc_basis.yaml"


def write(tmp_path: Path, text: str, name: str = "mode.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def only_problem(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


@pytest.mark.parametrize("text, expected", [
    ("", "empty mode file"),
    ("# only a comment\n", "empty mode file"),
    ("venues: []\n", "venues: a mode needs at least one venue"),
    ("mode: m\ndescription: no venues at all\n", "venues: a mode needs at least one venue"),
])
def test_a_mode_that_monitors_nothing_is_refused(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    line = only_problem(load_mode, path)
    assert line.startswith(f"{path}: ") and expected in line
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == line


def test_an_unknown_venue_fails_config_check_like_monitor(tmp_path, capsys):
    path = write(tmp_path, "mode: m\nvenues: [binance, kraken]\n")
    line = only_problem(load_mode, path)
    assert line.startswith(f"{path}: venues.1: unsupported venue 'kraken' (supported: ")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == line


@pytest.mark.parametrize("text, field", [
    ("venues: [binance]\npositions: [okx:Perp:BTCUSDT]\n", "positions.0"),
    ("venues: [binance]\npositions: [aave:aToken:aWETH]\n", "positions.0"),
    ("venues: [binance]\nallocation: {bybit:Perp:BTCUSDT: -1}\n", "allocation.bybit:Perp:BTCUSDT"),
    ("venues: [binance]\nhedge: {splits: {binance: 0.5, okx: 0.5}}\n", "hedge.splits.okx"),
])
def test_a_position_on_a_venue_that_is_not_enabled_names_the_field(tmp_path, text, field):
    path = write(tmp_path, text)
    line = only_problem(load_mode, path)
    assert line.startswith(f"{path}: {field}: ") and "not in venues [binance]" in line


def test_an_alias_position_is_accepted_when_its_venue_is_enabled(tmp_path):
    path = write(tmp_path, "venues: [aave_v3]\npositions: [aave:aToken:aWETH]\n")
    assert load_mode(path).venues == ["aave_v3"]


def test_positions_without_any_venue_are_refused_in_a_dict_too():
    with pytest.raises(ConfigError, match="not in venues"):
        resolve_config({"positions": ["binance:BaseToken:BTC"]})


def test_overriding_the_venues_away_is_refused():
    mode = load_mode(BTC_BASIS)
    line = only_problem(with_overrides, mode, ["venues=[]", "positions=[]", "hedge.splits={}"])
    assert line == "--set: venues: a mode needs at least one venue"


@pytest.mark.parametrize("text, line, first", [
    ("mode: m\nvenues: [binance]\nvenues: [okx]\n", 3, 2),
    ("venues: [binance, okx]\nhedge:\n  splits:\n    binance: 0.5\n    okx: 0.5\n"
     + "    binance: 0.5\n", 6, 4),
    ("venues: [binance]\nmonitor: {deadline_s: 1, deadline_s: 2}\n", 2, 2),
])
def test_a_key_written_twice_names_both_lines(tmp_path, capsys, text, line, first):
    path = write(tmp_path, text)
    problem = only_problem(load_mode, path)
    assert problem.startswith(f"{path}: line {line}: invalid YAML: duplicate key ")
    assert problem.endswith(f"(first at line {first})")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == problem


def test_a_merge_key_may_be_overridden(tmp_path):
    text = ("monitor: &m {deadline_s: 1.0, interval_s: 5}\n"
            "venues: [binance]\n"
            "thresholds: {max_staleness_s: 10}\n"
            "reconciliation:\n  <<: {abs_tol: 0.1, rel_tol: 0.2}\n  abs_tol: 0.5\n")
    mode = load_mode(write(tmp_path, text))
    assert mode.reconciliation.abs_tol == 0.5 and mode.reconciliation.rel_tol == 0.2


@pytest.mark.parametrize("deep", [
    "[" * 5000 + "]" * 5000,
    "".join(f"{'  ' * i}k{i}:\n" for i in range(2000)) + "  " * 2000 + "v\n",
    "venues: " + "{a: " * 3000 + "1" + "}" * 3000,
])
def test_yaml_nested_without_end_is_one_line_naming_the_file(tmp_path, capsys, deep):
    path = write(tmp_path, deep)
    problem = only_problem(load_mode, path)
    assert problem.startswith(f"{path}: line ") and f"nested deeper than {MAX_DEPTH}" in problem
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == problem


def test_nesting_up_to_the_limit_still_parses():
    depth = MAX_DEPTH - 1
    assert parse_yaml("[" * depth + "]" * depth, "<text>") is not None


def test_venue_sweep_and_sandbox_files_refuse_duplicate_keys(tmp_path, capsys):
    venue = write(tmp_path, "venue: binance\nkind: cex\nkind: cex\n", "venues/binance.yaml")
    assert "duplicate key 'kind'" in only_problem(load_venue, venue)
    sweep = write(tmp_path, "modes: [btc_basis]\nmodes: [eth_basis]\n", "sweeps/s.yaml")
    assert main(["config", "check", str(sweep)]) == 2
    assert "duplicate key 'modes'" in capsys.readouterr().err
    scenario = write(tmp_path, "venues: {}\nvenues: {}\n", "sandbox.yaml")
    assert "duplicate key 'venues'" in only_problem(load_scenario, scenario)


def test_every_shipped_yaml_passes_the_strict_loader():
    for path in sorted(REPO.glob("configs/**/*.yaml")):
        assert parse_yaml(path.read_text(), str(path)) is not None
