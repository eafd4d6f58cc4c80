"""VenueWorker (actors/venue.py) without Ray: the limiter sits in front of every request, the
venue's Retry-After and bans stop requests before they leave, deadlines are never overrun."""

from __future__ import annotations

import asyncio
import time

import pytest

from actors import venue as venue_module
from actors.metrics import Metrics
from actors.venue import ActorTransitSource, VenueWorker, current_deadline
from factory.config import resolve_config
from factory.errors import RateLimitedError, VenueTimeoutError, VenueUnavailableError
from factory.positions import Position, Transfer, VenueSnapshot, utc

KEY = "binance:Perp:BTCUSDT"


class FakeWire:
    """A binance-like interface that calls the request hooks around each 'request'.

    Knobs: ``answers`` is a list of (status, headers) to answer in turn (then 200s);
    ``transfers`` is what ``get_transfers_in_transit`` returns, after ``transfer_errors``.
    """

    def __init__(self, answers=(), transfer_errors=(), transfers=()):
        self.venue = "binance"
        self.venue_config = resolve_config({}).venue_config("binance")
        self.answers = list(answers)
        self.transfer_errors = list(transfer_errors)
        self.transfers = list(transfers)
        self.sent: list[str] = []
        self.before = self.after = None

    def set_request_hooks(self, before, after):
        self.before, self.after = before, after

    async def get_positions(self, timestamp):
        await self.before("spot_account")
        self.sent.append("spot_account")
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        await self.after("spot_account", status, headers)
        if status == 429:
            raise RateLimitedError("binance", "rate limited",
                                   retry_after_s=float(headers["Retry-After"]))
        if status == 418:
            raise RateLimitedError("binance", "IP banned", banned=True,
                                   retry_after_s=float(headers["Retry-After"]))
        return VenueSnapshot(venue="binance", execution_mode="live", timestamp=timestamp,
                             fetched_at=utc(), positions={KEY: Position(key=KEY, amount=-0.4)})

    async def get_transfers_in_transit(self):
        if self.transfer_errors:
            raise self.transfer_errors.pop(0)
        return self.transfers


def worker(iface, **kw) -> VenueWorker:
    return VenueWorker(iface, metrics=Metrics(), **kw)


async def test_a_fresh_snapshot_carries_latency_attempts_and_records_metrics():
    metrics = Metrics()
    w = VenueWorker(FakeWire(), metrics=metrics)
    snap = await w.snapshot(utc(0), deadline_s=5)
    assert snap.attempts == 1 and snap.latency_s >= 0 and snap.positions[KEY].amount == -0.4
    values = metrics.sink.values
    assert values[("basis_venue_attempts_total", (("venue", "binance"),))] == 1
    assert values[("basis_venue_health", (("venue", "binance"),))] == 0.0
    spot = ("basis_ratelimit_used_weight", (("pool", "spot_weight"), ("venue", "binance")))
    assert values[spot] == 20.0  # binance charges /api/v3/account 20 weight
    assert w.status()["calls"] == 1 and w.status()["limiter"]["requests"] == 1


async def test_a_retry_after_longer_than_the_deadline_stops_requests_until_it_expires():
    iface = FakeWire(answers=[(429, {"Retry-After": "30"})])
    w = worker(iface)
    with pytest.raises(RateLimitedError):
        await w.snapshot(utc(0), deadline_s=1.0)
    assert iface.sent == ["spot_account"]  # no retry: the wait ends past the deadline
    t0 = time.monotonic()
    with pytest.raises(RateLimitedError, match="past the deadline"):
        await w.snapshot(utc(0), deadline_s=1.0)
    assert time.monotonic() - t0 < 0.5  # refused at once, not after sleeping
    assert iface.sent == ["spot_account"]  # and nothing left for the venue
    assert w.status()["limiter"]["server_429"] == 1


async def test_a_ban_blocks_every_pool_and_shows_in_the_status():
    iface = FakeWire(answers=[(418, {"Retry-After": "120"})])
    w = worker(iface)
    with pytest.raises(RateLimitedError):
        await w.snapshot(utc(0), deadline_s=1.0)
    status = w.status()
    assert status["limiter"]["server_418"] == 1
    assert 100 < status["limiter"]["banned_for_s"] <= 120
    assert status["health"]["state"] == "degraded"
    assert status["health"]["last_error_type"] == "RateLimitedError"
    with pytest.raises(RateLimitedError):
        await w.snapshot(utc(0), deadline_s=1.0)
    assert len(iface.sent) == 1


async def test_no_time_left_is_a_timeout_without_a_request():
    iface = FakeWire()
    w = worker(iface)
    with pytest.raises(VenueTimeoutError, match="deadline passed"):
        await w.snapshot(utc(0), deadline_s=0.0)
    assert iface.sent == []
    assert w.status()["health"]["consecutive_failures"] == 1


async def test_the_deadline_is_visible_to_nested_calls_only_while_serving_a_snapshot():
    seen = []

    class Peeking(FakeWire):
        async def get_positions(self, timestamp):
            seen.append(current_deadline())
            return await super().get_positions(timestamp)

    w = worker(Peeking())
    before = time.monotonic()
    await w.snapshot(utc(0), deadline_s=2.0)
    assert before + 2.0 <= seen[0] <= time.monotonic() + 2.0
    assert current_deadline() is None


async def test_transfers_in_transit_are_retried_like_snapshots():
    pending = Transfer(id="w1", asset="USDT", amount=5.0, source="binance", destination="0xab",
                       kind="withdrawal", venue="binance", started_at=utc(0))
    iface = FakeWire(transfer_errors=[VenueUnavailableError("binance", "503")],
                     transfers=[pending])
    assert await worker(iface).transfers_in_transit(deadline_s=5) == [pending]


async def test_a_venue_without_transfers_reports_none():
    class NoTransit(FakeWire):  # an on-chain venue: it has no deposits or withdrawals
        get_transfers_in_transit = None

    assert await worker(NoTransit()).transfers_in_transit(deadline_s=1) == []


class StubCexActor:
    """A CEX venue actor as the wallet reaches it: records the budgets, answers after
    ``delay_s``."""

    def __init__(self, delay_s: float = 0.0):
        self.venue, self.delay_s = "binance", delay_s
        self.budgets: list[float | None] = []

    async def transfers_in_transit(self, budget_s):
        self.budgets.append(budget_s)
        await asyncio.sleep(self.delay_s)
        return []


async def test_the_wallet_does_not_wait_for_a_cex_actor_when_no_time_is_left():
    actor = StubCexActor()
    token = venue_module._deadline.set(time.monotonic() + venue_module.NESTED_MARGIN_S / 2)
    try:
        with pytest.raises(VenueTimeoutError, match="no time left"):
            await ActorTransitSource("binance", actor).get_transfers_in_transit()
    finally:
        venue_module._deadline.reset(token)
    assert actor.budgets == []  # nothing was asked of the actor


async def test_a_slow_cex_actor_makes_its_transfers_late_not_the_wallet():
    actor = StubCexActor(delay_s=5.0)
    token = venue_module._deadline.set(time.monotonic() + venue_module.NESTED_MARGIN_S + 0.2)
    started = time.monotonic()
    try:
        with pytest.raises(VenueTimeoutError, match="not read in time"):
            await ActorTransitSource("binance", actor).get_transfers_in_transit()
    finally:
        venue_module._deadline.reset(token)
    assert time.monotonic() - started < 1.0
    assert 0 < actor.budgets[0] <= 0.2


class Preparing(FakeWire):
    """An interface whose one-time setup takes ``setup_s`` and then fails or succeeds."""

    def __init__(self, setup_s: float = 0.0, error: Exception | None = None):
        super().__init__()
        self.setup_s, self.error, self.prepared = setup_s, error, 0

    async def prepare(self):
        import asyncio

        await asyncio.sleep(self.setup_s)
        self.prepared += 1
        if self.error is not None:
            raise self.error


async def test_prepare_reports_ready_a_typed_failure_or_a_timeout_and_never_raises():
    ready = Preparing()
    assert await worker(ready).prepare(1.0) is None and ready.prepared == 1
    failing = Preparing(error=VenueUnavailableError("binance", "markets: HTTP 503"))
    assert await worker(failing).prepare(1.0) == "VenueUnavailableError: binance: markets: HTTP 503"
    slow = Preparing(setup_s=5.0)
    assert await worker(slow).prepare(0.05) == "VenueTimeoutError: not ready within 0.05 s"
    assert slow.prepared == 0  # cut at the bound, not waited for


async def test_the_wallet_reads_an_exchange_worker_in_process_within_its_own_deadline():
    import asyncio

    from actors.venue import ActorTransitSource

    moving = Transfer(id="w1", asset="USDT", amount=250.0, source="binance", destination="wallet",
                      kind="withdrawal", venue="binance", started_at=utc(0))
    source = ActorTransitSource("binance", worker(FakeWire(transfers=[moving])))
    token = venue_module._deadline.set(time.monotonic() + 1.0)  # the wallet's snapshot deadline
    try:
        assert await source.get_transfers_in_transit() == [moving]
        slow = FakeWire()

        async def never():
            await asyncio.sleep(10)

        slow.get_transfers_in_transit = never
        with pytest.raises(VenueTimeoutError, match="not read in time"):
            await ActorTransitSource("binance", worker(slow)).get_transfers_in_transit()
    finally:
        venue_module._deadline.reset(token)
    with pytest.raises(VenueTimeoutError, match="no time left"):
        token = venue_module._deadline.set(time.monotonic())
        try:
            await source.get_transfers_in_transit()
        finally:
            venue_module._deadline.reset(token)
