"""The CLI end to end against the sandboxes, as a user runs it (a subprocess with its own Ray)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from factory.positions import PortfolioSnapshot
from factory.sandbox.chain import venue_settings_for

REPO = Path(__file__).resolve().parents[2]
SEVEN = ["binance", "bybit", "okx", "aave_v3", "etherfi", "lido", "wallet"]


def basis(args, env, timeout=180):
    full_env = {**os.environ, **env, "RAY_USAGE_STATS_ENABLED": "0"}
    full_env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "actors.cli", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def write_mode(tmp_path, sandbox, **settings):
    venue_settings = {k: v for k, v in venue_settings_for(sandbox).items()}
    for venue, extra in settings.items():
        venue_settings.setdefault(venue, {}).update(extra)
    path = tmp_path / "mode.yaml"
    path.write_text(yaml.safe_dump({
        "mode": "cli_live", "venues": SEVEN, "monitor": {"deadline_s": 2.0},
        "venue_settings": venue_settings,
    }))
    return path


def test_monitor_once_json_prints_a_valid_portfolio_snapshot(clean_exchange, sandbox,
                                                             live_environ, tmp_path):
    cfg = write_mode(tmp_path, sandbox)
    out = basis(["monitor", str(cfg), "--once", "--json", "--db", str(tmp_path / "h.sqlite")],
                live_environ)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    snap = PortfolioSnapshot.model_validate_json(out.stdout)
    assert snap.complete and sorted(snap.venues) == sorted(SEVEN)
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.6
    assert snap.net_exposure["BTC"] == 0.0
    assert json.loads(out.stdout)["execution_mode"] == "live"


def test_an_unreachable_venue_is_one_clear_line_and_a_non_zero_exit(clean_exchange, sandbox,
                                                                    live_environ, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    cfg = write_mode(tmp_path, sandbox, binance={"api_base_url": f"http://127.0.0.1:{dead}"})
    env = {k: v for k, v in live_environ.items() if k != "BASIS_BINANCE_API_BASE_URL"}
    out = basis(["monitor", str(cfg), "--once", "--db", str(tmp_path / "h.sqlite")], env)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: binance: unreachable")


def test_monitor_once_takes_its_snapshot_in_this_process_without_ray(clean_exchange, sandbox,
                                                                      live_environ, tmp_path):
    cfg = write_mode(tmp_path, sandbox)
    db = tmp_path / "h.sqlite"
    full_env = {**os.environ, **live_environ, "RAY_USAGE_STATS_ENABLED": "0"}
    full_env.pop("RAY_ADDRESS", None)
    out = subprocess.run(  # -X importtime lists every module the command imported, on stderr
        [sys.executable, "-X", "importtime", "-m", "actors.cli", "monitor", str(cfg), "--once",
         "--json", "--db", str(db)], cwd=REPO, env=full_env, capture_output=True, text=True,
        timeout=180, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ccxt.base.exchange" in imported and "web3" in imported  # the venues were read
    assert "ray" not in imported  # no Ray session, not even the import
    snap = PortfolioSnapshot.model_validate_json(out.stdout)
    assert snap.complete and sorted(snap.venues) == sorted(SEVEN)
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.6
    assert not snap.unknown  # the wallet read the exchanges' transfers in transit too
    from actors.store import SnapshotStore

    store = SnapshotStore(str(db))
    try:
        assert [s.timestamp for s in store.query()] == [snap.timestamp]  # recorded once
    finally:
        store.close()
