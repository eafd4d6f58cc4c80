"""VenueWorker: one per venue interface, owning its rate limiter, retries and health.

`VenueWorker` is the plain class (tested without Ray, and free of Ray: an import contract checks
it); its thin Ray shell is `actors.venue_actor.VenuePositionActor`, started by
`actors.spawn.VenueActorFactory.spawn_position_actors` with the options of
`actors.options.venue_actor_options` (named ``venue:<id>``, ``num_cpus=0``, restarted by Ray).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from actors.health import HealthTracker
from actors.lease import BudgetLink
from actors.limits import RateLimiter
from actors.metrics import Metrics
from actors.retry import RetryOutcome, RetryPolicy
from factory.errors import RateLimitedError, VenueTimeoutError
from factory.interfaces.base import BasePositionInterface
from factory.positions import VenueSnapshot, utc

__all__ = [
    "ActorTransitSource", "TransitActor", "VenueWorker", "current_deadline", "nested_budget",
]

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)

#: Seconds a nested call (e.g. the wallet asking a CEX actor) leaves its caller to answer.
NESTED_MARGIN_S = 0.15


def nested_budget(venue: str) -> float | None:
    """Seconds a call made on behalf of the snapshot being served may take: what is left of its
    deadline less `NESTED_MARGIN_S` (None: no deadline).

    Raises:
        VenueTimeoutError: no time is left (named after ``venue``, the one called).
    """
    deadline = current_deadline()
    if deadline is None:
        return None
    budget = deadline - time.monotonic() - NESTED_MARGIN_S
    if budget <= 0:
        raise VenueTimeoutError(venue, "no time left to read transfers in transit")
    return budget


def current_deadline() -> float | None:
    """The monotonic deadline of the snapshot being served in this task (None: no deadline)."""
    return _deadline.get()


class VenueWorker:
    """Fetches one venue's snapshots under its rate limits, retry policy and deadline.

    Args:
        interface: the venue's position interface.
        limiter: rate limiter (default: from the venue config, scaled by ``limit_scale``).
        retry: retry policy (default: from the venue config).
        metrics: metric sink (default: Ray metrics when Ray is up).
        clock: monotonic seconds.
        failures_to_down: consecutive failures that mark the venue ``down``.
        budget: the shared budget of the exchange's egress group, paying the default limiter's
            ``ip`` pools (None: the limiter's own pools).
    """

    def __init__(
        self,
        interface: BasePositionInterface,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        failures_to_down: int = 3,
        limit_scale: float = 1.0,
        budget: BudgetLink | None = None,
    ):
        vc = interface.venue_config
        self.venue = interface.venue
        self.interface = interface
        self.clock = clock
        self.limiter = limiter or RateLimiter(self.venue, vc.rate_limits, scale=limit_scale,
                                              clock=clock, budget=budget)
        self.retry = retry or RetryPolicy(vc.retry, clock=clock)
        self.metrics = metrics or Metrics.auto()
        self.health = HealthTracker(failures_to_down=failures_to_down)
        self.calls = 0
        hook = getattr(interface, "set_request_hooks", None)
        if callable(hook):
            hook(before=self._before_request, after=self._after_request)

    async def _before_request(self, endpoint: str) -> None:
        await self.limiter.acquire(endpoint, deadline=_deadline.get())

    async def _after_request(
        self, endpoint: str, status: int | None, headers: Mapping[str, str] | None
    ) -> None:
        self.limiter.complete(endpoint, status, headers)

    def _venue_said_wait(self, exc: RateLimitedError) -> RateLimitedError:
        """Apply a rate-limit answer of the venue to the limiter; name a ban's end time."""
        if self.limiter.refused_here(exc) or not exc.retry_after_s:
            return exc
        self.limiter.block(exc.retry_after_s, banned=exc.banned)
        if not exc.banned:
            return exc
        text = str(exc).removeprefix(f"{self.venue}: ")
        return RateLimitedError(
            self.venue, f"{text}; IP banned until {self.limiter.banned_until_text()}",
            retry_after_s=exc.retry_after_s, banned=True)

    async def _attempt(self, timestamp: datetime) -> VenueSnapshot:
        deadline = _deadline.get()
        remaining = None if deadline is None else deadline - self.clock()
        if remaining is not None and remaining <= 0:
            raise VenueTimeoutError(self.venue, "deadline passed before the request")
        try:
            return await asyncio.wait_for(self.interface.get_positions(timestamp), remaining)
        except TimeoutError:
            raise VenueTimeoutError(self.venue, f"no answer within {remaining:.2f} s") from None
        except RateLimitedError as exc:
            said = self._venue_said_wait(exc)
            if said is exc:
                raise
            raise said from None

    async def snapshot(
        self, timestamp: datetime | str | float | None = None, deadline_s: float | None = None
    ) -> VenueSnapshot:
        """Return a fresh snapshot, retrying retryable errors within ``deadline_s``.

        Raises:
            the typed venue error of the last attempt; health and metrics record it.
        """
        self.calls += 1
        ts = utc(timestamp)
        start = self.clock()
        token = _deadline.set(None if deadline_s is None else start + deadline_s)
        outcome = RetryOutcome()
        waited_before = self.limiter.stats.waited_s
        try:
            snap = await self.retry.call(lambda: self._attempt(ts), _deadline.get(), outcome)
        except Exception as exc:
            self.health.record(self.clock(), exc)
            self.metrics.error(self.venue, type(exc).__name__)
            self.metrics.health(self.venue, self.health.state)
            raise
        finally:
            _deadline.reset(token)
            stats = self.limiter.snapshot_stats()
            self.metrics.rate_limit(self.venue, stats.waited_s - waited_before,
                                    stats.used_by_pool)
        latency = self.clock() - start
        self.health.record(self.clock())
        self.metrics.snapshot_done(self.venue, latency, outcome.attempts)
        self.metrics.health(self.venue, self.health.state)
        self.metrics.staleness(self.venue, 0.0)
        return snap.model_copy(update={"latency_s": latency, "attempts": outcome.attempts})

    async def transfers_in_transit(self, deadline_s: float | None = None) -> list:
        """CEX deposits/withdrawals not yet credited, under this venue's limits and retries."""
        fetch = getattr(self.interface, "get_transfers_in_transit", None)
        if fetch is None:
            return []

        async def attempt() -> list:
            try:
                return await fetch()
            except RateLimitedError as exc:
                said = self._venue_said_wait(exc)
                if said is exc:
                    raise
                raise said from None

        token = _deadline.set(None if deadline_s is None else self.clock() + deadline_s)
        try:
            return await self.retry.call(attempt, _deadline.get())
        finally:
            _deadline.reset(token)

    async def prepare(self, deadline_s: float) -> str | None:
        """Run the interface's one-time setup once, within ``deadline_s``; return None when
        ready, else the error as one line (the first snapshot reports it as usual)."""
        try:
            await asyncio.wait_for(self.interface.prepare(), deadline_s)
        except TimeoutError:
            return f"VenueTimeoutError: not ready within {deadline_s:.2f} s"
        except Exception as exc:  # noqa: BLE001 - reported, never raised: snapshots decide
            return f"{type(exc).__name__}: {exc}"
        return None

    async def close(self) -> None:
        """Hand back the lease of the group's budget (if any), then close the interface."""
        if self.limiter.lease is not None:
            await self.limiter.lease.give_back()
        await self.interface.close()

    def status(self) -> dict[str, Any]:
        """Health, limiter figures and call count."""
        stats = self.limiter.snapshot_stats()
        return {
            "venue": self.venue,
            "calls": self.calls,
            "health": self.health.as_dict(),
            "limiter": {
                "requests": stats.requests,
                "weight": stats.weight,
                "waited_s": stats.waited_s,
                "server_429": stats.server_429,
                "server_418": stats.server_418,
                "used_by_pool": stats.used_by_pool,
                "banned_for_s": max(0.0, self.limiter.banned_until - self.clock()),
                "banned_until": (self.limiter.banned_until_text()
                                 if self.limiter.banned_until > self.clock() else None),
                "slow_start": {"pools": sorted(self.limiter.slow_pools),
                               "in_flight_cap": self.limiter.slow_cap},
                "shared_budget": self._lease_status(),
            },
        }


    def _lease_status(self) -> dict[str, Any] | None:
        """This instance's lease of its egress group's budget (None: it has its own pools)."""
        lease = self.limiter.lease
        if lease is None:
            return None
        return {"pools": sorted(lease.pools), "remaining": dict(lease.remaining),
                "ends_in_s": max(0.0, lease.expires_at - self.clock())}


class TransitActor(Protocol):
    """A CEX venue as the wallet reads it: its actor (`actors.ray_calls.NamedVenueActor`) or,
    in ``basis monitor --once``, its `VenueWorker` in the same process."""

    venue: str

    async def transfers_in_transit(self, budget_s: float | None) -> list: ...


class ActorTransitSource:
    """The wallet's view of a CEX venue's transfers in transit, read from that venue's actor
    (or its worker, when every venue runs in one process).

    The call is bounded by the wallet snapshot's own deadline, so a slow exchange makes the
    wallet report "transfers unknown" for it instead of making the wallet late.

    Args:
        venue: the CEX venue.
        actor: how to reach its actor or worker.
    """

    def __init__(self, venue: str, actor: TransitActor):
        self.venue = venue
        self.actor = actor

    async def get_transfers_in_transit(self) -> list:
        budget = nested_budget(self.venue)
        try:
            return await asyncio.wait_for(self.actor.transfers_in_transit(budget), budget)
        except TimeoutError:
            raise VenueTimeoutError(self.venue, "transfers in transit not read in time") from None
