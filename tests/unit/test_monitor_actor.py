"""The PositionMonitor actor's supervision and history, without a Ray cluster
(actors/monitor_actor.py over actors/ray_calls.py and actors/supervisor.py).

All Ray calls towards a venue actor go through `actors.ray_calls` (`ActorVenueClient`,
`RayVenueActors`), so the shell runs here on hand-written venue-actor stubs with knobs (ok, dead
for good, restarting, slow) that raise Ray's own exceptions, and a stub factory that records what
it was asked to spawn.
"""

from __future__ import annotations

import asyncio

import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError

from actors.monitor_actor import PositionMonitorActor
from actors.ray_calls import DEADLINE_MARGIN_S, ActorVenueClient
from factory.config import resolve_config
from factory.errors import VenueUnavailableError
from factory.positions import Position, VenueSnapshot, utc

MODE = {"mode": "sup", "venues": ["binance", "okx"], "monitor": {"deadline_s": 0.5}}


@pytest.fixture(autouse=True)
def _metrics_in_memory(monkeypatch):
    """The actor picks Ray metrics when Ray is up (it is, late in a whole-suite run)."""
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: False)


class Method:
    """``handle.method.remote(...)`` of a stub actor: an awaitable of the stub's answer."""

    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args):
        return self.fn(*args)


class StubVenueActor:
    """A venue actor with knobs: ``state`` is ok, dead (gone for good), restarting or slow."""

    def __init__(self, venue: str, amount: float = -0.3, state: str = "ok"):
        self.venue, self.amount, self.state = venue, amount, state
        self.budgets: list[float | None] = []
        self.snapshot = Method(self._snapshot)
        self.ping = Method(self._ping)
        self.node_id = Method(self._node_id)

    async def _answer(self):
        if self.state == "dead":
            raise ActorDiedError()
        if self.state == "restarting":
            raise ActorUnavailableError("restarting", None)
        if self.state == "slow":
            await asyncio.sleep(5)

    async def _snapshot(self, timestamp, budget):
        self.budgets.append(budget)
        await self._answer()
        key = f"{self.venue}:Perp:BTCUSDT"
        return VenueSnapshot(venue=self.venue, execution_mode="live", timestamp=utc(timestamp),
                             fetched_at=utc(), positions={key: Position(key=key,
                                                                        amount=self.amount)})

    async def _ping(self):
        await self._answer()
        return 1234

    async def _node_id(self):
        await self._answer()
        return "node-a"


class StubFactory:
    """Spawns fresh ok stubs and records the venues it was asked for; ``fail`` makes it raise."""

    def __init__(self, fail: bool = False):
        self.spawned: list[str] = []
        self.fail = fail

    def spawn_position_actors(self, venues, execution_mode, config, limit_scale=1.0):
        if self.fail:
            raise RuntimeError("cluster full")
        self.spawned += venues
        return {v: StubVenueActor(v) for v in venues}


def monitor(handles, factory=None) -> PositionMonitorActor:
    return PositionMonitorActor(factory or StubFactory(), resolve_config(MODE), "live",
                                venue_handles=handles, store_path=":memory:")


async def test_missing_venue_actors_are_started_through_the_factory_at_start():
    factory = StubFactory()
    mon = monitor({"binance": StubVenueActor("binance")}, factory)
    assert factory.spawned == ["okx"]
    started = mon.events("venue_actor_started")
    assert [(e["venue"], e["detail"]["reason"]) for e in started] == [("okx", "initial start")]
    assert mon.venues() == ["binance", "okx"]


async def test_supervision_replaces_a_dead_actor_and_leaves_a_restarting_one_to_ray():
    factory = StubFactory()
    handles = {"binance": StubVenueActor("binance", state="dead"),
               "okx": StubVenueActor("okx", state="restarting")}
    mon = monitor(handles, factory)
    states = await mon.supervise_once()
    assert states == {"binance": "replaced", "okx": "unavailable"}
    assert factory.spawned == ["binance"]
    assert [e["venue"] for e in mon.events("venue_actor_died")] == ["binance"]
    assert (await mon.supervise_once())["binance"] == "alive"


async def test_a_factory_that_fails_never_stops_supervision():
    mon = monitor({"binance": StubVenueActor("binance", state="dead"),
                   "okx": StubVenueActor("okx")}, StubFactory(fail=True))
    states = await mon.supervise_once()
    assert states == {"binance": "spawn_failed", "okx": "alive"}
    assert mon.events("venue_actor_started") == []  # nothing started, nothing pretended
    failed = mon.events("venue_actor_start_failed")
    assert [(e["venue"], e["detail"]["error"]) for e in failed] == [
        ("binance", "RuntimeError: cluster full")]


async def test_a_snapshot_that_finds_its_actor_dead_hands_it_to_the_supervisor_at_once():
    factory = StubFactory()
    mon = monitor({"binance": StubVenueActor("binance"),
                   "okx": StubVenueActor("okx", state="dead")}, factory)
    try:
        snap = await mon.get_real_positions(utc(0))
    finally:
        mon._supervision.cancel()
    reasons = {a.venue: a.message for a in snap.alerts if a.kind == "missing_venue"}
    assert snap.missing == ["okx"] and "VenueUnavailableError" in reasons["okx"]
    assert factory.spawned == ["okx"]
    assert mon.actors.current("okx").state == "ok"  # the replacement answers next time


async def test_the_venue_actor_gets_the_deadline_minus_the_margin():
    actor = StubVenueActor("okx")
    mon = monitor({"binance": StubVenueActor("binance"), "okx": actor})
    await ActorVenueClient("okx", mon.actors, mon.supervisor, 0.5).snapshot(utc(0))
    assert actor.budgets == [pytest.approx(0.5 - DEADLINE_MARGIN_S)]


async def test_a_restarting_actor_is_unavailable_and_not_replaced():
    factory = StubFactory()
    mon = monitor({"binance": StubVenueActor("binance"),
                   "okx": StubVenueActor("okx", state="restarting")}, factory)
    with pytest.raises(VenueUnavailableError, match="restarting"):
        await ActorVenueClient("okx", mon.actors, mon.supervisor, 0.5).snapshot(utc(0))
    assert factory.spawned == []


async def test_every_snapshot_is_persisted_before_it_is_returned_and_a_slow_venue_goes_stale():
    okx = StubVenueActor("okx")
    mon = monitor({"binance": StubVenueActor("binance"), "okx": okx})
    try:
        first = await mon.get_real_positions(utc(0))
        okx.state = "slow"
        second = await mon.get_real_positions(utc(1))
    finally:
        mon._supervision.cancel()
    assert first.complete and not second.complete
    assert second.venues["okx"].status == "stale" and second.positions["okx:Perp:BTCUSDT"] == -0.3
    assert "VenueTimeoutError" in second.venues["okx"].error
    assert [s.timestamp for s in mon.get_position_history()] == [utc(0), utc(1)]
    key = ("basis_venue_staleness_seconds", (("venue", "okx"),))
    assert mon.metrics.sink.values[key] == second.venues["okx"].age_s


async def test_the_live_loop_takes_the_asked_number_of_snapshots_and_survives_failures():
    mon = monitor({"binance": StubVenueActor("binance"), "okx": StubVenueActor("okx")})
    mon.store.close()  # persisting now fails: the loop logs and goes on
    try:
        assert await mon.run(interval_s=0.01, count=3) == 3
    finally:
        mon._supervision.cancel()
