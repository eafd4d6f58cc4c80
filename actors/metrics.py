"""Metrics through `ray.util.metrics`, tagged by venue; an in-memory sink outside Ray.

Names (Prometheus, as exported by Ray's metrics agent with the ``ray_`` prefix):

| metric | type | tags |
|---|---|---|
| basis_snapshot_latency_seconds | histogram | venue |
| basis_venue_attempts_total | counter | venue |
| basis_venue_retries_total | counter | venue |
| basis_venue_errors_total | counter | venue, error |
| basis_ratelimit_wait_seconds_total | counter | venue |
| basis_ratelimit_used_weight | gauge | venue, pool |
| basis_venue_staleness_seconds | gauge | venue |
| basis_venue_health | gauge (0 ok, 1 degraded, 2 down) | venue |
| basis_reconciliation_mismatches | gauge | mode |
| basis_alerts_total | counter | kind |
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

__all__ = ["Metrics"]

_HEALTH = {"ok": 0.0, "degraded": 1.0, "down": 2.0}
_LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0]


class _Memory:
    """Records the last value of every series (tests, no Ray)."""

    def __init__(self):
        self.values: dict[tuple[str, tuple], float] = defaultdict(float)

    def inc(self, name: str, value: float, tags: dict[str, str]) -> None:
        self.values[(name, tuple(sorted(tags.items())))] += value

    def set(self, name: str, value: float, tags: dict[str, str]) -> None:
        self.values[(name, tuple(sorted(tags.items())))] = value

    observe = set


class _Ray:
    """Creates ray.util.metrics objects once per process."""

    _made: ClassVar[dict[str, Any]] = {}

    def _get(self, name: str, kind: str, tags: dict[str, str]) -> Any:
        from ray.util import metrics as m

        if name not in self._made:
            keys = tuple(sorted(tags))
            if kind == "counter":
                self._made[name] = m.Counter(name, tag_keys=keys)
            elif kind == "gauge":
                self._made[name] = m.Gauge(name, tag_keys=keys)
            else:
                self._made[name] = m.Histogram(name, boundaries=_LATENCY_BOUNDS, tag_keys=keys)
        return self._made[name]

    def inc(self, name: str, value: float, tags: dict[str, str]) -> None:
        if value > 0:
            self._get(name, "counter", tags).inc(value, tags=tags)

    def set(self, name: str, value: float, tags: dict[str, str]) -> None:
        self._get(name, "gauge", tags).set(value, tags=tags)

    def observe(self, name: str, value: float, tags: dict[str, str]) -> None:
        self._get(name, "histogram", tags).observe(value, tags=tags)


class Metrics:
    """The project's metrics; ``ray=True`` exports through Ray, else keeps them in memory."""

    def __init__(self, ray: bool = False):
        self.sink: Any = _Ray() if ray else _Memory()

    @classmethod
    def auto(cls) -> Metrics:
        """Ray metrics inside a Ray worker or driver, memory otherwise."""
        try:
            import ray

            return cls(ray=ray.is_initialized())
        except Exception:  # noqa: BLE001 - metrics never break the caller
            return cls(ray=False)

    def snapshot_done(self, venue: str, latency_s: float, attempts: int) -> None:
        self.sink.observe("basis_snapshot_latency_seconds", latency_s, {"venue": venue})
        self.sink.inc("basis_venue_attempts_total", attempts, {"venue": venue})
        self.sink.inc("basis_venue_retries_total", max(0, attempts - 1), {"venue": venue})

    def error(self, venue: str, error_type: str) -> None:
        self.sink.inc("basis_venue_errors_total", 1, {"venue": venue, "error": error_type})

    def rate_limit(self, venue: str, waited_s: float, used_by_pool: dict[str, float]) -> None:
        self.sink.inc("basis_ratelimit_wait_seconds_total", waited_s, {"venue": venue})
        for pool, used in used_by_pool.items():
            self.sink.set("basis_ratelimit_used_weight", used, {"venue": venue, "pool": pool})

    def staleness(self, venue: str, age_s: float) -> None:
        self.sink.set("basis_venue_staleness_seconds", age_s, {"venue": venue})

    def health(self, venue: str, state: str) -> None:
        self.sink.set("basis_venue_health", _HEALTH.get(state, 2.0), {"venue": venue})

    def mismatches(self, mode: str, count: int) -> None:
        self.sink.set("basis_reconciliation_mismatches", float(count), {"mode": mode})

    def alert(self, kind: str) -> None:
        self.sink.inc("basis_alerts_total", 1, {"kind": kind})
