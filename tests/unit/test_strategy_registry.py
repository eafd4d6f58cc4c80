"""Strategies are chosen by ``strategy.family``, never by the mode's name."""

from __future__ import annotations

from typing import get_args

import pytest

from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.simulator import Simulator
from actors.backtest.strategies import families, make_strategy
from actors.backtest.strategies.base import Strategy
from actors.backtest.strategies.registry import register
from actors.cli.main import main
from factory.config import StrategyFamily, config_dir, load_mode, resolve_config
from factory.errors import ConfigError

MODES = ["pure_lending_usdt", "eth_staking_only", "btc_basis", "eth_basis",
         "usdt_eth_staking_hedged_simple", "usdt_eth_staking_hedged_leveraged"]


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=5, days=20)


def renamed(tmp_path, name, new_name=None, **replace):
    """Write the shipped mode ``name`` under another ``mode:`` name (and edited lines)."""
    text = (config_dir() / "modes" / f"{name}.yaml").read_text()
    assert f"mode: {name}\n" in text
    text = text.replace(f"mode: {name}\n", f"mode: {new_name or 'desk_' + name}\n")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{new_name or name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", MODES)
def test_a_renamed_mode_runs_the_same_backtest_with_the_same_fingerprint(market, tmp_path, name):
    shipped = load_mode(config_dir() / "modes" / f"{name}.yaml")
    other = load_mode(renamed(tmp_path, name))
    assert other.mode != shipped.mode
    a = Simulator(shipped, market, "2024-01-02", "2024-01-12").run()
    b = Simulator(other, market, "2024-01-02", "2024-01-12").run()
    assert a.steps == b.steps == 10 * 24 + 1
    assert b.fingerprint == a.fingerprint and b.final_equity == a.final_equity


def test_every_family_a_config_may_name_has_a_strategy():
    assert families() == sorted(get_args(StrategyFamily))


def test_an_unknown_family_is_one_line_naming_file_field_and_the_known_families(tmp_path):
    path = renamed(tmp_path, "btc_basis", "btc_carry", **{"family: basis": "family: carry"})
    with pytest.raises(ConfigError) as info:
        load_mode(path)
    assert len(info.value.problems) == 1
    line = info.value.problems[0]
    assert line.startswith(f"{path}: strategy.family: ") and "'carry'" in line
    assert all(f"'{family}'" in line for family in get_args(StrategyFamily))


def test_a_strategy_section_without_a_family_is_refused(tmp_path):
    path = renamed(tmp_path, "btc_basis", **{"  family: basis\n": ""})
    with pytest.raises(ConfigError, match=r"strategy\.family: Field required"):
        load_mode(path)


def test_config_check_and_backtest_exit_2_on_an_unknown_family(tmp_path, capsys):
    path = renamed(tmp_path, "btc_basis", "btc_carry", **{"family: basis": "family: carry"})
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "strategy.family" in err and "hedged_staking" in err
    assert main(["backtest", str(path), "--data", "synthetic:4"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "strategy.family" in err


def test_a_mode_that_only_monitors_cannot_be_backtested():
    cfg = resolve_config({"venues": ["binance"]})
    assert cfg.strategy is None
    with pytest.raises(ConfigError, match=r"strategy\.family.*known: basis, hedged_staking"):
        make_strategy(cfg)


def test_a_family_is_registered_once_and_only_a_family_the_config_allows():
    with pytest.raises(ValueError, match="registered twice"):
        register("basis")(type("Another", (Strategy,), {}))
    with pytest.raises(ValueError, match="not in factory.config.StrategyFamily"):
        register("carry")
    assert families() == sorted(get_args(StrategyFamily))
