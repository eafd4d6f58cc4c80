"""Lease: an instance's share of its egress group's per-IP budget (`actors.budget`).

The instance's `actors.limits.RateLimiter` spends its ``ip`` pools from the lease, locally: a
request that fits the lease goes at once; one that does not waits for a renewal (one message to
the budget, which carries the answered requests, the unspent weight of an expired lease and the
venue's refusals, and brings back a new batch and the group's block state). The limiter renews
ahead of time, in the background, when the lease is below half a batch or near its end.

A lease's end is counted from when the instance *asked* for it, so the instance stops spending
it no later than the budget assumes. `BudgetLink` is how a lease reaches its budget: in one
process `LocalBudgetLink` calls the `SharedBudget` directly (``basis monitor --once``); on Ray,
`actors.ray_calls.ActorBudgetLink` calls the budget's actor.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from actors.budget import BlockReport, LeaseGrant, LeaseRequest, SharedBudget

__all__ = ["AHEAD_CALL_S", "BudgetLink", "Lease", "LocalBudgetLink"]

#: Longest wait for the budget's answer to a renewal made ahead of need (in the background).
AHEAD_CALL_S = 2.0

log = logging.getLogger(__name__)

OnGrant = Callable[[LeaseGrant], None]


class BudgetLink(Protocol):
    """How a lease reaches its group's budget."""

    async def lease(self, request: LeaseRequest) -> LeaseGrant: ...


class LocalBudgetLink:
    """A `SharedBudget` in this process (its instances run in one event loop)."""

    def __init__(self, budget: SharedBudget):
        self.budget = budget

    async def lease(self, request: LeaseRequest) -> LeaseGrant:
        return self.budget.lease(request)


class Lease:
    """The weight an instance may spend on its shared (``ip``) pools, and what it owes back.

    Args:
        venue: the instance's venue id (its holder id adds a random suffix, so a respawned
            instance is a new holder and the budget expires its predecessor's lease).
        pools: names of the shared pools.
        link: the way to the budget.
        clock: monotonic seconds.
    """

    def __init__(self, venue: str, pools: Iterable[str], link: BudgetLink,
                 clock: Callable[[], float]):
        self.holder = f"{venue}#{secrets.token_hex(4)}"
        self.pools = set(pools)
        self.link = link
        self.clock = clock
        self.remaining = dict.fromkeys(self.pools, 0.0)
        self.batch = dict.fromkeys(self.pools, 0.0)  # the last grant per pool
        self.expires_at = 0.0
        self.lease_s = 0.0
        self.retry_at = dict.fromkeys(self.pools, 0.0)
        self._settled: list[tuple[str, float, float]] = []  # (pool, weight, answered_at)
        self._refund: dict[str, float] = {}
        self._seen: dict[str, tuple[float, float]] = {}
        self._blocks: list[BlockReport] = []
        self._renewal: asyncio.Future[LeaseGrant | None] | None = None

    def _drop_if_expired(self, now: float) -> None:
        if now >= self.expires_at:
            for p, w in self.remaining.items():
                if w > 0:
                    self._refund[p] = self._refund.get(p, 0.0) + w
                    self.remaining[p] = 0.0

    def covers(self, pools: Iterable[str], weight: float, now: float) -> bool:
        """True when the lease pays ``weight`` on each of ``pools`` now."""
        self._drop_if_expired(now)
        return all(self.remaining[p] >= weight for p in pools)

    def wait_for(self, pools: Iterable[str], weight: float, now: float) -> float:
        """Seconds the budget said to wait before asking for ``pools`` again (0: ask now)."""
        return max([0.0] + [self.retry_at[p] - now for p in pools
                            if self.remaining[p] < weight])

    def take(self, pools: Iterable[str], weight: float) -> None:
        """Spend ``weight`` of the lease on each of ``pools`` (a request leaves)."""
        for p in pools:
            self.remaining[p] -= weight

    def settle(self, pools: Iterable[str], weight: float, now: float) -> None:
        """A request paid by the lease was answered (or failed) at ``now``."""
        self._settled.extend((p, weight, now) for p in pools)

    def seen_used(self, pool: str, used: float, now: float) -> None:
        """The venue said how much of ``pool`` it counted (used-weight header)."""
        self._seen[pool] = (used, now)

    def refused(self, pools: Iterable[str], seconds: float, banned: bool = False) -> None:
        """The venue refused this instance: tell the group with the next message."""
        self._blocks.append(BlockReport(tuple(sorted(self.pools.intersection(pools))),
                                        seconds, banned))

    def has_news(self) -> bool:
        """True when a refusal waits to be told to the group."""
        return bool(self._blocks)

    def wants_renewal(self, now: float) -> bool:
        """True when the lease is below half a batch on some pool or near its end."""
        if not self.lease_s:
            return False
        low = any(0 < self.batch[p] and self.remaining[p] < self.batch[p] / 2
                  for p in self.pools)
        return low or self.expires_at - now < self.lease_s / 4

    def request(self, need: Mapping[str, float], now: float) -> LeaseRequest:
        """The next message to the budget (and forget what it carries).

        ``need``: pool -> weight a request waits for (0: a batch ahead of need); a pool not
        named gets nothing (the message only reports).
        """
        self._drop_if_expired(now)
        req = LeaseRequest(
            holder=self.holder,
            need={p: w for p, w in need.items() if p in self.pools},
            settled=tuple((p, w, now - t) for p, w, t in self._settled),
            refund=dict(self._refund),
            seen_used={p: (u, now - t) for p, (u, t) in self._seen.items()},
            blocks=tuple(self._blocks),
        )
        self._settled.clear()
        self._refund.clear()
        self._seen.clear()
        self._blocks.clear()
        return req

    def apply(self, grant: LeaseGrant, asked_at: float) -> None:
        """Add a grant to the lease; its end counts from ``asked_at`` (when it was asked for)."""
        self.lease_s = grant.lease_s
        if grant.granted:
            self._drop_if_expired(asked_at)
            self.expires_at = asked_at + grant.lease_s
        for p, w in grant.granted.items():
            if p in self.pools:
                self.remaining[p] += w
                self.batch[p] = w
        for p, s in grant.retry_in_s.items():
            if p in self.pools:
                self.retry_at[p] = asked_at + s

    # -- messages to the budget (one at a time) -------------------------------------------

    async def give_back(self, timeout_s: float = AHEAD_CALL_S) -> None:
        """The instance stops: hand back what is left of the lease and report what was
        answered, so the group gets the weight at once (a failure is only logged: the budget
        then expires the lease)."""
        now = self.clock()
        self.expires_at = min(self.expires_at, now)
        try:
            await asyncio.wait_for(self.link.lease(self.request({}, now)), timeout_s)
        except Exception as exc:  # noqa: BLE001 - the lease expires at the budget anyway
            log.warning("%s: lease not handed back: %s", self.holder.split("#")[0],
                        type(exc).__name__)

    async def _exchange(self, need: Mapping[str, float], on_grant: OnGrant) -> LeaseGrant:
        asked = self.clock()
        grant = await self.link.lease(self.request(need, asked))
        self.apply(grant, asked)
        on_grant(grant)
        return grant

    def _busy(self) -> bool:
        return self._renewal is not None and not self._renewal.done()

    def renew_ahead(self, on_grant: OnGrant) -> None:
        """Renew in the background, for the pools in use, when the lease runs low or a refusal
        is to be told (a running loop is needed; the next message carries it otherwise).

        A refusal that arrives while a message is already on its way is sent right after that
        one returns: the instance that was refused is blocked itself, so waiting for its next
        request would tell the group only once the block is over.
        """
        if self._busy():
            if self.has_news():
                assert self._renewal is not None
                self._renewal.add_done_callback(
                    lambda done: None if done.cancelled() else self.renew_ahead(on_grant))
            return
        if not (self.has_news() or self.wants_renewal(self.clock())):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._renewal = asyncio.ensure_future(self._quietly(on_grant))

    async def _quietly(self, on_grant: OnGrant) -> LeaseGrant | None:
        try:
            return await asyncio.wait_for(
                self._exchange({p: 0.0 for p in self.pools if self.batch[p] > 0}, on_grant),
                AHEAD_CALL_S)
        except Exception as exc:  # noqa: BLE001 - a request that needs it renews in the open
            log.warning("%s: shared rate budget not reached ahead of need: %s",
                        self.holder.split("#")[0], type(exc).__name__)
            return None

    async def renew(self, need: Mapping[str, float], timeout_s: float,
                    on_grant: OnGrant) -> LeaseGrant | None:
        """Ask the budget for ``need`` within ``timeout_s``; a renewal already under way is
        awaited instead (then None: check the lease again).

        Raises:
            what the link raised, or TimeoutError.
        """
        if self._busy():
            assert self._renewal is not None
            done, _ = await asyncio.wait([self._renewal], timeout=max(0.0, timeout_s))
            if not done:
                raise TimeoutError
            return None
        renewal: asyncio.Future[LeaseGrant | None] = asyncio.ensure_future(
            self._exchange(need, on_grant))
        self._renewal = renewal
        return await asyncio.wait_for(asyncio.shield(renewal), max(0.0, timeout_s))
