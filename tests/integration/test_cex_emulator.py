"""The exchange emulator as tests, demos and other processes use it."""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from factory import ExecutionInterfaceFactory
from factory.config import venue_defaults
from factory.errors import ConfigError, RateLimitedError, VenueUnavailableError
from factory.sandbox.exchange import (
    EmulatorAdminClient,
    ExchangeEmulator,
    Fault,
    VenueAccount,
    scaled_limits,
    serve_in_thread,
)
from factory.sandbox.exchange.weights import EMULATOR_LIMITS

REPO = Path(__file__).resolve().parent.parent.parent
SANDBOX = REPO / "configs" / "sandbox.yaml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for venue in ("binance", "bybit", "okx"):
        for suffix in ("API_KEY", "API_SECRET", "API_PASSPHRASE", "API_BASE_URL"):
            monkeypatch.delenv(f"BASIS_{venue.upper()}_{suffix}", raising=False)


async def read(venue: str, config: dict | None = None, hooks=None):
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", config or {})
    if hooks is not None:
        iface.set_request_hooks(before=hooks[0], after=hooks[1])
    try:
        return await iface.get_positions()
    finally:
        await iface.close()


async def test_scaled_limits_bind_the_emulator_and_the_config_alike(monkeypatch):
    """600 weight / 10 s on binance spot (240 on USD-M) on both sides: the emulator enforces its
    own table scaled, the client its config scaled alike; the used-weight headers count the
    venue's weights."""
    base = venue_defaults()["binance"]
    limits = scaled_limits(base.rate_limits, 0.1, 1 / 6)
    assert {p.name: (p.limit, p.window_s) for p in limits.pools}["spot_weight"] == (600, 10)
    served = scaled_limits(EMULATOR_LIMITS["binance"], 0.1, 1 / 6)
    async with ExchangeEmulator(limits={"binance": served}, venues=["binance"]) as emu:
        for name, value in emu.env("binance").items():
            monkeypatch.setenv(name, value)
        config = {"venue_settings": {"binance": {"rate_limits": limits.model_dump(mode="json")}}}
        sent, answers = [], []

        async def before(endpoint):
            sent.append(endpoint)

        async def after(endpoint, status, headers):
            answers.append((endpoint, status, dict(headers)))

        error = None
        for _ in range(80):
            try:
                await read("binance", config, (before, after))
            except RateLimitedError as e:
                error = e
                break
        assert error is not None and not error.banned and 0 < error.retry_after_s <= 10
        accepted = [r for r in emu.requests("binance") if r.status == 200]
        windows: dict[tuple[str, int], float] = defaultdict(float)
        for r in accepted:
            pool = "fapi" if r.path.startswith("/fapi/") else "spot"
            windows[(pool, math.floor(r.time / 10))] += r.weight
        assert max(w for (p, _), w in windows.items() if p == "fapi") <= 240
        assert max(w for (p, _), w in windows.items() if p == "spot") <= 600
        headers = [h for _, status, h in answers if status == 200]
        assert all("X-MBX-USED-WEIGHT-10S" in h for h in headers)
        assert max(int(h["X-MBX-USED-WEIGHT-10S"]) for h in headers) <= 600
        assert sum(e.weight for e, s, _ in answers if s == 200) == sum(r.weight for r in accepted)


def test_admin_api_drives_a_threaded_emulator_over_http(monkeypatch):
    with serve_in_thread() as emu:
        admin = EmulatorAdminClient(emu.url)
        assert admin.health()["venues"] == ["binance", "bybit", "okx"]
        admin.set_account("bybit", VenueAccount(wallets={"unified": {"USDT": 123.0}}))
        assert admin.account("bybit").wallets == {"unified": {"USDT": 123.0}}
        for name, value in emu.env("bybit").items():
            monkeypatch.setenv(name, value)
        assert asyncio.run(read("bybit")).amounts() == {"bybit:BaseToken:USDT": 123.0}
        admin.inject("bybit", Fault(kind="server_error", status=502, count=1))
        with pytest.raises(VenueUnavailableError):
            asyncio.run(read("bybit"))
        log = admin.requests("bybit")
        assert 502 in [r.status for r in log] and all(r.venue == "bybit" for r in log)
        admin.inject("bybit", {"kind": "rate_limit", "count": 1})
        with pytest.raises(RateLimitedError):
            asyncio.run(read("bybit"))
        assert admin.violations()["bybit"] == 1
        admin.reset()
        assert admin.requests() == [] and admin.violations()["bybit"] == 0
        with pytest.raises(ConfigError, match="wallet 'spot' is not one of unified"):
            admin.set_account("bybit", {"wallets": {"spot": {"BTC": 1}}})
        with pytest.raises(ConfigError, match="not served"):
            admin.inject("kraken", {"kind": "hang"})


def _start_cli() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory.sandbox.exchange", "--scenario", str(SANDBOX),
         "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    line = proc.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"emulator did not start: {line!r} {proc.stderr.read()!r}")
    return proc, match.group(1)


def test_cli_serves_the_sandbox_scenario_to_the_live_interfaces(monkeypatch):
    proc, url = _start_cli()
    try:
        env = {"binance": {}, "bybit": {}, "okx": {}}
        for line in iter(proc.stdout.readline, ""):
            venue = line.strip().split(":", 1)[0]
            env[venue] = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if venue == "okx":
                break
        for values in env.values():
            for name, value in values.items():
                monkeypatch.setenv(name, value)

        async def book():
            snaps = await asyncio.gather(*(read(v) for v in env))
            moving = ExecutionInterfaceFactory.create_position_interface("binance", "live", {})
            try:
                transit = await moving.get_transfers_in_transit()
            finally:
                await moving.close()
            return snaps, transit

        snaps, transit = asyncio.run(book())
        amounts = {k: a for s in snaps for k, a in s.amounts().items()}
        btc = {k: a for k, a in amounts.items() if "BTC" in k}
        assert btc == pytest.approx({
            "binance:BaseToken:BTC": 2.0, "binance:Perp:BTCUSDT": -0.8,
            "bybit:Perp:BTCUSDT": -0.6, "okx:Perp:BTCUSDT": -0.6,
        })
        assert sum(btc.values()) == pytest.approx(0.0)  # a hedged basis book
        assert sum(a for k, a in amounts.items() if "Perp:ETHUSDT" in k) == pytest.approx(-10.0)
        assert [(t.asset, t.amount, t.kind) for t in transit] == [("USDT", 10000.0, "withdrawal")]
        assert EmulatorAdminClient(url).health()["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_cli_refuses_a_bad_scenario_with_exit_status_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("venues: {okx: {wallets: {spot: {BTC: 1}}}}\n")
    done = subprocess.run([sys.executable, "-m", "factory.sandbox.exchange", "--scenario",
                           str(bad), "--port", "0"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
                          check=False)
    assert done.returncode == 2 and "wallet 'spot' is not one of trading, funding" in done.stderr


def test_a_ray_worker_in_another_process_reads_the_threaded_emulator(ray_session):
    ray = ray_session
    with serve_in_thread(scenario=SANDBOX) as emu:
        env = emu.env("okx")

        @ray.remote(num_cpus=0)
        def positions(environ: dict) -> dict:
            import asyncio as aio
            import os as _os

            _os.environ.update(environ)
            from factory import ExecutionInterfaceFactory as Factory

            async def go():
                iface = Factory.create_position_interface("okx", "live", {})
                try:
                    return (await iface.get_positions()).amounts()
                finally:
                    await iface.close()

            return aio.run(go())

        amounts = ray.get(positions.remote(env), timeout=120)
        assert amounts["okx:Perp:BTCUSDT"] == pytest.approx(-0.6)  # 60 contracts of 0.01 BTC
        assert amounts["okx:BaseToken:USDT"] == pytest.approx(47000.0)
        assert any(r.signed for r in emu.requests("okx"))
