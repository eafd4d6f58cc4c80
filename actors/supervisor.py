"""The venue actors' supervisor: a reconcile loop over the venues in config and their actors.

Each round compares the venues the mode enables with the live venue actors and acts per venue:

| what the probe finds | state | action |
|---|---|---|
| the actor answered its ping | ``alive`` | none |
| no actor for the venue | ``replaced`` | start one through the factory's spawn entry point |
| the actor died for good (`ActorGoneError`) | ``replaced`` | start a new one, event ``venue_actor_died`` |
| the actor is restarting or slow (`ActorRestartingError`) | ``unavailable`` | none: Ray restarts it |
| the node it last answered from is no longer alive | ``unavailable`` | none: Ray restarts it on an alive node; event ``venue_node_lost`` |
| the spawn failed or returned no actor | ``spawn_failed`` | reported (event, log), tried next round |
| the probe itself failed | ``error`` | logged; the round goes on |

A ping answers with the id of the node the actor runs on. With ``alive_nodes`` given, each round
first asks which nodes are alive: a venue whose actor last answered from a node that is gone is
``unavailable`` at once (without waiting for its ping to time out), its reason names the lost
node until the actor answers again, from another node (event ``venue_actor_moved``). Ray, not
the supervisor, restarts such an actor (it keeps its name and restarts left), so nothing is
spawned for it: a second actor of the same venue would never be started.

A round probes every venue at once, so it lasts at most one ping timeout however many actors
are stuck. Every step is guarded, so one venue's failure never stops the round, and no round
ever stops the loop. The supervisor talks to the actors only through `VenueActors`
(implemented over Ray handles in `actors.ray_calls`), so it is tested with a hand-written stub;
it has no Ray dependency. Time comes from the injected clock; the loop's pause comes from the
injected ``sleep`` and is jittered (x0.9 to x1.1) so many monitors never probe in step.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from factory.errors import VenueUnavailableError

__all__ = [
    "ActorGoneError",
    "ActorRestartingError",
    "Supervisor",
    "VenueActorState",
    "VenueActors",
]

log = logging.getLogger("basis.supervisor")

#: Seconds a ping may take before the actor counts as unavailable this round.
PING_TIMEOUT_S = 2.0


class ActorGoneError(VenueUnavailableError):
    """The venue's actor died for good: Ray will not restart it, a new one must be started."""


class ActorRestartingError(VenueUnavailableError):
    """The venue's actor is not answering now (Ray is restarting it, or it is slow)."""


class VenueActors(Protocol):
    """The live venue actors as the supervisor sees them; handles are opaque values."""

    def current(self, venue: str) -> Any | None:
        """The venue's actor handle, or None when it has none."""
        ...

    def attach(self, venue: str, handle: Any | None) -> None:
        """Make ``handle`` the venue's actor (None: it has none)."""
        ...

    async def ping(self, venue: str, handle: Any, timeout_s: float) -> str | None:
        """Return when the actor answers: the id of the node it runs on (None: not known).

        Raises:
            ActorGoneError: the actor died for good.
            ActorRestartingError: the actor is restarting or did not answer in ``timeout_s``.
        """
        ...


SpawnFn = Callable[[list[str]], Mapping[str, Any]]
NodesFn = Callable[[], Awaitable[set[str]]]
EventFn = Callable[[str, str, dict], None]


@dataclass
class VenueActorState:
    """What the supervisor last found for one venue.

    Attributes:
        state: ``alive``, ``replaced``, ``unavailable``, ``spawn_failed`` or ``error``.
        since: clock time the venue entered this state.
        replacements: actors started for the venue (the first start included).
        error: the last failure in one line, or None.
        node: the node the actor last answered from, or None.
        lost_node: the node that died under the actor, until the actor answers again.
    """

    state: str = "unknown"
    since: float = 0.0
    replacements: int = 0
    error: str | None = None
    node: str | None = None
    lost_node: str | None = None


def _no_event(kind: str, venue: str, detail: dict) -> None:
    """Default event sink: events are only logged."""


def _jitter() -> float:
    return random.uniform(0.9, 1.1)


class Supervisor:
    """Keeps one live actor per configured venue.

    Args:
        venues: the venues the mode enables.
        actors: the live venue actors (`VenueActors`).
        spawn: the factory's spawn entry point for a list of venues; returns venue -> handle
            (None for a venue it could not start).
        record_event: ``record_event(kind, venue, detail)``, e.g. the history store's.
        clock: monotonic seconds.
        ping_timeout_s: how long a ping may take.
        jitter: factor applied to each pause of the loop.
        alive_nodes: returns the ids of the alive nodes (None: node losses are not watched).
    """

    def __init__(
        self,
        venues: Iterable[str],
        actors: VenueActors,
        spawn: SpawnFn,
        record_event: EventFn = _no_event,
        clock: Callable[[], float] = time.monotonic,
        ping_timeout_s: float = PING_TIMEOUT_S,
        jitter: Callable[[], float] = _jitter,
        alive_nodes: NodesFn | None = None,
    ):
        self.venues = list(venues)
        self.actors = actors
        self.spawn = spawn
        self.record_event = record_event
        self.clock = clock
        self.ping_timeout_s = ping_timeout_s
        self.jitter = jitter
        self.alive_nodes = alive_nodes
        self.states: dict[str, VenueActorState] = {v: VenueActorState() for v in self.venues}
        self.rounds = 0
        self.last_round_s = 0.0

    def _set(self, venue: str, state: str, error: str | None = None) -> str:
        current = self.states.setdefault(venue, VenueActorState())
        if current.state != state:
            current.state, current.since = state, self.clock()
        current.error = error
        return state

    def _event(self, kind: str, venue: str, detail: dict | None = None) -> None:
        try:
            self.record_event(kind, venue, detail or {})
        except Exception as exc:  # noqa: BLE001 - a full disk never stops supervision
            log.warning("could not record %s for %s: %s", kind, venue, exc)

    def replace(self, venue: str, reason: str, gone: Any | None = None) -> bool:
        """Start (or re-attach to) the venue's actor through the spawn entry point.

        Args:
            venue: the venue.
            reason: why, recorded with the event.
            gone: the handle found dead; when the venue already has another actor (someone
                replaced it meanwhile) nothing is started, so one death is one replacement.

        Returns:
            True when a new actor is attached. A failed spawn is logged and recorded as a
            ``venue_actor_start_failed`` event, never raised.
        """
        if gone is not None and self.actors.current(venue) is not gone:
            return False
        try:
            handle = self.spawn([venue]).get(venue)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            error = f"{type(exc).__name__}: {exc}"
        else:
            if handle is not None:
                self.actors.attach(venue, handle)
                state = self.states.setdefault(venue, VenueActorState())
                state.replacements += 1
                state.node = state.lost_node = None
                self._set(venue, "replaced")
                self._event("venue_actor_started", venue, {"reason": reason})
                return True
            error = "the factory started no actor (see its log)"
        log.warning("could not start venue actor %s: %s", venue, error)
        self._set(venue, "spawn_failed", error)
        self._event("venue_actor_start_failed", venue, {"reason": reason, "error": error})
        return False

    def reason(self, venue: str) -> str | None:
        """Why the venue's actor does not serve, as last found (None: alive or not known)."""
        state = self.states.get(venue)
        if state is None:
            return None
        if state.lost_node is not None:
            return (f"node {state.lost_node[:8]} lost; "
                    "Ray is restarting the venue actor on another node")
        if state.state in ("unavailable", "spawn_failed", "error"):
            return f"venue actor {state.state}: {state.error}"
        return None

    async def _watch_nodes(self) -> None:
        """Mark every venue whose actor's node is gone ``unavailable`` (event once per loss)."""
        if self.alive_nodes is None:
            return
        try:
            alive = set(await self.alive_nodes())
        except Exception as exc:  # noqa: BLE001 - the pings still tell what answers
            log.warning("could not list the alive nodes: %s", exc)
            return
        for venue in self.venues:
            state = self.states.setdefault(venue, VenueActorState())
            if state.node is None or state.node in alive:
                continue
            state.lost_node, state.node = state.node, None
            self._set(venue, "unavailable", f"node {state.lost_node[:8]} lost")
            self._event("venue_node_lost", venue, {"node": state.lost_node})

    def _answered(self, venue: str, node: str | None) -> str:
        state = self.states.setdefault(venue, VenueActorState())
        before = state.lost_node or state.node
        if node is not None and before is not None and node != before:
            self._event("venue_actor_moved", venue, {
                "from": before, "to": node, "node_lost": state.lost_node is not None})
        state.lost_node = None
        state.node = node or state.node
        return self._set(venue, "alive")

    async def _check(self, venue: str) -> str:
        handle = self.actors.current(venue)
        if handle is None:
            self.replace(venue, "no actor")
            return self.states[venue].state
        try:
            node = await self.actors.ping(venue, handle, self.ping_timeout_s)
        except ActorGoneError:
            self._event("venue_actor_died", venue)
            self.replace(venue, "died", gone=handle)
            return self.states[venue].state
        except ActorRestartingError as exc:
            lost = self.states[venue].lost_node
            return self._set(venue, "unavailable",
                             f"node {lost[:8]} lost; {exc}" if lost else str(exc))
        return self._answered(venue, node)

    async def _guarded(self, venue: str) -> str:
        try:
            return await self._check(venue)
        except Exception as exc:  # noqa: BLE001 - one venue never stops the round
            log.warning("supervising %s failed: %s", venue, exc)
            return self._set(venue, "error", f"{type(exc).__name__}: {exc}")

    async def reconcile(self) -> dict[str, str]:
        """Run one round over every configured venue; return venue -> state (see the module)."""
        started = self.clock()
        await self._watch_nodes()
        # every venue's probe at once: a round lasts one ping timeout, not one per stuck actor
        found = await asyncio.gather(*(self._guarded(venue) for venue in self.venues))
        states = dict(zip(self.venues, found, strict=True))
        self.rounds += 1
        self.last_round_s = self.clock() - started
        return states

    async def run(
        self,
        interval_s: float,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rounds: int | None = None,
    ) -> None:
        """Reconcile every ``interval_s`` (jittered), ``rounds`` times (None: until cancelled).

        A round's own duration counts towards the interval; no round failure stops the loop.
        """
        done = 0
        while rounds is None or done < rounds:
            started = self.clock()
            try:
                await self.reconcile()
            except Exception as exc:  # noqa: BLE001 - the loop survives every error
                log.warning("supervision round failed: %s", exc)
            done += 1
            await sleep(max(0.0, interval_s * self.jitter() - (self.clock() - started)))
