"""SharedBudget: the one owner of an exchange's per-IP weight pools for one egress group.

Binance (and others) count request weight per IP: every account of the exchange that leaves
through one address spends from one budget. Each venue instance (account) keeps its own limiter
(`actors.limits.RateLimiter`) for its ``uid`` and ``endpoint`` pools; its ``ip`` pools are spent
from weight *leased* by the `SharedBudget` of its (exchange, egress group), so a request never
waits for a round trip to the budget:

- an instance asks for a lease when its current one cannot pay a request, and ahead of time
  when it runs low (`actors.lease.Lease`); a grant is a batch of ``lease_fraction`` of the pool
  (at least the request's weight, at most what is free), usable for ``lease_s`` seconds;
- the budget counts a lease as spent from the moment it grants it; the instance reports each
  answered request (weight, when it was answered) and gives back what it did not spend, and
  the budget then holds that weight for one window after the answer, as the local limiter does.
  So the weight granted in any window, whatever the interleaving of the instances, never
  exceeds the pool's limit;
- a lease nobody reported on (a dead instance) counts as spent until ``grace_s`` after it
  expired, then for one more window, and is forgotten;
- a 429 or 418 reported by any instance blocks the whole group: no grant until the block ends,
  and every grant names the block, so each instance waits it out and slow-starts. Until its next
  renewal, another instance can spend at most what it holds of its current lease: under 1.5
  grants per pool (it renews below half of its last grant; a grant is a batch, or one request's
  weight when that is more), for at most ``lease_s`` seconds.

Plain class (time injected, no Ray); its Ray shell is `actors.budget_actor.SharedBudgetActor`,
one per (exchange, egress group), named ``budget:<exchange>:<group>``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from factory.config import RateLimitPool, VenueConfig

__all__ = [
    "DEFAULT_GROUP",
    "BlockReport",
    "BudgetStats",
    "LeaseGrant",
    "LeaseRequest",
    "SharedBudget",
    "budget_key",
    "shared_groups",
    "shared_pools",
]

#: The egress group of a venue config that names none (one group per exchange).
DEFAULT_GROUP = "default"


def shared_pools(pools: Sequence[RateLimitPool]) -> list[RateLimitPool]:
    """The pools counted per IP (shared by the instances of an egress group)."""
    return [p for p in pools if p.scope == "ip"]


def budget_key(config: VenueConfig) -> tuple[str, str] | None:
    """(exchange, egress group) whose budget pays ``config``'s ip pools; None: no ip pool.

    The exchange is the config's ``ccxt_id`` (the venue id when it has none), so two instances
    (accounts) of one exchange share a budget whatever their venue ids.
    """
    if not shared_pools(config.rate_limits.pools):
        return None
    return (config.ccxt_id or config.venue, config.egress or DEFAULT_GROUP)


def shared_groups(configs: Mapping[str, VenueConfig]) -> dict[str, tuple[str, str]]:
    """venue -> (exchange, group) for the venues whose egress group holds two instances or more.

    A venue alone in its group keeps its own pools (no budget to ask: exactly the limiter of
    one instance per exchange).
    """
    keys = {v: k for v, c in configs.items() if (k := budget_key(c)) is not None}
    sizes = Counter(keys.values())
    return {v: k for v, k in keys.items() if sizes[k] > 1}


@dataclass(frozen=True)
class BlockReport:
    """The venue refused an instance: block ``pools`` (or all, when ``banned``) ``seconds``."""

    pools: tuple[str, ...]
    seconds: float
    banned: bool = False


@dataclass(frozen=True)
class LeaseRequest:
    """One message from an instance to its budget.

    Attributes:
        holder: the instance's id (unique per limiter, so a respawned instance is a new one).
        need: pool -> weight of the request waiting for it (0: renewing ahead, none waiting).
        settled: (pool, weight, seconds since it was answered) of each request answered since
            the last message.
        refund: pool -> leased weight the instance will not spend (its lease expired).
        seen_used: pool -> (the venue's own used-weight figure, seconds since it was read).
        blocks: 429s and 418s the instance got since the last message.
    """

    holder: str
    need: dict[str, float] = field(default_factory=dict)
    settled: tuple[tuple[str, float, float], ...] = ()
    refund: dict[str, float] = field(default_factory=dict)
    seen_used: dict[str, tuple[float, float]] = field(default_factory=dict)
    blocks: tuple[BlockReport, ...] = ()


@dataclass(frozen=True)
class LeaseGrant:
    """The budget's answer: weight granted per pool, for ``lease_s`` seconds from the request.

    Attributes:
        granted: pool -> weight the instance may spend (pools refused are absent).
        lease_s: how long the granted weight may be spent.
        retry_in_s: pool -> seconds until the needed weight may fit (refused pools).
        blocked_for_s: pool -> seconds the group is blocked on it (429).
        banned_for_s: seconds the group is banned (418), 0 when not.
    """

    granted: dict[str, float]
    lease_s: float
    retry_in_s: dict[str, float] = field(default_factory=dict)
    blocked_for_s: dict[str, float] = field(default_factory=dict)
    banned_for_s: float = 0.0


@dataclass
class BudgetStats:
    """What the budget did, for status and benchmarks (weights summed over its pools).

    Attributes:
        leases: grants made; ``granted``: weight granted; ``refused``: requests told to wait.
        refunded: weight handed back unspent; ``settled``: weight reported answered.
        expired: weight of leases nobody reported on, counted as spent.
        blocks: 429s and 418s reported; ``held_at_block``: weight the instances held when the
            last one was recorded (what they could still spend before hearing of it).
    """

    leases: int = 0
    granted: float = 0.0
    refused: int = 0
    refunded: float = 0.0
    settled: float = 0.0
    expired: float = 0.0
    blocks: int = 0
    held_at_block: float = 0.0


class _Pool:
    def __init__(self, spec: RateLimitPool, scale: float):
        self.limit = spec.limit * scale
        self.window_s = spec.window_s
        self.charges: list[tuple[float, float]] = []  # (release_at, weight)

    def charged(self, now: float) -> float:
        self.charges = [c for c in self.charges if c[0] > now]
        return sum(w for _, w in self.charges)


@dataclass
class _Holder:
    held: dict[str, float] = field(default_factory=dict)  # leased, not yet reported
    expires_at: float = 0.0


class SharedBudget:
    """The ip pools of one (exchange, egress group), leased to its instances in batches.

    Args:
        exchange: the exchange (``ccxt_id``), for status and names.
        group: the egress group.
        pools: the exchange's pools; those with ``scope: ip`` are kept.
        scale: multiplies every pool's limit (as the instances' limiters do).
        clock: monotonic seconds.
        lease_s: how long a grant may be spent.
        lease_fraction: a grant's batch, as a fraction of the pool's limit.
        grace_s: how long after a lease expired its holder may still report on it (its last
            requests in flight) before the lease counts as fully spent.
    """

    def __init__(
        self,
        exchange: str,
        group: str,
        pools: Sequence[RateLimitPool],
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        lease_s: float = 1.0,
        lease_fraction: float = 0.05,
        grace_s: float = 2.0,
    ):
        self.exchange = exchange
        self.group = group
        self.pools = {p.name: _Pool(p, scale) for p in shared_pools(pools)}
        self.clock = clock
        self.lease_s = lease_s
        self.lease_fraction = lease_fraction
        self.grace_s = grace_s
        self.blocked_until = dict.fromkeys(self.pools, 0.0)
        self.banned_until = 0.0
        self.stats = BudgetStats()
        self._holders: dict[str, _Holder] = {}

    def batch(self, pool: str) -> float:
        """The weight of one grant on ``pool`` (when that much is free)."""
        return self.pools[pool].limit * self.lease_fraction

    def used(self, pool: str, now: float | None = None) -> float:
        """Weight of ``pool`` counted in the current window: answered, leased or in flight."""
        now = self.clock() if now is None else now
        self._expire(now)
        held = sum(h.held.get(pool, 0.0) for h in self._holders.values())
        return self.pools[pool].charged(now) + held

    def lease(self, request: LeaseRequest) -> LeaseGrant:
        """Take an instance's reports, then grant what it needs (or say when to ask again)."""
        now = self.clock()
        self._expire(now)
        holder = self._holders.setdefault(request.holder, _Holder(expires_at=now))
        for report in request.blocks:
            self._block(report, now)
        for name, weight, ago in request.settled:
            if name not in self.pools:
                continue
            holder.held[name] = max(0.0, holder.held.get(name, 0.0) - weight)
            self.stats.settled += weight
            release = now - max(0.0, ago) + self.pools[name].window_s
            if release > now:
                self.pools[name].charges.append((release, weight))
        for name, weight in request.refund.items():
            if name in self.pools:
                back = min(weight, holder.held.get(name, 0.0))
                holder.held[name] = holder.held.get(name, 0.0) - back
                self.stats.refunded += back
        for name, (venue_used, _ago) in request.seen_used.items():
            if name in self.pools:
                mine = self.used(name, now)
                if venue_used > mine:  # the venue counted more than we did: trust it
                    self.pools[name].charges.append((now + self.pools[name].window_s,
                                                     venue_used - mine))
        granted: dict[str, float] = {}
        retry: dict[str, float] = {}
        for name, need in request.need.items():
            if name not in self.pools:
                continue
            block = max(self.blocked_until[name], self.banned_until) - now
            free = self.pools[name].limit - self.used(name, now)
            if block > 0:
                retry[name] = block
            elif free >= max(need, 1e-9):
                granted[name] = min(max(need, self.batch(name)), free)
                holder.held[name] = holder.held.get(name, 0.0) + granted[name]
            else:
                retry[name] = self._wait_for(name, need, now)
        if granted:
            holder.expires_at = now + self.lease_s
            self.stats.leases += 1
            self.stats.granted += sum(granted.values())
        if retry:
            self.stats.refused += 1
        return LeaseGrant(
            granted=granted, lease_s=self.lease_s, retry_in_s=retry,
            blocked_for_s={n: u - now for n, u in self.blocked_until.items() if u > now},
            banned_for_s=max(0.0, self.banned_until - now),
        )

    def _wait_for(self, name: str, need: float, now: float) -> float:
        """Seconds until ``need`` may fit ``name`` (inf: never; a lease's span when only
        weight leased to instances holds the room)."""
        pool = self.pools[name]
        if need > pool.limit:
            return float("inf")
        missing = need - (pool.limit - self.used(name, now))
        for release_at, weight in sorted(pool.charges):
            missing -= weight
            if missing <= 1e-12:
                return release_at - now
        return self.lease_s / 2

    def _block(self, report: BlockReport, now: float) -> None:
        until = now + max(0.0, report.seconds)
        self.stats.blocks += 1
        self.stats.held_at_block = sum(
            w for h in self._holders.values() for w in h.held.values())
        if report.banned:
            self.banned_until = max(self.banned_until, until)
            return
        for name in report.pools:
            if name in self.pools:
                self.blocked_until[name] = max(self.blocked_until[name], until)

    def _expire(self, now: float) -> None:
        """Leases not reported on by ``grace_s`` after they expired count as spent, once."""
        for key in [k for k, h in self._holders.items() if h.expires_at + self.grace_s <= now]:
            holder = self._holders.pop(key)
            release = holder.expires_at + self.grace_s
            for name, weight in holder.held.items():
                if weight > 0:
                    self.pools[name].charges.append((release + self.pools[name].window_s,
                                                     weight))
                    self.stats.expired += weight

    def status(self) -> dict[str, Any]:
        """Use per pool, holders, block state and counters."""
        now = self.clock()
        return {
            "exchange": self.exchange,
            "group": self.group,
            "pools": {n: {"used": self.used(n, now), "limit": p.limit, "window_s": p.window_s}
                      for n, p in self.pools.items()},
            "holders": len(self._holders),
            "blocked_for_s": {n: u - now for n, u in self.blocked_until.items() if u > now},
            "banned_for_s": max(0.0, self.banned_until - now),
            "stats": vars(self.stats).copy(),
        }
