"""The venue actors' supervisor (actors/supervisor.py): a plain reconcile loop, no Ray.

The live actors are a hand-written stub of `VenueActors` whose handles have knobs (alive, gone
for good, restarting, broken probe); the spawn entry point is a stub that records what it was
asked to start; time is a manual clock.
"""

from __future__ import annotations

import asyncio

import pytest

from actors.supervisor import ActorGoneError, ActorRestartingError, Supervisor


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Handle:
    """A venue actor handle with a knob: ``state`` is alive, gone, restarting or broken."""

    def __init__(self, venue: str, state: str = "alive"):
        self.venue, self.state = venue, state


class StubActors:
    """`VenueActors` over `Handle` stubs; each ping takes ``ping_s`` on the clock."""

    def __init__(self, clock: Clock, handles: dict[str, Handle], ping_s: float = 0.0):
        self.clock, self.handles, self.ping_s = clock, dict(handles), ping_s
        self.pinged: list[str] = []

    def current(self, venue):
        return self.handles.get(venue)

    def attach(self, venue, handle):
        self.handles[venue] = handle

    async def ping(self, venue, handle, timeout_s):
        self.pinged.append(venue)
        self.clock.now += self.ping_s
        if handle.state == "gone":
            raise ActorGoneError(venue, "venue actor died")
        if handle.state == "restarting":
            raise ActorRestartingError(venue, "venue actor restarting")
        if handle.state == "broken":
            raise RuntimeError("probe failed")


class StubSpawn:
    """The factory's spawn entry point: fresh alive handles; ``fail`` raises, ``none`` lists
    venues it cannot start (it maps them to None, as the factory does)."""

    def __init__(self, fail: bool = False, none: tuple[str, ...] = ()):
        self.fail, self.none = fail, none
        self.asked: list[str] = []

    def __call__(self, venues):
        self.asked += venues
        if self.fail:
            raise RuntimeError("cluster full")
        return {v: None if v in self.none else Handle(v) for v in venues}


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict]] = []

    def __call__(self, kind, venue, detail):
        self.seen.append((kind, venue, detail))

    def kinds(self, venue: str) -> list[str]:
        return [k for k, v, _ in self.seen if v == venue]


def supervisor(handles, spawn=None, venues=("binance", "okx"), ping_s=0.0, events=None):
    clock = Clock()
    actors = StubActors(clock, handles, ping_s)
    sup = Supervisor(venues, actors, spawn or StubSpawn(), record_event=events or Events(),
                     clock=clock, jitter=lambda: 1.0)
    return sup, actors, clock


async def test_a_gone_actor_is_replaced_once():
    spawn, events = StubSpawn(), Events()
    dead = Handle("binance", "gone")
    sup, actors, _ = supervisor({"binance": dead, "okx": Handle("okx")}, spawn, events=events)
    assert await sup.reconcile() == {"binance": "replaced", "okx": "alive"}
    assert spawn.asked == ["binance"]
    assert events.kinds("binance") == ["venue_actor_died", "venue_actor_started"]
    # the snapshot path finds the same dead handle afterwards: already replaced, no second start
    assert sup.replace("binance", "died", gone=dead) is False
    assert await sup.reconcile() == {"binance": "alive", "okx": "alive"}
    assert spawn.asked == ["binance"]
    assert actors.current("binance") is not dead and sup.states["binance"].replacements == 1


async def test_a_restarting_actor_is_not_replaced():
    spawn = StubSpawn()
    sup, actors, _ = supervisor({"binance": Handle("binance"),
                                 "okx": Handle("okx", "restarting")}, spawn)
    assert await sup.reconcile() == {"binance": "alive", "okx": "unavailable"}
    assert spawn.asked == []
    assert sup.states["okx"].error == "okx: venue actor restarting"
    actors.handles["okx"].state = "alive"  # Ray brought it back
    assert (await sup.reconcile())["okx"] == "alive" and spawn.asked == []


async def test_a_venue_in_config_with_no_actor_is_spawned():
    spawn, events = StubSpawn(), Events()
    sup, actors, _ = supervisor({"binance": Handle("binance")}, spawn, events=events)
    assert await sup.reconcile() == {"binance": "alive", "okx": "replaced"}
    assert spawn.asked == ["okx"] and actors.pinged == ["binance"]
    assert events.seen == [("venue_actor_started", "okx", {"reason": "no actor"})]
    assert (await sup.reconcile())["okx"] == "alive"


async def test_errors_of_the_spawn_are_reported_not_raised_and_retried_next_round():
    spawn, events = StubSpawn(fail=True), Events()
    sup, _, _ = supervisor({"binance": Handle("binance", "gone"), "okx": Handle("okx")}, spawn,
                           events=events)
    assert await sup.reconcile() == {"binance": "spawn_failed", "okx": "alive"}
    assert sup.states["binance"].error == "RuntimeError: cluster full"
    assert events.kinds("binance") == ["venue_actor_died", "venue_actor_start_failed"]
    spawn.fail = False
    assert (await sup.reconcile())["binance"] == "replaced"
    assert spawn.asked == ["binance", "binance"]


async def test_a_venue_the_factory_cannot_start_is_reported_not_counted_as_started():
    spawn, events = StubSpawn(none=("okx",)), Events()
    sup, actors, _ = supervisor({"binance": Handle("binance")}, spawn, events=events)
    assert (await sup.reconcile())["okx"] == "spawn_failed"
    assert actors.current("okx") is None and sup.states["okx"].replacements == 0
    assert events.kinds("okx") == ["venue_actor_start_failed"]


async def test_a_failing_probe_or_event_store_never_stops_the_round():
    def full_disk(kind, venue, detail):
        raise OSError("disk full")

    spawn = StubSpawn()
    clock = Clock()
    actors = StubActors(clock, {"binance": Handle("binance", "broken"),
                                "okx": Handle("okx", "gone")})
    sup = Supervisor(["binance", "okx"], actors, spawn, record_event=full_disk, clock=clock)
    assert await sup.reconcile() == {"binance": "error", "okx": "replaced"}
    assert sup.states["binance"].error == "RuntimeError: probe failed"


async def test_states_and_round_durations_are_timed_by_the_injected_clock():
    sup, actors, clock = supervisor({"binance": Handle("binance"), "okx": Handle("okx")},
                                    ping_s=0.25)
    await sup.reconcile()
    assert sup.last_round_s == pytest.approx(0.5)
    assert sup.states["okx"].since == pytest.approx(100.5)
    actors.handles["okx"].state = "restarting"
    clock.now = 200.0
    await sup.reconcile()
    assert sup.states["okx"].state == "unavailable"
    assert sup.states["okx"].since == pytest.approx(200.5)
    assert sup.states["binance"].since == pytest.approx(100.25)  # alive all along


async def test_the_loop_pauses_the_jittered_interval_less_the_round():
    clock = Clock()
    actors = StubActors(clock, {"binance": Handle("binance")}, ping_s=0.3)
    sup = Supervisor(["binance"], actors, StubSpawn(), clock=clock, jitter=lambda: 1.1)
    pauses: list[float] = []

    async def sleep(seconds):
        pauses.append(seconds)
        clock.now += seconds

    await sup.run(2.0, sleep=sleep, rounds=3)
    assert pauses == pytest.approx([1.9, 1.9, 1.9])  # 2.0 x 1.1 - 0.3 of pinging
    assert sup.rounds == 3 and clock.now == pytest.approx(100.0 + 3 * 2.2)


class NodeHandle(Handle):
    """A handle that answers from ``node`` (the node its actor runs on)."""

    def __init__(self, venue: str, node: str, state: str = "alive"):
        super().__init__(venue, state)
        self.node = node


class NodeActors(StubActors):
    """`VenueActors` whose pings answer the node, with the alive nodes as a knob."""

    def __init__(self, clock: Clock, handles: dict[str, Handle], alive: set[str]):
        super().__init__(clock, handles)
        self.alive = alive

    async def ping(self, venue, handle, timeout_s):
        await super().ping(venue, handle, timeout_s)
        return handle.node

    async def alive_nodes(self):
        if self.alive is None:
            raise ConnectionError("control store unreachable")
        return set(self.alive)


def on_nodes(spawn, events, **handles):
    clock = Clock()
    actors = NodeActors(clock, handles, {"node-a", "node-b"})
    sup = Supervisor(list(handles), actors, spawn, record_event=events, clock=clock,
                     alive_nodes=actors.alive_nodes)
    return sup, actors


async def test_a_venue_whose_node_died_is_left_to_rays_restart_and_says_so():
    spawn, events = StubSpawn(), Events()
    sup, actors = on_nodes(spawn, events, binance=NodeHandle("binance", "node-a"),
                           okx=NodeHandle("okx", "node-b"))
    assert await sup.reconcile() == {"binance": "alive", "okx": "alive"}
    assert sup.reason("okx") is None

    actors.alive = {"node-a"}  # node-b is gone; Ray restarts okx's actor, its ping times out
    actors.handles["okx"].state = "restarting"
    assert await sup.reconcile() == {"binance": "alive", "okx": "unavailable"}
    assert spawn.asked == []  # no second actor next to the one Ray restarts
    assert events.seen == [("venue_node_lost", "okx", {"node": "node-b"})]
    assert sup.reason("okx") == "node node-b lost; Ray is restarting the venue actor on another node"
    assert await sup.reconcile() == {"binance": "alive", "okx": "unavailable"}
    assert events.kinds("okx") == ["venue_node_lost"]  # one loss, one event

    actors.handles["okx"].state, actors.handles["okx"].node = "alive", "node-a"
    assert await sup.reconcile() == {"binance": "alive", "okx": "alive"}
    assert events.seen[-1] == ("venue_actor_moved", "okx",
                               {"from": "node-b", "to": "node-a", "node_lost": True})
    assert sup.reason("okx") is None and sup.states["okx"].node == "node-a"
    assert spawn.asked == [] and sup.states["okx"].replacements == 0


async def test_an_actor_back_on_another_node_before_the_round_saw_the_loss_is_recorded_moved():
    events = Events()
    sup, actors = on_nodes(StubSpawn(), events, okx=NodeHandle("okx", "node-b"))
    await sup.reconcile()
    actors.alive = None  # the node listing fails: the pings still tell what answers
    actors.handles["okx"].node = "node-a"
    assert await sup.reconcile() == {"okx": "alive"}
    assert events.seen == [("venue_actor_moved", "okx",
                            {"from": "node-b", "to": "node-a", "node_lost": False})]


async def test_a_replaced_actor_starts_with_no_node_known():
    spawn, events = StubSpawn(), Events()
    sup, actors = on_nodes(spawn, events, okx=NodeHandle("okx", "node-b"))
    await sup.reconcile()
    actors.handles["okx"].state = "gone"
    assert await sup.reconcile() == {"okx": "replaced"}
    assert sup.states["okx"].node is None and sup.reason("okx") is None
    assert "venue_node_lost" not in events.kinds("okx")


async def test_a_round_probes_every_venue_at_once_so_stuck_actors_do_not_add_up():
    class Concurrent(StubActors):
        def __init__(self, clock, handles):
            super().__init__(clock, handles)
            self.in_flight = self.most = 0

        async def ping(self, venue, handle, timeout_s):
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            await asyncio.sleep(0)  # the other probes start before this one ends
            self.in_flight -= 1
            await super().ping(venue, handle, timeout_s)

    clock = Clock()
    actors = Concurrent(clock, {"binance": Handle("binance", "restarting"),
                                "okx": Handle("okx", "restarting"), "bybit": Handle("bybit")})
    sup = Supervisor(["binance", "okx", "bybit"], actors, StubSpawn(), clock=clock)
    assert await sup.reconcile() == {"binance": "unavailable", "okx": "unavailable",
                                     "bybit": "alive"}
    assert actors.most == 3
