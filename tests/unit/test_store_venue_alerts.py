"""Snapshot store (a real SQLite file), the venue worker with a fake interface, alert rules."""

import asyncio
import sqlite3

import pytest

from actors.alerts import evaluate_alerts
from actors.metrics import Metrics
from actors.monitor import aggregate
from actors.store import SnapshotStore
from actors.venue import VenueWorker
from factory.config import RateLimits, resolve_config
from factory.errors import AuthenticationError, VenueTimeoutError, VenueUnavailableError
from factory.positions import AccountInfo, PortfolioSnapshot, Position, VenueSnapshot, utc


def portfolio(ts, amount=1.0):
    return PortfolioSnapshot(
        timestamp=utc(ts), execution_mode="live", positions={"okx:Perp:BTCUSDT": amount},
        complete=True,
    )


def test_history_survives_reopening_the_file(tmp_path):
    path = tmp_path / "h.sqlite"
    store = SnapshotStore(path)
    for i in range(5):
        store.append(portfolio(1000 + i, amount=-i))
    store.record_event("venue_actor_died", "okx", {"pid": 1})
    store.close()
    again = SnapshotStore(path)
    rows = again.query(1001, 1003)
    assert [r.positions["okx:Perp:BTCUSDT"] for r in rows] == [-1, -2, -3]
    assert again.count() == 5
    assert again.events("venue_actor_died")[0]["venue"] == "okx"


def test_the_store_uses_wal_and_a_committed_row_is_never_lost(tmp_path):
    path = tmp_path / "h.sqlite"
    store = SnapshotStore(path)
    store.append(portfolio(1))
    # a second connection (another process) sees the committed row while the first is open
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 1


class FakeInterface:
    """A venue interface with knobs: fail N times with an error, or hang."""

    def __init__(self, errors=(), hang=False):
        self.venue = "okx"
        self.venue_config = resolve_config({}).venue_config("okx")
        self.errors = list(errors)
        self.hang = hang
        self.calls = 0

    async def get_positions(self, timestamp):
        self.calls += 1
        if self.hang:
            await asyncio.sleep(10)
        if self.errors:
            raise self.errors.pop(0)
        key = "okx:Perp:BTCUSDT"
        return VenueSnapshot(venue="okx", execution_mode="live", timestamp=timestamp,
                             fetched_at=timestamp, positions={key: Position(key=key, amount=-3)})

    async def close(self):
        pass


async def test_worker_retries_then_reports_attempts_and_health():
    iface = FakeInterface([VenueUnavailableError("okx", "503")])
    w = VenueWorker(iface, metrics=Metrics())
    snap = await w.snapshot(utc(0), deadline_s=5)
    assert snap.attempts == 2 and iface.calls == 2
    assert w.status()["health"]["state"] == "ok"


async def test_worker_does_not_retry_authentication_and_marks_health():
    iface = FakeInterface([AuthenticationError("okx", "bad key")])
    metrics = Metrics()
    w = VenueWorker(iface, metrics=metrics)
    with pytest.raises(AuthenticationError):
        await w.snapshot(utc(0), deadline_s=5)
    assert iface.calls == 1
    assert w.status()["health"]["state"] == "degraded"
    key = ("basis_venue_errors_total", (("error", "AuthenticationError"), ("venue", "okx")))
    assert metrics.sink.values[key] == 1


async def test_worker_gives_up_at_the_deadline_with_a_typed_timeout():
    w = VenueWorker(FakeInterface(hang=True), metrics=Metrics())
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(VenueTimeoutError):
        await w.snapshot(utc(0), deadline_s=0.2)
    assert loop.time() - t0 < 0.5


def test_worker_reads_limits_from_the_venue_config():
    w = VenueWorker(FakeInterface(), metrics=Metrics(), limit_scale=0.1)
    assert isinstance(w.limiter.limits, RateLimits)
    pool = next(iter(w.limiter.pools.values()))
    spec = w.interface.venue_config.rate_limits.pools[0]
    assert pool.limit == pytest.approx(spec.limit * 0.1)


def test_alerts_fire_for_low_health_factor_margin_delta_and_staleness():
    cfg = resolve_config({
        "strategy": {"family": "basis", "underlying": "ETH"},
        "thresholds": {"min_health_factor": 1.2, "min_margin_ratio": 0.3, "delta_tolerance": 0.01,
                       "max_staleness_s": 10},
    })
    aave = VenueSnapshot(
        venue="aave_v3", execution_mode="live", timestamp=utc(0), fetched_at=utc(0),
        positions={"aave_v3:aToken:aweETH": Position(key="aave_v3:aToken:aweETH", amount=10)},
        account=AccountInfo(total_collateral=30000, total_debt=20000, health_factor=1.1),
        rates={"weETH": 1.05},
    )
    okx = VenueSnapshot(
        venue="okx", execution_mode="live", timestamp=utc(0), fetched_at=utc(0), status="stale",
        age_s=30, error="503",
        positions={"okx:Perp:ETHUSDT": Position(key="okx:Perp:ETHUSDT", amount=-5,
                                                mark_price=3000)},
        account=AccountInfo(margin_balance=3000),
    )
    snap = aggregate(utc(0), "live", {"aave_v3": aave, "okx": okx}, [], cfg)
    kinds = sorted(a.kind for a in evaluate_alerts(snap, cfg))
    assert kinds == ["health_factor", "margin_ratio", "net_delta", "staleness"]


def test_a_hedged_fresh_book_raises_no_alert():
    cfg = resolve_config({"strategy": {"family": "basis", "underlying": "BTC"}})
    snaps = {
        v: VenueSnapshot(venue=v, execution_mode="live", timestamp=utc(0), fetched_at=utc(0),
                         positions={k: Position(key=k, amount=a)})
        for v, k, a in [("binance", "binance:BaseToken:BTC", 1.0),
                        ("okx", "okx:Perp:BTCUSDT", -1.0)]
    }
    assert evaluate_alerts(aggregate(utc(0), "live", snaps, [], cfg), cfg) == []
