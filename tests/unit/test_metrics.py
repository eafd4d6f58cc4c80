"""Metrics (actors/metrics.py): what a venue actor exports, in memory and through Ray's API.

The Ray sink runs here on a hand-written stand-in for ``ray.util.metrics`` (no Ray started), so
the names, tag keys and histogram bounds the dashboards rely on are pinned without a cluster.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from ray.util import metrics as ray_metrics

from actors.metrics import Metrics, _Ray


class FakeMetric:
    made: ClassVar[list[FakeMetric]] = []

    def __init__(self, name, description="", boundaries=None, tag_keys=()):
        self.name, self.boundaries, self.tag_keys = name, boundaries, tuple(tag_keys)
        self.calls: list[tuple[str, float, dict]] = []
        FakeMetric.made.append(self)

    def inc(self, value=1.0, tags=None):
        self.calls.append(("inc", value, tags))

    def set(self, value, tags=None):
        self.calls.append(("set", value, tags))

    def observe(self, value, tags=None):
        self.calls.append(("observe", value, tags))


@pytest.fixture
def ray_sink(monkeypatch):
    FakeMetric.made = []
    for kind in ("Counter", "Gauge", "Histogram"):
        monkeypatch.setattr(ray_metrics, kind, type(kind, (FakeMetric,), {}))
    monkeypatch.setattr(_Ray, "_made", {})
    return Metrics(ray=True)


def test_outside_ray_metrics_are_kept_in_memory(monkeypatch):
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # a whole-suite run has a Ray up
    assert type(Metrics.auto().sink).__name__ == "_Memory"


def test_a_snapshot_exports_latency_attempts_and_retries_per_venue(ray_sink):
    ray_sink.snapshot_done("okx", 0.12, attempts=3)
    ray_sink.snapshot_done("okx", 0.05, attempts=1)
    made = {m.name: m for m in FakeMetric.made}
    latency = made["basis_snapshot_latency_seconds"]
    assert type(latency).__name__ == "Histogram" and latency.tag_keys == ("venue",)
    assert latency.boundaries[0] == 0.005 and latency.boundaries[-1] == 10.0
    assert [c[1] for c in latency.calls] == [0.12, 0.05]
    assert [c[1] for c in made["basis_venue_attempts_total"].calls] == [3, 1]
    # a snapshot without retries sends nothing to the retries counter (counters only go up)
    assert [c[1] for c in made["basis_venue_retries_total"].calls] == [2]
    assert len(FakeMetric.made) == 3  # one metric object per name, reused


def test_errors_health_rate_limits_staleness_mismatches_and_alerts_are_tagged(ray_sink):
    ray_sink.error("binance", "RateLimitedError")
    ray_sink.health("binance", "down")
    ray_sink.health("binance", "unheard-of")
    ray_sink.rate_limit("binance", 0.0, {"spot_weight": 42.0})
    ray_sink.staleness("binance", 7.5)
    ray_sink.mismatches("btc_basis", 2)
    ray_sink.alert("staleness")
    made = {m.name: m for m in FakeMetric.made}
    assert made["basis_venue_errors_total"].calls == [
        ("inc", 1, {"venue": "binance", "error": "RateLimitedError"})]
    assert made["basis_venue_errors_total"].tag_keys == ("error", "venue")
    assert [c[1] for c in made["basis_venue_health"].calls] == [2.0, 2.0]  # unknown reads down
    assert "basis_ratelimit_wait_seconds_total" not in made  # no wait, nothing sent
    assert made["basis_ratelimit_used_weight"].calls == [
        ("set", 42.0, {"venue": "binance", "pool": "spot_weight"})]
    assert made["basis_venue_staleness_seconds"].calls == [("set", 7.5, {"venue": "binance"})]
    assert made["basis_reconciliation_mismatches"].calls == [("set", 2.0, {"mode": "btc_basis"})]
    assert made["basis_alerts_total"].calls == [("inc", 1, {"kind": "staleness"})]
