"""The live monitor on a local Ray, through real ccxt and web3 against the sandboxes.

Six venues (binance, bybit, okx over the exchange emulator; aave_v3, etherfi and wallet on
anvil), one venue actor each, the PositionMonitor supervising them.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import ray

from actors.engine import EventDrivenStrategyEngine
from factory.config import resolve_config
from factory.sandbox.chain import venue_settings_for
from factory.sandbox.exchange import Fault
from tests.integration.live_helpers import eventually

SIX = ["binance", "bybit", "okx", "aave_v3", "etherfi", "wallet"]
DEADLINE_S = 1.0


def live_mode(sandbox, venues=SIX, **extra):
    settings = {k: v for k, v in venue_settings_for(sandbox).items() if k in venues}
    settings.update(extra.pop("venue_settings", {}))
    return resolve_config({
        "mode": "live_test",
        "venues": venues,
        "monitor": {"deadline_s": DEADLINE_S},
        "strategy": {"family": "basis", "underlying": "BTC"},
        "venue_settings": settings,
        **extra,
    })


@pytest.fixture
def engine(ray_session, clean_exchange, chain, tmp_path):
    eng = EventDrivenStrategyEngine(
        live_mode(chain.sandbox), "live", store_path=str(tmp_path / "history.sqlite")
    )
    eventually(lambda: eng.get_real_positions().complete, 60, 0.2, "a first complete snapshot")
    yield eng
    eng.shutdown()


def snapshot_timed(eng):
    t0 = time.monotonic()
    snap = eng.get_real_positions()
    return snap, time.monotonic() - t0


def test_a_slow_and_a_failing_venue_are_stale_and_the_answer_is_on_time(engine, clean_exchange):
    # a complete book to compare with (the wallet's transfer reads share its 1 s deadline)
    good = eventually(lambda: (s := engine.get_real_positions()).complete and s, 20, 0.2,
                      "a complete snapshot before the faults")
    assert set(good.venues) == set(SIX)
    clean_exchange.inject("bybit", Fault(kind="latency", delay_s=5.0))
    clean_exchange.inject("okx", Fault(kind="server_error", status=503))
    time.sleep(0.3)
    snap, elapsed = snapshot_timed(engine)
    assert elapsed <= DEADLINE_S + 0.1, f"snapshot took {elapsed:.3f} s"
    assert {v: s.status for v, s in snap.venues.items()} == {
        "binance": "ok", "bybit": "stale", "okx": "stale", "aave_v3": "ok", "etherfi": "ok",
        "wallet": "ok",
    }
    for venue in ("bybit", "okx"):
        stale = snap.venues[venue]
        assert stale.positions == good.venues[venue].positions
        assert stale.age_s >= 0.3 and stale.error
        assert snap.positions[f"{venue}:Perp:BTCUSDT"] == good.positions[f"{venue}:Perp:BTCUSDT"]
    assert "VenueTimeoutError" in snap.venues["bybit"].error or "deadline" in snap.venues["bybit"].error
    assert not snap.complete
    # the venue's own typed error, not Ray's wrapping of it (no remote traceback in the text)
    assert "RayTaskError" not in snap.venues["okx"].error and "ray::" not in snap.venues["okx"].error
    assert snap.venues["okx"].error.split(":")[0] in {
        "VenueUnavailableError", "VenueTimeoutError", "RateLimitedError"}
    clean_exchange.clear_faults()
    recovered = eventually(lambda: (s := engine.get_real_positions()).complete and s, 20, 0.2,
                           "recovery after the faults are cleared")
    assert recovered.venues["okx"].status == "ok"


def test_killing_a_venue_actor_process_recovers_within_5_s(engine):
    handle = ray.get_actor("venue:okx")
    pid = ray.get(handle.ping.remote())
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def okx_fresh():
        snap = engine.get_real_positions()
        return snap.venues.get("okx") and snap.venues["okx"].status == "ok" and snap.complete

    eventually(okx_fresh, 10, 0.1, "okx fresh again")
    assert time.monotonic() - killed_at <= 5.0
    assert ray.get(ray.get_actor("venue:okx").ping.remote()) != pid


def test_a_venue_actor_gone_for_good_is_replaced_through_the_factory(engine):
    ray.kill(ray.get_actor("venue:bybit"), no_restart=True)
    eventually(lambda: engine.get_real_positions().venues["bybit"].status == "ok", 15, 0.2,
               "bybit replaced and fresh")
    events = ray.get(engine.position_monitor.events.remote("venue_actor_started"))
    assert any(e["venue"] == "bybit" and e["detail"]["reason"] != "initial start" for e in events)


def test_a_killed_monitor_restarts_and_serves_the_history_recorded_before(engine):
    taken = [engine.get_real_positions().timestamp for _ in range(3)]
    before = ray.get(engine.position_monitor.get_position_history.remote())
    pid = ray.get(engine.position_monitor.pid.remote())
    os.kill(pid, signal.SIGKILL)
    after = eventually(lambda: ray.get(engine.position_monitor.get_position_history.remote(),
                                       timeout=5), 30, 0.2, "restarted monitor answering")
    assert ray.get(engine.position_monitor.pid.remote()) != pid
    assert [s.timestamp for s in after][: len(before)] == [s.timestamp for s in before]
    assert set(taken) <= {s.timestamp for s in after}
    eventually(lambda: engine.get_real_positions().complete, 30, 0.2, "snapshots after restart")


def test_the_engine_live_loop_takes_a_snapshot_every_interval(engine):
    before = len(ray.get(engine.position_monitor.get_position_history.remote()))
    t0 = time.monotonic()
    taken = ray.get(engine.run(interval_s=0.3, count=4), timeout=30)
    elapsed = time.monotonic() - t0
    after = ray.get(engine.position_monitor.get_position_history.remote())
    assert taken == 4 and len(after) == before + 4
    assert elapsed >= 3 * 0.3
    assert all(s.complete for s in after[before:])
