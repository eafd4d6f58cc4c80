"""The monitor survives restarts: last good values come back from history with their true age,
and a running ``basis monitor --json`` outlives kills of its monitor and venue actors.

Real parts: a local Ray, the monitor and venue actors, real ccxt against the exchange emulator,
web3 against anvil, the SQLite history.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import ray
import yaml

from actors.engine import EventDrivenStrategyEngine
from actors.store import SnapshotStore
from factory.config import resolve_config
from factory.positions import PortfolioSnapshot
from factory.sandbox.chain import venue_settings_for
from factory.sandbox.exchange import Fault
from tests.integration.live_helpers import eventually
from tests.integration.proc_helpers import descendants, title

REPO = Path(__file__).resolve().parents[2]
VENUES = ["binance", "okx", "aave_v3"]
DEADLINE_S = 3.0


def mode_dict(sandbox) -> dict:
    settings = {k: v for k, v in venue_settings_for(sandbox).items() if k in VENUES}
    return {"mode": "restart_test", "venues": VENUES, "monitor": {"deadline_s": DEADLINE_S},
            "strategy": {"family": "basis", "underlying": "BTC"}, "venue_settings": settings}


def test_a_venue_failing_right_after_a_monitor_restart_is_stale_with_its_last_good_snapshot(
        ray_session, clean_exchange, chain, tmp_path):
    engine = EventDrivenStrategyEngine(resolve_config(mode_dict(chain.sandbox)), "live",
                                       store_path=str(tmp_path / "history.sqlite"),
                                       restart_wait_s=120)
    try:
        good = eventually(lambda: (s := engine.get_real_positions()).complete and s, 90, 0.2,
                          "a first complete snapshot")
        last_okx = good.venues["okx"]
        clean_exchange.inject("okx", Fault(kind="server_error", status=503))
        old_pid = ray.get(engine.position_monitor.pid.remote(), timeout=30)
        os.kill(old_pid, signal.SIGKILL)
        snap = engine.get_real_positions(timeout_s=60)  # waits while Ray restarts the monitor
        new_pid = ray.get(engine.position_monitor.pid.remote(), timeout=30)
    finally:
        engine.shutdown()
    assert new_pid != old_pid and engine.restarts.restarts_seen == 1
    okx = snap.venues["okx"]
    assert okx.status == "stale" and snap.missing == []
    # the values and the fetch time the venue gave before the restart, not a reset
    assert okx.positions == last_okx.positions and okx.account == last_okx.account
    assert okx.fetched_at == last_okx.fetched_at and okx.timestamp == last_okx.timestamp
    assert snap.positions["okx:Perp:BTCUSDT"] == good.positions["okx:Perp:BTCUSDT"]
    # its age is the time since that fetch, across the restart
    true_age = (snap.timestamp - last_okx.fetched_at).total_seconds()
    assert true_age - 0.1 <= okx.age_s <= true_age + DEADLINE_S + 1.0
    assert snap.venues["binance"].status == "ok" and not snap.complete


def actor_pids(cli: subprocess.Popen, marker: str) -> set[int]:
    """Processes of the CLI's actors whose title contains ``marker`` (Ray titles an actor's
    process ``ray::<class>`` or ``ray::<class>.<method running>``)."""
    return {pid for pid in descendants(cli.pid) if marker in title(pid)}


def test_basis_monitor_json_survives_two_monitor_kills_and_a_venue_kill(
        clean_exchange, sandbox, live_environ, tmp_path):
    cfg = tmp_path / "mode.yaml"
    cfg.write_text(yaml.safe_dump(mode_dict(sandbox)))
    db = tmp_path / "history.sqlite"
    env = {**os.environ, **live_environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    stderr = open(tmp_path / "stderr.txt", "w")  # noqa: SIM115 - the child writes it meanwhile
    cli = subprocess.Popen(
        [sys.executable, "-m", "actors.cli", "monitor", str(cfg), "--json", "--interval", "1",
         "--db", str(db)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(cli.stdout.readline, "")),
                              daemon=True)
    reader.start()

    def until(cond, timeout_s: float, what: str):
        """Poll ``cond`` every 0.1 s; fail at once if the CLI exits, or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert cli.poll() is None, f"basis monitor exited with {cli.returncode} ({what})"
            found = cond()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{what} not reached within {timeout_s} s")

    try:
        until(lambda: any('"complete":true' in x for x in lines), 180, "a complete snapshot")
        kills = [("ray::PositionMonitorActor", 1), ("ray::PositionMonitorActor", 1),
                 ("ray::VenuePositionActor", len(VENUES))]
        for marker, running in kills:
            pids = until(lambda m=marker, k=running: len(p := actor_pids(cli, m)) == k and p,
                         120, f"{running} {marker} process(es)")
            victim = min(pids)
            os.kill(victim, signal.SIGKILL)
            seen = len(lines)
            until(lambda m=marker, k=running, v=victim, n=seen: len(lines) >= n + 3 and (
                  len(p := actor_pids(cli, m)) == k and v not in p), 180,
                  f"{marker} restarted and three more snapshots printed")
        until(lambda n=seen: any('"complete":true' in x for x in lines[n + 3:]), 120,
              "a complete snapshot after the last kill")
    finally:
        cli.send_signal(signal.SIGINT)
        cli.wait(60)
        reader.join(10)
        stderr.close()
    err = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in err and "constructor arguments in the object store" not in err
    printed = [PortfolioSnapshot.model_validate(json.loads(line)) for line in lines]
    assert len(printed) >= 10
    history = {s.timestamp: s for s in SnapshotStore(db).query()}
    for snap in printed:  # every snapshot shown is in the history, with the same contents
        assert history[snap.timestamp] == snap
    first_complete = next(i for i, s in enumerate(printed) if s.complete)
    assert all(s.missing == [] for s in printed[first_complete:])  # restarts never drop a venue
    starts = SnapshotStore(db).events("monitor_started")
    assert len(starts) == 3 and sorted(starts[-1]["detail"]["restored"]) == sorted(VENUES)
