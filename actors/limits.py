"""Per-venue rate limiter: weighted pools from the venue config plus the venue's own feedback.

Each pool allows ``limit`` weight in any sliding window of ``window_s`` seconds. A charge is
released ``window_s`` after the response came back (not after the request left), so a venue that
counts fixed or sliding windows by arrival time never sees more than its limit, whatever the
latency. Server feedback tightens the local view:

- a 429 (with or without ``Retry-After``) blocks the endpoint's pools until then; when one of
  them is counted per IP, every IP pool of the venue is blocked (the venue refused the address);
- after that block, the blocked pools come back in a *slow start*: one request at a time over
  all of them until one is answered, then 2, 4, 8 in flight, then no cap. Every caller of the
  venue's limiter (snapshots, funding, the wallet's transfer reads) waits in the same line, so
  the end of a Retry-After never sends a burst;
- a 418 (IP ban) blocks every call to the venue until it expires, then slow-starts every pool;
- a used-weight header the venue config names (``rate_limits.used_weight_headers``, e.g.
  binance ``X-MBX-USED-WEIGHT-1M``) reporting more than our own count is adopted into the
  endpoint's pools of that window; a venue without one keeps its own count only.

With a shared budget (``budget=``, see `actors.budget`), the ``ip`` pools are also spent from
the instance's `actors.lease.Lease`: the weight of every instance of the exchange in the same
egress group then fits the pool once, not once per instance. A 429 or 418 is told to the group
(every instance of it waits the block out, then slow-starts) and a used-weight header goes to
the budget instead of this instance's pool. Without one, the limiter is what it always was.

Acquire and release are paired by ``async with limiter.request(endpoint) as answer:`` (set
``answer.status``/``answer.headers``); the CEX request hooks call `acquire` and `complete`.

Time is injected (``clock``, ``sleep``, ``wall``) so unit tests drive a manual clock and never
sleep.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from actors.budget import LeaseGrant, shared_pools
from actors.lease import BudgetLink, Lease
from factory.config import RateLimitPool, RateLimits
from factory.errors import RateLimitedError

__all__ = ["SLOW_START_OPEN_AT", "Answer", "LimiterStats", "RateLimiter", "WeightPool"]

#: In-flight cap of a slow start at which the cap is lifted (1 -> 2 -> 4 -> 8 -> open).
SLOW_START_OPEN_AT = 8

#: Longest wait for the shared budget's answer to a lease request (it is local or one hop).
BUDGET_CALL_S = 2.0


class WeightPool:
    """A sliding-window weight budget."""

    def __init__(self, spec: RateLimitPool, scale: float = 1.0):
        self.name = spec.name
        self.scope = spec.scope
        self.limit = spec.limit * scale
        self.window_s = spec.window_s
        self._charges: deque[tuple[float, float]] = deque()  # (release_at, weight)
        self._charged = 0.0  # sum of the weights in _charges, kept so a check is O(1)
        self._inflight = 0.0
        self.blocked_until = 0.0

    def _charge(self, release_at: float, weight: float) -> None:
        self._charges.append((release_at, weight))
        self._charged += weight

    def _expire(self, now: float) -> None:
        while self._charges and self._charges[0][0] <= now:
            self._charged -= self._charges.popleft()[1]
        if not self._charges:
            self._charged = 0.0  # no rounding drift survives an empty window

    def used(self, now: float) -> float:
        """Weight charged in the current window (in flight included)."""
        self._expire(now)
        return self._charged + self._inflight

    def wait_for(self, weight: float, now: float) -> float:
        """Seconds until ``weight`` fits (0 when it fits now or only in-flight requests hold the
        room, see `held`; inf when it never fits)."""
        if weight > self.limit:
            return float("inf")
        block = max(0.0, self.blocked_until - now)
        self._expire(now)
        free = self.limit - self._charged - self._inflight
        if free >= weight:
            return block
        need = weight - free
        for release_at, w in self._charges:
            need -= w
            if need <= 1e-12:
                return max(block, release_at - now)
        return block

    def held(self, weight: float, now: float) -> bool:
        """True when ``weight`` does not fit only because of requests still in flight."""
        self._expire(now)
        return self.limit - self._charged - self._inflight < weight

    def take(self, weight: float) -> None:
        self._inflight += weight

    def settle(self, weight: float, now: float) -> None:
        """The request answered: its weight counts for one window from now."""
        self._inflight = max(0.0, self._inflight - weight)
        self._charge(now + self.window_s, weight)

    def adopt_used(self, used: float, now: float) -> None:
        """Trust the venue's count when it is higher than ours (a filler charge)."""
        mine = self.used(now)
        if used > mine:
            self._charge(now + self.window_s, used - mine)


@dataclass
class LimiterStats:
    """What the limiter did, for metrics and benchmarks."""

    requests: int = 0
    weight: float = 0.0
    waited_s: float = 0.0
    server_429: int = 0
    server_418: int = 0
    used_by_pool: dict[str, float] = field(default_factory=dict)


@dataclass
class Answer:
    """What came back for one request inside `RateLimiter.request` (None: no answer)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class RateLimiter:
    """Owns one venue's rate limiting (ccxt's own throttle is off).

    Args:
        venue: venue id, for error messages.
        limits: pools and endpoint weights from the venue config.
        scale: multiplies every pool's limit (1.0 = the published limits).
        clock: monotonic seconds; ``sleep``: async sleep; ``wall``: epoch seconds, to name the
            end of a ban (all injectable).
        budget: the way to the shared budget of the exchange's egress group; the ``ip`` pools
            are then spent from its leases (None: this limiter's own pools only).
    """

    def __init__(
        self,
        venue: str,
        limits: RateLimits,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        budget: BudgetLink | None = None,
    ):
        self.venue = venue
        self.limits = limits
        self.pools = {p.name: WeightPool(p, scale) for p in limits.pools}
        self._by_path = {e.path: e for e in limits.endpoints}
        self._by_name = {e.name: e for e in limits.endpoints}
        self.clock = clock
        self.sleep = sleep
        self.wall = wall
        self.banned_until = 0.0
        self.stats = LimiterStats()
        self._lock: asyncio.Lock | None = None
        self._answered: asyncio.Event | None = None
        # the slow start: pools in it, its in-flight cap (None: off) and what is in flight
        self.slow_pools: set[str] = set()
        self.slow_cap: int | None = None
        self._slow_inflight = 0
        self._slow_held: Counter[str] = Counter()
        self._refusals: weakref.WeakSet[RateLimitedError] = weakref.WeakSet()
        shared = [p.name for p in shared_pools(limits.pools)]
        self.lease = (Lease(venue, shared, budget, clock)
                      if budget is not None and shared else None)

    def cost(self, endpoint: str) -> tuple[float, list[str]]:
        """Return (weight, pools) of an endpoint by config name or path (unknown: 1 on all)."""
        spec = self._by_name.get(endpoint) or self._by_path.get(endpoint)
        if spec is None:
            return 1.0, list(self.pools)
        return spec.weight, list(spec.pools)

    def banned_until_text(self) -> str:
        """The end of the current ban as UTC ISO time, e.g. ``2026-11-30T23:59:00Z``."""
        end = self.wall() + max(0.0, self.banned_until - self.clock())
        return datetime.fromtimestamp(end, UTC).isoformat(timespec="seconds").replace(
            "+00:00", "Z")

    def _slow_blocks(self, pools: list[str]) -> bool:
        return (self.slow_cap is not None and bool(self.slow_pools.intersection(pools))
                and self._slow_inflight >= self.slow_cap)

    async def _until_answered(self, endpoint: str, deadline: float | None) -> None:
        """Wait for an in-flight request of this venue to come back."""
        assert self._answered is not None
        self._answered.clear()
        timeout = 1.0 if deadline is None else min(1.0, deadline - self.clock())
        if timeout <= 0:
            err = RateLimitedError(
                self.venue, f"{endpoint} waits for requests in flight past the deadline",
                retry_after_s=0.0)
            self._refusals.add(err)
            raise err
        try:
            await asyncio.wait_for(self._answered.wait(), timeout)
        except TimeoutError:
            pass

    async def acquire(self, endpoint: str, deadline: float | None = None) -> float:
        """Wait until ``endpoint``'s weight fits every pool it uses, then charge it.

        Returns:
            the seconds waited.

        Raises:
            RateLimitedError: the wait would pass ``deadline`` (monotonic seconds), the venue
                has banned us past it, or the weight can never fit.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._answered = asyncio.Event()
        weight, pools = self.cost(endpoint)
        shared = self._leased(pools)
        start = self.clock()
        async with self._lock:  # first come, first served
            while True:
                now = self.clock()
                wait = max(
                    [self.banned_until - now] + [self.pools[p].wait_for(weight, now) for p in pools]
                    + ([self.lease.wait_for(shared, weight, now)] if self.lease else [])
                )
                if wait == float("inf"):
                    raise RateLimitedError(
                        self.venue, f"{endpoint} weight {weight:g} exceeds a pool's whole limit"
                    )
                if wait > 0:
                    if deadline is not None and now + wait > deadline:
                        raise self._refusal(endpoint, wait, now)
                    await self.sleep(wait)
                    continue
                if self.lease and not self.lease.covers(shared, weight, now):
                    await self._renew(endpoint, {p: weight for p in shared}, deadline)
                    continue
                if self._slow_blocks(pools) or any(self.pools[p].held(weight, now)
                                                   for p in pools):
                    await self._until_answered(endpoint, deadline)
                    continue
                break
            for p in pools:
                self.pools[p].take(weight)
            if self.lease and shared:
                self.lease.take(shared, weight)
                self._renew_ahead()
            if self.slow_cap is not None and self.slow_pools.intersection(pools):
                self._slow_inflight += 1
                self._slow_held[str(endpoint)] += 1
        waited = self.clock() - start
        self.stats.requests += 1
        self.stats.weight += weight
        self.stats.waited_s += waited
        return waited

    def _refusal(self, endpoint: str, wait: float, now: float) -> RateLimitedError:
        if self.banned_until > now:
            err = RateLimitedError(
                self.venue, f"IP banned until {self.banned_until_text()}; {endpoint} not sent",
                retry_after_s=wait, banned=True)
        else:
            err = RateLimitedError(
                self.venue,
                f"{endpoint} would wait {wait:.2f} s for rate limit, past the deadline",
                retry_after_s=wait)
        self._refusals.add(err)
        return err

    def refused_here(self, exc: BaseException) -> bool:
        """True when ``exc`` is this limiter's own refusal (the venue said nothing)."""
        return isinstance(exc, RateLimitedError) and exc in self._refusals

    def release(self, endpoint: str, status: int | None = None) -> None:
        """Settle an acquired request once its response (or failure) came back.

        An answer below 400 to a request of the slow start doubles its cap (lifted at
        `SLOW_START_OPEN_AT`).
        """
        weight, pools = self.cost(endpoint)
        now = self.clock()
        for p in pools:
            self.pools[p].settle(weight, now)
        if self.lease:
            self.lease.settle(self._leased(pools), weight, now)
        if self._slow_held[str(endpoint)] > 0:
            self._slow_held[str(endpoint)] -= 1
            self._slow_inflight = max(0, self._slow_inflight - 1)
            if status is not None and status < 400 and self.slow_cap is not None:
                self.slow_cap *= 2
                if self.slow_cap >= SLOW_START_OPEN_AT:
                    self._end_slow_start()
        if self._answered is not None:
            self._answered.set()

    def complete(
        self, endpoint: str, status: int | None, headers: Mapping[str, str] | None = None
    ) -> None:
        """The request is over: apply the venue's feedback, then settle it."""
        self.feedback(endpoint, status, headers)
        self.release(endpoint, status)

    @asynccontextmanager
    async def request(
        self, endpoint: str, deadline: float | None = None
    ) -> AsyncIterator[Answer]:
        """``async with limiter.request(ep) as answer:`` acquire, send, set the answer, release."""
        await self.acquire(endpoint, deadline)
        answer = Answer()
        try:
            yield answer
        finally:
            self.complete(endpoint, answer.status, answer.headers)

    def _end_slow_start(self) -> None:
        self.slow_pools.clear()
        self.slow_cap = None
        self._slow_inflight = 0
        self._slow_held.clear()

    def _slow_start(self, pools: list[str]) -> None:
        """Put ``pools`` in the slow start (cap back to one request in flight)."""
        if self.slow_cap is None:
            self._slow_inflight = 0
            self._slow_held.clear()
        self.slow_pools.update(pools)
        self.slow_cap = 1

    def _refused_pools(self, pools: list[str]) -> list[str]:
        """The pools a 429 on ``pools`` stops: those, plus every IP pool when one is per IP."""
        if any(self.pools[p].scope == "ip" for p in pools):
            return sorted(set(pools) | {n for n, p in self.pools.items() if p.scope == "ip"})
        return list(pools)

    def feedback(
        self,
        endpoint: str,
        status: int | None,
        headers: Mapping[str, str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Apply the venue's answer: Retry-After, bans and used-weight headers."""
        now = self.clock()
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if retry_after_s is None and "retry-after" in headers:
            try:
                retry_after_s = float(headers["retry-after"])
            except ValueError:
                retry_after_s = None
        _, pools = self.cost(endpoint)
        if status == 418:
            self.stats.server_418 += 1
            self._ban(now + (retry_after_s or 60.0))
            self._tell_group(list(self.pools), retry_after_s or 60.0, banned=True)
        elif status == 429:
            self.stats.server_429 += 1
            seconds = retry_after_s if retry_after_s is not None else 1.0
            self._throttle(self._refused_pools(pools), now + seconds)
            self._tell_group(self._refused_pools(pools), seconds)
        for name, value in headers.items():
            self._adopt_reported(name, value, pools, now)

    def _adopt_reported(self, header: str, value: str, pools: list[str], now: float) -> None:
        """Adopt a used-weight header of the venue's config into the pools of its window."""
        for spec in self.limits.used_weight_headers:
            window_s = spec.window_s(header)
            if window_s is None:
                continue
            try:
                used = float(value)
            except ValueError:
                return
            if not math.isfinite(used):
                return
            for p in pools:
                if spec.pools and p not in spec.pools:
                    continue
                if abs(self.pools[p].window_s - window_s) < 1e-9:
                    self._adopt_used(p, used, now)
            return

    def _ban(self, until: float) -> None:
        self.banned_until = max(self.banned_until, until)
        self._slow_start(list(self.pools))

    def _throttle(self, pools: list[str], until: float) -> None:
        for p in pools:
            self.pools[p].blocked_until = max(self.pools[p].blocked_until, until)
        self._slow_start(pools)

    def block(self, seconds: float, banned: bool = False) -> None:
        """Block calls for ``seconds`` (the venue said so in an error we caught)."""
        until = self.clock() + seconds
        if banned:
            self._ban(until)
        else:
            self._throttle(list(self.pools), until)
        self._tell_group(list(self.pools), seconds, banned)

    # -- the shared budget (ip pools of the exchange's egress group) ---------------------------

    def _leased(self, pools: list[str]) -> list[str]:
        """The pools among ``pools`` paid by the lease (none without a shared budget)."""
        return [p for p in pools if p in self.lease.pools] if self.lease else []

    def _adopt_used(self, pool: str, used: float, now: float) -> None:
        """A venue's used-weight figure: the group's budget's on a shared pool, else ours."""
        if self.lease and pool in self.lease.pools:
            self.lease.seen_used(pool, used, now)
        else:
            self.pools[pool].adopt_used(used, now)

    def _tell_group(self, pools: list[str], seconds: float, banned: bool = False) -> None:
        """Tell the group a refusal on its shared pools, now when a loop runs (else with the
        next renewal)."""
        if self.lease is None or not self._leased(pools):
            return
        self.lease.refused(pools, seconds, banned)
        self._renew_ahead()

    def _group_blocks(self, grant: LeaseGrant) -> None:
        """Wait out a block the group is under (another instance's 429 or 418)."""
        now = self.clock()
        if grant.banned_for_s > 0 and now + grant.banned_for_s > self.banned_until + 0.05:
            self._ban(now + grant.banned_for_s)
        for p, seconds in grant.blocked_for_s.items():
            if p in self.pools and now + seconds > self.pools[p].blocked_until + 0.05:
                self._throttle([p], now + seconds)

    def _renew_ahead(self) -> None:
        assert self.lease is not None
        self.lease.renew_ahead(self._group_blocks)

    async def _renew(self, endpoint: str, need: dict[str, float],
                     deadline: float | None) -> None:
        """Renew the lease for a waiting request.

        Raises:
            RateLimitedError: the budget did not answer in time (the group's use is unknown,
                so nothing is sent), or it has none of the pools the request needs.
        """
        assert self.lease is not None
        timeout = BUDGET_CALL_S if deadline is None else min(BUDGET_CALL_S,
                                                              deadline - self.clock())
        try:
            grant = await self.lease.renew(need, timeout, self._group_blocks)
        except Exception as exc:  # noqa: BLE001 - refused here, named as such
            err = RateLimitedError(
                self.venue, f"{endpoint} not sent: the shared rate budget did not answer "
                f"({type(exc).__name__})", retry_after_s=0.0)
            self._refusals.add(err)
            raise err from None
        if grant is not None and any(p not in grant.granted and p not in grant.retry_in_s
                                     for p in need):
            err = RateLimitedError(self.venue, f"{endpoint} not sent: the shared rate budget "
                                   "has none of its pools", retry_after_s=0.0)
            self._refusals.add(err)
            raise err

    def snapshot_stats(self) -> LimiterStats:
        now = self.clock()
        self.stats.used_by_pool = {n: p.used(now) for n, p in self.pools.items()}
        return self.stats
