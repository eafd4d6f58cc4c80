"""``basis backtest`` / ``basis data``: JSON output and clean exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

from actors.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_backtest_json_has_the_documented_keys_and_attribution_sums(capsys):
    code, out, err = run(capsys, "backtest", "btc_basis", "--data", "synthetic:4",
                         "--start", "2024-01-01", "--end", "2024-02-01", "--json")
    assert code == 0, err
    s = json.loads(out)
    for key in ("start", "end", "initial_equity", "final_equity", "apy", "max_drawdown",
                "attribution", "fingerprint"):
        assert key in s
    assert s["start"] == "2024-01-01T00:00:00Z" and s["end"] == "2024-02-01T00:00:00Z"
    assert sum(s["attribution"].values()) == pytest.approx(
        s["final_equity"] - s["initial_equity"], abs=1e-6)


def test_set_overrides_a_mode_field_by_dotted_path(capsys):
    base = ["backtest", "btc_basis", "--data", "synthetic:4", "--end", "2024-03-01", "--json"]
    _, moving, _ = run(capsys, *base)
    _, held, _ = run(capsys, *base, "--set", "strategy.rebalance=false")
    assert json.loads(held)["trades"] == 4 < json.loads(moving)["trades"]


@pytest.mark.parametrize("argv,needle", [
    (["backtest", "configs/modes/missing.yaml", "--data", "synthetic"], "file not found"),
    (["backtest", "btc_basis", "--data", "synthetic", "--start", "2024-03-01", "--end",
      "2024-02-01"], "bad date range"),
    (["backtest", "btc_basis", "--data", "synthetic", "--start", "2023-06-01"], "outside"),
    (["backtest", "btc_basis", "--data", "synthetic", "--start", "June"], "not a date"),
    (["backtest", "btc_basis", "--data", "synthetic", "--set", "strategy.nope=1"], "strategy.nope"),
    (["backtest", "btc_basis", "--data", "synthetic", "--set", "nope.deeper=1"], "unknown field"),
    (["backtest", "btc_basis", "--data", "synthetic", "--set", "noequals"], "KEY=VALUE"),
    (["backtest", "btc_basis", "--data", "/no/such/dir"], "no such directory"),
    (["data", "describe", "/no/such/dir"], "no such directory"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err and out == ""


def test_data_synth_writes_the_documented_layout_that_backtest_reads(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "synth", "--out", str(tmp_path), "--days", "40")
    assert code == 0
    assert (tmp_path / "funding" / "ETH.csv").exists() and (tmp_path / "lst" / "weETH.csv").exists()
    code, out, err = run(capsys, "backtest", "usdt_eth_staking_hedged_leveraged", "--data",
                         str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["min_health_factor"] > 1


def test_backtest_accepts_the_raw_shared_folder(capsys, market_data_dir):
    code, out, err = run(capsys, "backtest", "btc_basis", "--data", str(market_data_dir),
                         "--start", "2024-03-01", "--end", "2024-04-01", "--json")
    assert code == 0, err
    assert json.loads(out)["attribution"]["funding"] > 0


def test_main_cli_registers_the_backtest_commands(capsys):
    from actors.cli.main import main as basis

    code = basis(["backtest", "pure_lending_usdt", "--data", "synthetic:1", "--end",
                  "2024-01-10", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["attribution"]["lending"] > 0
