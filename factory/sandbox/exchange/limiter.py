"""Server-side rate limits of the emulator: fixed windows per pool, violations, bans.

Ban policy (binance: "repeatedly violating rate limits and/or failing to back off after
receiving 429s will result in an automated IP ban"): a request over a pool's limit is a strike,
and so is a request refused while the caller was still told to back off (it arrived before the
last announced Retry-After ended). A request the venue refuses for its own reasons (an injected
429) after the caller backed off is answered 429 but is no strike. Past ``ban_after_violations``
strikes the next is a 418 ban for ``ban_s``.

Pools and endpoint weights come from the emulator's own table
(`factory.sandbox.exchange.weights`, in the `factory.config.RateLimits` shape), not from the
client's venue config, so a wrong weight in the config meets the venue's real one here. Windows
are aligned on multiples of ``window_s`` (binance's minute counter resets on
the minute). ``ip`` pools are shared by every caller, ``uid`` pools are counted per API key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from factory.config import EndpointCost, RateLimitPool, RateLimits

__all__ = ["Charge", "PoolUsage", "VenueLimiter", "scaled_limits"]


@dataclass(frozen=True)
class PoolUsage:
    """A pool's state after a request: weight used in the current window and when it resets."""

    pool: RateLimitPool
    used: float
    reset_at: float


@dataclass(frozen=True)
class Charge:
    """The limiter's verdict on one request."""

    ok: bool
    usage: tuple[PoolUsage, ...] = ()
    violated: RateLimitPool | None = None
    retry_after_s: float = 0.0
    banned_until: float | None = None


class VenueLimiter:
    """Counts weight per pool and window, violations and bans, for one venue.

    Args:
        limits: pools, endpoint weights and the ban policy from the venue config.
    """

    def __init__(self, limits: RateLimits):
        self.limits = limits
        self._pools = {p.name: p for p in limits.pools}
        self._by_route: dict[tuple[str, str], EndpointCost] = {
            (e.method, e.path): e for e in limits.endpoints
        }
        self._used: dict[tuple[str, str, float], float] = {}
        self.violations = 0
        self._strikes = 0
        self.banned_until = 0.0
        self.backoff_until = 0.0

    def endpoint(self, method: str, path: str) -> EndpointCost | None:
        """Return the configured cost of a route, None when the config does not list it."""
        return self._by_route.get((method, path))

    def _window(self, pool: RateLimitPool, now: float) -> float:
        return math.floor(now / pool.window_s) * pool.window_s

    def usage(self, pools: list[str], key: str, now: float) -> tuple[PoolUsage, ...]:
        out = []
        for name in pools:
            pool = self._pools[name]
            start = self._window(pool, now)
            scope = key if pool.scope == "uid" else "ip"
            out.append(PoolUsage(pool, self._used.get((name, scope, start), 0.0),
                                 start + pool.window_s))
        return tuple(out)

    def charge(self, endpoint: EndpointCost | None, key: str, now: float) -> Charge:
        """Charge a request's weight to its pools, or refuse it without charging.

        Args:
            endpoint: the route's cost (None: free, unknown route).
            key: the caller's API key ('' when unsigned), for ``uid`` pools.
            now: emulator time in seconds.
        """
        if self.banned_until > now:
            return Charge(ok=False, banned_until=self.banned_until,
                          retry_after_s=self.banned_until - now)
        if endpoint is None:
            return Charge(ok=True)
        usage = self.usage(endpoint.pools, key, now)
        for u in usage:
            if u.used + endpoint.weight > u.pool.limit:
                return self.violation(now, pool=u.pool, retry_after_s=u.reset_at - now,
                                      usage=usage)
        for u in usage:
            start = u.reset_at - u.pool.window_s
            scope = key if u.pool.scope == "uid" else "ip"
            self._used[(u.pool.name, scope, start)] = u.used + endpoint.weight
        self._prune(now)
        return Charge(ok=True, usage=self.usage(endpoint.pools, key, now))

    def violation(
        self,
        now: float,
        pool: RateLimitPool | None = None,
        retry_after_s: float = 1.0,
        usage: tuple[PoolUsage, ...] = (),
    ) -> Charge:
        """Record a violation (a 429); past ``ban_after_violations`` it becomes a ban (418)."""
        return self._refuse(now, pool, retry_after_s, usage, strike=True)

    def refuse(self, now: float, retry_after_s: float = 1.0) -> Charge:
        """Refuse a request with a 429 of the venue's own (an injected fault): a strike only
        when the caller did not back off after the previous 429."""
        return self._refuse(now, None, retry_after_s, (), strike=now < self.backoff_until)

    def _refuse(
        self,
        now: float,
        pool: RateLimitPool | None,
        retry_after_s: float,
        usage: tuple[PoolUsage, ...],
        strike: bool,
    ) -> Charge:
        self.violations += 1
        self._strikes += int(strike)
        ban_after, ban_s = self.limits.ban_after_violations, self.limits.ban_s
        if strike and ban_after is not None and self._strikes > ban_after:
            self._strikes = 0
            return self.ban(now, ban_s or 120.0, usage=usage, pool=pool)
        wait = max(retry_after_s, 0.0)
        self.backoff_until = max(self.backoff_until, now + wait)
        return Charge(ok=False, usage=usage, violated=pool, retry_after_s=wait)

    def ban(
        self,
        now: float,
        seconds: float,
        usage: tuple[PoolUsage, ...] = (),
        pool: RateLimitPool | None = None,
    ) -> Charge:
        """Ban the caller's IP for ``seconds`` from ``now`` (every request answers 418)."""
        self.banned_until = max(self.banned_until, now + seconds)
        return Charge(ok=False, usage=usage, violated=pool, banned_until=self.banned_until,
                      retry_after_s=self.banned_until - now)

    def reset(self) -> None:
        """Forget every count, violation and ban."""
        self._used.clear()
        self.violations = 0
        self._strikes = 0
        self.banned_until = 0.0
        self.backoff_until = 0.0

    def _prune(self, now: float) -> None:
        if len(self._used) < 256:
            return
        for k in [k for k in self._used if k[2] + self._pools[k[0]].window_s < now]:
            del self._used[k]


def scaled_limits(
    limits: RateLimits, limit_factor: float = 1.0, window_factor: float = 1.0
) -> RateLimits:
    """Return ``limits`` with every pool's limit and window multiplied (tests shrink them).

    E.g. binance's 6000 weight / 60 s scaled by (0.1, 1/6) is 600 weight / 10 s.
    """
    pools = [
        p.model_copy(update={"limit": p.limit * limit_factor,
                             "window_s": p.window_s * window_factor})
        for p in limits.pools
    ]
    return limits.model_copy(update={"pools": pools})
