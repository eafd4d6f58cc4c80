"""Per-venue rate limiter: weighted pools from the venue config plus the venue's own feedback.

Each pool allows ``limit`` weight in any sliding window of ``window_s`` seconds. A charge is
released ``window_s`` after the response came back (not after the request left), so a venue that
counts fixed or sliding windows by arrival time never sees more than its limit, whatever the
latency. Server feedback tightens the local view:

- ``Retry-After`` on a 429 blocks the endpoint's pools until then;
- a 418 (IP ban) blocks every call to the venue until it expires;
- a used-weight header higher than our own count (binance ``X-MBX-USED-WEIGHT-1M``) is adopted.

Time is injected (``clock``, ``sleep``) so unit tests drive a manual clock and never sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from factory.config import RateLimitPool, RateLimits
from factory.errors import RateLimitedError

__all__ = ["LimiterStats", "RateLimiter", "WeightPool"]


class WeightPool:
    """A sliding-window weight budget."""

    def __init__(self, spec: RateLimitPool, scale: float = 1.0):
        self.name = spec.name
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
        """Seconds until ``weight`` fits (0 when it fits now; inf when it never fits)."""
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
        # only requests still in flight hold the weight: look again shortly
        return max(block, min(0.25, max(0.005, self.window_s / 100)))

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


class RateLimiter:
    """Owns one venue's rate limiting (ccxt's own throttle is off).

    Args:
        venue: venue id, for error messages.
        limits: pools and endpoint weights from the venue config.
        scale: multiplies every pool's limit (1.0 = the published limits).
        clock: monotonic seconds; ``sleep``: async sleep (both injectable).
    """

    def __init__(
        self,
        venue: str,
        limits: RateLimits,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.venue = venue
        self.limits = limits
        self.pools = {p.name: WeightPool(p, scale) for p in limits.pools}
        self._by_path = {e.path: e for e in limits.endpoints}
        self._by_name = {e.name: e for e in limits.endpoints}
        self.clock = clock
        self.sleep = sleep
        self.banned_until = 0.0
        self.stats = LimiterStats()
        self._lock: asyncio.Lock | None = None

    def cost(self, endpoint: str) -> tuple[float, list[str]]:
        """Return (weight, pools) of an endpoint by config name or path (unknown: 1 on all)."""
        spec = self._by_name.get(endpoint) or self._by_path.get(endpoint)
        if spec is None:
            return 1.0, list(self.pools)
        return spec.weight, list(spec.pools)

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
        weight, pools = self.cost(endpoint)
        start = self.clock()
        async with self._lock:  # first come, first served
            while True:
                now = self.clock()
                wait = max(
                    [self.banned_until - now] + [self.pools[p].wait_for(weight, now) for p in pools]
                )
                if wait <= 0:
                    break
                if wait == float("inf"):
                    raise RateLimitedError(
                        self.venue, f"{endpoint} weight {weight:g} exceeds a pool's whole limit"
                    )
                if deadline is not None and now + wait > deadline:
                    raise RateLimitedError(
                        self.venue,
                        f"{endpoint} would wait {wait:.2f} s for rate limit, past the deadline",
                        retry_after_s=wait,
                        banned=self.banned_until > now,
                    )
                await self.sleep(wait)
            for p in pools:
                self.pools[p].take(weight)
        waited = self.clock() - start
        self.stats.requests += 1
        self.stats.weight += weight
        self.stats.waited_s += waited
        return waited

    def release(self, endpoint: str) -> None:
        """Settle an acquired request once its response (or failure) came back."""
        weight, pools = self.cost(endpoint)
        now = self.clock()
        for p in pools:
            self.pools[p].settle(weight, now)

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
            self.banned_until = max(self.banned_until, now + (retry_after_s or 60.0))
        elif status == 429:
            self.stats.server_429 += 1
            until = now + (retry_after_s if retry_after_s is not None else 1.0)
            for p in pools:
                self.pools[p].blocked_until = max(self.pools[p].blocked_until, until)
        for name, value in headers.items():
            if name.startswith("x-mbx-used-weight-") and name.endswith("m"):
                try:
                    used = float(value)
                except ValueError:
                    continue
                for p in pools:
                    if abs(self.pools[p].window_s - 60.0) < 1e-9:
                        self.pools[p].adopt_used(used, now)

    def block(self, seconds: float, banned: bool = False) -> None:
        """Block calls for ``seconds`` (the venue said so in an error we caught)."""
        now = self.clock()
        if banned:
            self.banned_until = max(self.banned_until, now + seconds)
        else:
            for pool in self.pools.values():
                pool.blocked_until = max(pool.blocked_until, now + seconds)

    def snapshot_stats(self) -> LimiterStats:
        now = self.clock()
        self.stats.used_by_pool = {n: p.used(now) for n, p in self.pools.items()}
        return self.stats
