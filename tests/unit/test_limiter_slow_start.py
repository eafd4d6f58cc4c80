"""The limiter after a 429 or a ban, on a manual clock: requests resume one at a time for every
caller of the venue's budget (snapshot, funding, the wallet's transfer reads), a ban stops them
all and names its end time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from actors.limits import SLOW_START_OPEN_AT, RateLimiter
from factory.config import RateLimits, venue_defaults
from factory.errors import RateLimitedError

BINANCE = venue_defaults()["binance"].rate_limits
#: one snapshot's calls plus the wallet's two transfer reads, all on binance's per-IP budget
CALLERS = ["spot_account", "fapi_account", "fapi_position_risk", "sapi_deposit_history",
           "sapi_withdraw_history"]


class ManualClock:
    """Monotonic seconds that move only when a task sleeps on them."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def binance(clock: ManualClock) -> RateLimiter:
    return RateLimiter("binance", BINANCE, clock=clock, sleep=clock.sleep,
                       wall=lambda: 1_800_000_000.0 + clock.now)


class Venue:
    """Sends through the limiter and records how many requests were in flight at once."""

    def __init__(self, limiter: RateLimiter, clock: ManualClock, answer: int = 429,
                 retry_after_s: float = 5.0):
        self.limiter, self.clock = limiter, clock
        self.answer, self.retry_after_s = answer, retry_after_s
        self.in_flight = 0
        self.peak = 0
        self.sent: list[tuple[float, str]] = []

    async def call(self, endpoint: str) -> int:
        async with self.limiter.request(endpoint) as answer:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.sent.append((self.clock.now, endpoint))
            await asyncio.sleep(0)  # the others get to try while this one is out
            self.in_flight -= 1
            answer.status = self.answer
            if self.answer == 429:
                answer.headers = {"Retry-After": f"{self.retry_after_s:g}"}
        return answer.status


async def test_after_a_retry_after_every_caller_of_the_venue_resumes_one_at_a_time():
    clock = ManualClock()
    lim = binance(clock)
    venue = Venue(lim, clock)
    lim.complete("spot_account", 429, {"Retry-After": "5"})
    start = clock.now

    await asyncio.gather(*(venue.call(e) for e in CALLERS))

    # the sapi reads (other pools) waited out the Retry-After too, and nobody went in parallel
    assert venue.peak == 1
    assert [t - start for t, _ in venue.sent] == pytest.approx([5.0, 10.0, 15.0, 20.0, 25.0])
    assert lim.stats.server_429 == 6


async def test_a_sustained_429_costs_one_request_per_retry_after_and_never_a_burst():
    clock = ManualClock()
    lim = binance(clock)
    venue = Venue(lim, clock, retry_after_s=5.0)
    lim.complete("spot_account", 429, {"Retry-After": "5"})
    start = clock.now
    while clock.now - start < 180:  # three minutes of snapshots and transfer reads
        await asyncio.gather(*(venue.call(e) for e in CALLERS))
    gaps = [b[0] - a[0] for a, b in zip(venue.sent, venue.sent[1:])]
    assert venue.peak == 1 and min(gaps) == pytest.approx(5.0)
    assert len(venue.sent) == pytest.approx(180 / 5, abs=5)


async def test_the_slow_start_opens_by_doubling_after_answers_then_lifts():
    clock = ManualClock()
    lim = binance(clock)
    lim.complete("spot_account", 429, {"Retry-After": "2"})
    venue = Venue(lim, clock, answer=200)
    caps = []
    for _ in range(4):
        caps.append(lim.slow_cap)
        await venue.call("fapi_account")
    assert caps == [1, 2, 4, None] and SLOW_START_OPEN_AT == 8
    await asyncio.gather(*(venue.call(e) for e in CALLERS * 2))
    assert venue.peak == len(CALLERS) * 2  # open again: no cap on concurrency


async def test_an_answer_that_is_not_a_success_keeps_the_cap_at_one():
    clock = ManualClock()
    lim = binance(clock)
    lim.complete("spot_account", 429, {"Retry-After": "1"})
    clock.now += 1
    for status in (None, 503, 401):
        async with lim.request("spot_account") as answer:
            answer.status = status
        assert lim.slow_cap == 1


async def test_a_ban_stops_every_pool_names_its_end_and_then_slow_starts():
    clock = ManualClock()
    lim = binance(clock)
    lim.complete("spot_account", 418, {"Retry-After": "120"})
    for endpoint in CALLERS:
        with pytest.raises(RateLimitedError) as info:
            await lim.acquire(endpoint, deadline=clock.now + 1)
        assert info.value.banned and info.value.retry_after_s == pytest.approx(120)
        end = datetime.fromtimestamp(1_800_000_000 + 1000 + 120, UTC)
        assert f"IP banned until {end:%Y-%m-%dT%H:%M:%S}Z" in str(info.value)
        assert lim.refused_here(info.value)
    assert lim.stats.requests == 0
    assert await lim.acquire("sapi_deposit_history") == pytest.approx(120)
    assert lim.slow_cap == 1 and lim.slow_pools == set(lim.pools)


async def test_a_per_uid_endpoint_limit_slows_only_that_endpoint():
    clock = ManualClock()
    limits = RateLimits.model_validate({
        "pools": [{"name": "balance", "limit": 10, "window_s": 2, "scope": "uid"},
                  {"name": "positions", "limit": 10, "window_s": 2, "scope": "uid"}],
        "endpoints": [{"name": "balance", "path": "/b", "weight": 1, "pools": ["balance"]},
                      {"name": "positions", "path": "/p", "weight": 1, "pools": ["positions"]}],
    })
    lim = RateLimiter("okx", limits, clock=clock, sleep=clock.sleep)
    lim.complete("balance", 429, {"Retry-After": "3"})
    assert await lim.acquire("positions") == 0
    assert await lim.acquire("balance") == pytest.approx(3.0)
    assert lim.slow_pools == {"balance"}


async def test_a_refusal_of_the_venue_is_not_mistaken_for_the_limiters_own():
    clock = ManualClock()
    lim = binance(clock)
    said = RateLimitedError("binance", "GET /api/v3/account: rate limited (HTTP 429)",
                            retry_after_s=5.0)
    assert not lim.refused_here(said)
    lim.block(5.0)
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire("spot_account", deadline=clock.now + 1)
    assert lim.refused_here(info.value) and not info.value.banned


def test_the_view_shows_a_banned_venue_and_when_the_ban_ends():
    from rich.console import Console

    from actors.monitor import aggregate
    from actors.view import render_snapshot
    from factory.config import resolve_config
    from factory.positions import Position, VenueSnapshot, utc

    key = "binance:Perp:BTCUSDT"
    error = ("RateLimitedError: binance: GET /api/v3/account: IP banned (HTTP 418) (venue code "
             "-1003); IP banned until 2026-11-30T23:59:00Z")
    stale = VenueSnapshot(venue="binance", execution_mode="live", timestamp=utc(0),
                          fetched_at=utc(0), status="stale", age_s=3.0, error=error,
                          positions={key: Position(key=key, amount=-0.4)})
    snap = aggregate(utc(0), "live", {"binance": stale}, [], resolve_config({}))
    console = Console(record=True, width=200, color_system=None)
    console.print(render_snapshot(snap))
    row = next(line for line in console.export_text().splitlines() if "binance " in line
               and "stale" in line)
    assert "IP banned until 2026-11-30T23:59:00Z" in row
