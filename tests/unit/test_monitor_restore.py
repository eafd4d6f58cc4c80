"""A monitor restart keeps the last good values (actors/monitor.py, actors/store.py) and the
driver waits for a restarting monitor (actors/engine.py `RestartWaiter`); no Ray here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError

from actors.engine import MonitorUnavailableError, RestartWaiter
from actors.monitor import PositionMonitor
from actors.store import SnapshotStore
from factory.config import resolve_config
from factory.errors import VenueUnavailableError
from factory.positions import Position, VenueSnapshot, utc

MODE = resolve_config({"mode": "restore", "venues": ["binance", "okx"],
                       "monitor": {"deadline_s": 0.5}})
T0 = utc("2026-01-05T08:00:00Z")


def venue_snap(venue: str, amount: float, fetched_at, status="ok") -> VenueSnapshot:
    key = f"{venue}:Perp:BTCUSDT"
    return VenueSnapshot(venue=venue, execution_mode="live", timestamp=fetched_at,
                         fetched_at=fetched_at, status=status,
                         positions={key: Position(key=key, amount=amount)})


class Client:
    """A venue client that answers a fixed snapshot or raises a fixed error."""

    def __init__(self, venue, answer):
        self.venue, self.answer = venue, answer

    async def snapshot(self, timestamp):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Clocks:
    """A manual monotonic clock and a wall clock that move together."""

    def __init__(self, wall):
        self.mono, self.wall = 5000.0, wall

    def advance(self, seconds):
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


def monitor(clients, clocks):
    return PositionMonitor(None, MODE, "live", clients=clients, clock=lambda: clocks.mono,
                           wall_clock=lambda: clocks.wall)


async def test_a_venue_failing_after_a_restart_is_stale_with_its_restored_values_and_true_age():
    clocks = Clocks(T0 + timedelta(seconds=40))  # the restart happens 40 s after the fetch
    down = VenueUnavailableError("okx", "HTTP 503")
    mon = monitor({"binance": Client("binance", venue_snap("binance", -0.4, T0)),
                   "okx": Client("okx", down)}, clocks)
    restored = mon.restore_last_good({"okx": venue_snap("okx", -0.6, T0)})
    assert restored == ["okx"]
    clocks.advance(2.5)
    snap = await mon.get_real_positions(clocks.wall)
    okx = snap.venues["okx"]
    assert okx.status == "stale" and okx.age_s == pytest.approx(42.5)
    assert okx.fetched_at == T0 and okx.positions["okx:Perp:BTCUSDT"].amount == -0.6
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.6 and snap.missing == []
    assert "HTTP 503" in okx.error and not snap.complete


async def test_without_restore_the_same_failure_is_missing_not_zero():
    clocks = Clocks(T0)
    mon = monitor({"binance": Client("binance", venue_snap("binance", -0.4, T0)),
                   "okx": Client("okx", VenueUnavailableError("okx", "HTTP 503"))}, clocks)
    snap = await mon.get_real_positions(T0)
    assert snap.missing == ["okx"] and "okx:Perp:BTCUSDT" not in snap.positions


async def test_a_fresher_answer_wins_over_a_restored_one_and_unknown_venues_are_ignored():
    clocks = Clocks(T0 + timedelta(seconds=10))
    mon = monitor({"binance": Client("binance", venue_snap("binance", -0.4, clocks.wall)),
                   "okx": Client("okx", venue_snap("okx", -0.7, clocks.wall))}, clocks)
    await mon.get_real_positions(clocks.wall)
    restored = mon.restore_last_good({"okx": venue_snap("okx", -0.6, T0),
                                      "bybit": venue_snap("bybit", -0.1, T0)})
    assert restored == []
    mon.clients["okx"].answer = VenueUnavailableError("okx", "HTTP 503")
    clocks.advance(1.0)
    snap = await mon.get_real_positions(clocks.wall)
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.7
    assert snap.venues["okx"].age_s == pytest.approx(1.0)


def test_the_store_gives_each_venues_newest_fresh_snapshot_skipping_stale_rows(tmp_path):
    from actors.monitor import aggregate

    store = SnapshotStore(tmp_path / "h.sqlite")
    okx_good = venue_snap("okx", -0.6, T0)
    rows = [
        {"binance": venue_snap("binance", -0.3, T0), "okx": okx_good},
        {"binance": venue_snap("binance", -0.4, T0 + timedelta(seconds=1)),
         "okx": okx_good.model_copy(update={"status": "stale", "age_s": 1.0})},
    ]
    for i, venues in enumerate(rows):
        store.append(aggregate(T0 + timedelta(seconds=i), "live", venues, [], MODE))
    for _ in range(300):  # more rows than one read batch, none with okx fresh
        store.append(aggregate(T0 + timedelta(seconds=9), "live",
                               {"binance": rows[1]["binance"]}, ["okx"], MODE))
    last = store.last_good(["binance", "okx", "bybit"])
    assert sorted(last) == ["binance", "okx"]  # bybit never answered: absent, not zero
    assert last["okx"] == okx_good
    assert last["binance"].positions["binance:Perp:BTCUSDT"].amount == -0.4
    assert SnapshotStore(tmp_path / "empty.sqlite").last_good(["okx"]) == {}


class ManualTime:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds


def test_a_restarting_monitor_is_waited_for_and_the_call_answers():
    time = ManualTime()
    answers = [ActorUnavailableError("restarting", None), ActorDiedError(), "snapshot"]

    def call():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waiter = RestartWaiter(wait_s=60, poll_s=0.5, clock=lambda: time.now, sleep=time.sleep)
    assert waiter.call(call) == "snapshot"
    assert waiter.restarts_seen == 1 and time.now == 1.0


def test_a_monitor_that_never_comes_back_fails_after_the_bound_and_other_errors_at_once():
    time = ManualTime()
    waiter = RestartWaiter(wait_s=5, poll_s=1, clock=lambda: time.now, sleep=time.sleep)

    def down():
        raise ActorUnavailableError("restarting", None)

    with pytest.raises(MonitorUnavailableError, match="within 5 s"):
        waiter.call(down)
    assert time.now == 5

    def broken():
        raise ValueError("bad snapshot")

    with pytest.raises(ValueError):
        waiter.call(broken)
