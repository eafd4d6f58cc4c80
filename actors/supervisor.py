"""The venue actors' supervisor: a reconcile loop over the venues in config and their actors.

Each round compares the venues the mode enables with the live venue actors and acts per venue:

| what the probe finds | state | action |
|---|---|---|
| the actor answered its ping | ``alive`` | none |
| no actor for the venue | ``replaced`` | start one through the factory's spawn entry point |
| the actor died for good (`ActorGoneError`) | ``replaced`` | start a new one, event ``venue_actor_died`` |
| the actor is restarting or slow (`ActorRestartingError`) | ``unavailable`` | none: Ray restarts it |
| the spawn failed or returned no actor | ``spawn_failed`` | reported (event, log), tried next round |
| the probe itself failed | ``error`` | logged; the round goes on |

Every step is guarded, so one venue's failure never stops the round, and no round ever stops the
loop. The supervisor talks to the actors only through `VenueActors` (implemented over Ray handles
in `actors.ray_calls`), so it is tested with a hand-written stub; it has no Ray dependency. Time
comes from the injected clock; the loop's pause comes from the injected ``sleep`` and is jittered
(x0.9 to x1.1) so many monitors never probe in step.
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

    async def ping(self, venue: str, handle: Any, timeout_s: float) -> None:
        """Return when the actor answers.

        Raises:
            ActorGoneError: the actor died for good.
            ActorRestartingError: the actor is restarting or did not answer in ``timeout_s``.
        """
        ...


SpawnFn = Callable[[list[str]], Mapping[str, Any]]
EventFn = Callable[[str, str, dict], None]


@dataclass
class VenueActorState:
    """What the supervisor last found for one venue.

    Attributes:
        state: ``alive``, ``replaced``, ``unavailable``, ``spawn_failed`` or ``error``.
        since: clock time the venue entered this state.
        replacements: actors started for the venue (the first start included).
        error: the last failure in one line, or None.
    """

    state: str = "unknown"
    since: float = 0.0
    replacements: int = 0
    error: str | None = None


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
    ):
        self.venues = list(venues)
        self.actors = actors
        self.spawn = spawn
        self.record_event = record_event
        self.clock = clock
        self.ping_timeout_s = ping_timeout_s
        self.jitter = jitter
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
                self.states.setdefault(venue, VenueActorState()).replacements += 1
                self._set(venue, "replaced")
                self._event("venue_actor_started", venue, {"reason": reason})
                return True
            error = "the factory started no actor (see its log)"
        log.warning("could not start venue actor %s: %s", venue, error)
        self._set(venue, "spawn_failed", error)
        self._event("venue_actor_start_failed", venue, {"reason": reason, "error": error})
        return False

    async def _check(self, venue: str) -> str:
        handle = self.actors.current(venue)
        if handle is None:
            self.replace(venue, "no actor")
            return self.states[venue].state
        try:
            await self.actors.ping(venue, handle, self.ping_timeout_s)
        except ActorGoneError:
            self._event("venue_actor_died", venue)
            self.replace(venue, "died", gone=handle)
            return self.states[venue].state
        except ActorRestartingError as exc:
            return self._set(venue, "unavailable", str(exc))
        return self._set(venue, "alive")

    async def reconcile(self) -> dict[str, str]:
        """Run one round over every configured venue; return venue -> state (see the module)."""
        started = self.clock()
        states: dict[str, str] = {}
        for venue in self.venues:
            try:
                states[venue] = await self._check(venue)
            except Exception as exc:  # noqa: BLE001 - one venue never stops the round
                log.warning("supervising %s failed: %s", venue, exc)
                states[venue] = self._set(venue, "error", f"{type(exc).__name__}: {exc}")
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
