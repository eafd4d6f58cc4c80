"""CLI error paths print one clear line and exit non-zero; the terminal view shows the facts."""

import os

import pytest
from rich.console import Console

from actors.cli.main import main
from actors.cli.monitor import missing_credentials
from actors.monitor import aggregate
from actors.view import render_snapshot
from factory.config import resolve_config
from factory.positions import Position, VenueSnapshot, utc


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BASIS_"):
            monkeypatch.delenv(name)


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return code, out.out, out.err


def test_monitor_without_credentials_names_each_missing_variable(capsys):
    code, _, err = run(["monitor", "configs/modes/eth_staking_only.yaml", "--once"], capsys)
    assert code == 2
    assert err.splitlines() == [
        "error: etherfi: missing credential, set the environment variable BASIS_ETHEREUM_RPC_URL",
        "error: etherfi: missing credential, set the environment variable BASIS_WALLET_ADDRESSES",
    ]


def test_monitor_with_a_missing_config_is_one_line(capsys):
    code, _, err = run(["monitor", "nope.yaml", "--once"], capsys)
    assert code == 2 and err.strip() == "error: nope.yaml: file not found"


def test_monitor_with_an_unknown_venue_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("mode: m\nvenues: [binance, kraken]\n")
    code, _, err = run(["monitor", str(cfg), "--once"], capsys)
    assert code == 2
    assert "unsupported venue 'kraken'" in err and len(err.strip().splitlines()) == 1


def test_history_with_a_reversed_date_range_is_one_line(tmp_path, capsys):
    code, _, err = run(["history", "--db", str(tmp_path / "x.sqlite"), "--start", "2025-01-01",
                        "--end", "2024-01-01"], capsys)
    assert code == 2 and err.strip() == "error: --start 2025-01-01 is after --end 2024-01-01"


def test_history_with_a_malformed_date_is_one_line(capsys):
    code, _, err = run(["history", "--start", "yesterday"], capsys)
    assert code == 2 and "--start 'yesterday': expected an ISO date" in err


def test_unknown_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["monitor"])
    assert info.value.code == 2


def test_missing_credentials_lists_only_what_the_environment_lacks():
    mode = resolve_config({"venues": ["okx"]})
    env = {"BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s"}
    assert missing_credentials(mode, env) == [
        "okx: missing credential, set the environment variable BASIS_OKX_API_PASSPHRASE"
    ]


def test_the_view_shows_venues_statuses_amounts_and_alerts():
    cfg = resolve_config({"strategy": {"family": "basis", "underlying": "BTC"}, "thresholds": {"max_staleness_s": 5}})
    fresh = VenueSnapshot(venue="binance", execution_mode="live", timestamp=utc(0),
                          fetched_at=utc(0), latency_s=0.042,
                          positions={"binance:BaseToken:BTC": Position(
                              key="binance:BaseToken:BTC", amount=1.25)})
    stale = VenueSnapshot(venue="okx", execution_mode="live", timestamp=utc(0), fetched_at=utc(0),
                          status="stale", age_s=12.5, error="VenueUnavailableError: 503",
                          positions={"okx:Perp:BTCUSDT": Position(key="okx:Perp:BTCUSDT",
                                                                  amount=-1.25)})
    snap = aggregate(utc(0), "live", {"binance": fresh, "okx": stale}, ["bybit"], cfg,
                     with_alerts=True)
    console = Console(record=True, width=160, color_system=None)
    console.print(render_snapshot(snap))
    text = console.export_text()
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    assert "ok" in rows["binance"] and "42" in rows["binance"]
    assert "stale" in rows["okx"] and "12.5" in rows["okx"]
    assert "missing" in rows["bybit"]
    assert "1.250000" in text and "-1.250000" in text
    assert "okx stale for 12 s" in text and "bybit has not reported" in text
    assert "complete=False" in text
