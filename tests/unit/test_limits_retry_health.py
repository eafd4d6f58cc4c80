"""Rate limiter, retry policy and health state machine on a manual clock (no sleeping)."""

import random

import pytest

from actors.health import HealthTracker
from actors.limits import RateLimiter
from actors.retry import RetryOutcome, RetryPolicy
from factory.config import RateLimits, RetrySettings, venue_defaults
from factory.errors import (
    AuthenticationError,
    RateLimitedError,
    VenueUnavailableError,
)


class ManualClock:
    """A clock that only moves when something sleeps on it."""

    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


LIMITS = RateLimits.model_validate({
    "pools": [{"name": "w", "limit": 100, "window_s": 10}],
    "endpoints": [
        {"name": "big", "path": "/big", "weight": 40, "pools": ["w"]},
        {"name": "small", "path": "/small", "weight": 5, "pools": ["w"]},
    ],
})


def limiter(clock, **kw):
    return RateLimiter("binance", LIMITS, clock=clock, sleep=clock.sleep, **kw)


async def test_requests_within_the_budget_do_not_wait():
    clock = ManualClock()
    lim = limiter(clock)
    for _ in range(2):
        assert await lim.acquire("/big") == 0
        lim.release("/big")
    assert lim.snapshot_stats().used_by_pool == {"w": 80}


async def test_a_request_over_the_budget_waits_for_the_window_to_release_weight():
    clock = ManualClock()
    lim = limiter(clock)
    for _ in range(2):
        await lim.acquire("/big")
        lim.release("/big")
    clock.now += 3
    waited = await lim.acquire("/big")
    assert waited == pytest.approx(7.0)  # the first charge is released 10 s after it settled


async def test_weight_in_any_window_never_exceeds_the_limit():
    clock = ManualClock()
    lim = limiter(clock)
    log = []
    for i in range(200):
        endpoint = "/big" if i % 3 == 0 else "/small"
        await lim.acquire(endpoint)
        log.append((clock.now, lim.cost(endpoint)[0]))
        clock.now += 0.01
        lim.release(endpoint)
    for t, _ in log:
        assert sum(w for s, w in log if t - 10 < s <= t) <= 100
    span = log[-1][0] - log[0][0]
    used = sum(w for _, w in log)
    assert used / (100 * (span / 10 + 1)) > 0.9  # the budget is used, not wasted


async def test_scale_shrinks_every_pool():
    clock = ManualClock()
    lim = limiter(clock, scale=0.5)
    await lim.acquire("/big")
    lim.release("/big")
    for _ in range(2):
        assert await lim.acquire("/small") == 0
        lim.release("/small")
    assert await lim.acquire("/small") > 0  # 40 + 5 + 5 + 5 > 100 x 0.5


async def test_retry_after_blocks_the_endpoint_pools_until_it_expires():
    clock = ManualClock()
    lim = limiter(clock)
    lim.feedback("/small", 429, {"Retry-After": "3"})
    assert await lim.acquire("/small") == pytest.approx(3.0)
    assert lim.stats.server_429 == 1


async def test_a_418_ban_stops_every_call_until_it_expires_and_deadline_is_respected():
    clock = ManualClock()
    lim = limiter(clock)
    lim.feedback("/big", 418, {"retry-after": "120"})
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire("/small", deadline=clock.now + 2)
    assert info.value.banned and info.value.retry_after_s == pytest.approx(120)
    assert clock.slept == []
    assert await lim.acquire("/small") == pytest.approx(120)


MBX_HEADER = {"prefix": "X-MBX-USED-WEIGHT-", "units_s": {"S": 1, "M": 60, "H": 3600, "D": 86400}}


async def test_a_higher_used_weight_header_is_adopted():
    clock = ManualClock()
    lims = RateLimits.model_validate({
        "pools": [{"name": "w", "limit": 100, "window_s": 60}],
        "endpoints": [{"name": "a", "path": "/a", "weight": 10, "pools": ["w"]}],
        "used_weight_headers": [MBX_HEADER],
    })
    lim = RateLimiter("binance", lims, clock=clock, sleep=clock.sleep)
    await lim.acquire("/a")
    lim.release("/a")
    lim.feedback("/a", 200, {"X-MBX-USED-WEIGHT-1M": "95"})
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(95)
    assert await lim.acquire("/a") > 0


def answered_limiter(venue, used_weight_headers, window_s=60):
    """A limiter with one 10-weight request answered on endpoint /a of pool w."""
    clock = ManualClock()
    lims = RateLimits.model_validate({
        "pools": [{"name": "w", "limit": 100, "window_s": window_s}],
        "endpoints": [{"name": "a", "path": "/a", "weight": 10, "pools": ["w"]}],
        "used_weight_headers": used_weight_headers,
    })
    lim = RateLimiter(venue, lims, clock=clock, sleep=clock.sleep)
    lim.pools["w"].take(10)
    lim.release("/a")
    return lim


def test_a_venue_config_without_a_used_weight_header_ignores_such_headers():
    lim = answered_limiter("okx", [])
    lim.feedback("/a", 200, {"X-MBX-USED-WEIGHT-1M": "95", "X-MBX-USED-WEIGHT": "95"})
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(10)


def test_a_used_weight_header_configured_on_another_venue_is_honoured_by_its_window():
    spec = {"prefix": "X-Desk-Used-", "units_s": {"S": 1}, "pools": ["w"]}
    lim = answered_limiter("bybit", [spec], window_s=10)
    lim.feedback("/a", 200, {"x-desk-used-60s": "80", "X-MBX-USED-WEIGHT-1M": "90"})
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(10)  # not its window
    lim.feedback("/a", 200, {"X-DESK-USED-10S": "70"})
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(70)
    lim.feedback("/a", 200, {"X-Desk-Used-10S": "40"})  # lower than ours: ours stands
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(70)


def test_a_used_weight_header_reaches_only_its_configured_pools():
    lim = answered_limiter("binance", [{**MBX_HEADER, "pools": []}])
    lim.feedback("/a", 200, {"X-MBX-USED-WEIGHT-1M": "50"})
    assert lim.snapshot_stats().used_by_pool["w"] == pytest.approx(50)
    other = RateLimits.model_validate({
        "pools": [{"name": "w", "limit": 100, "window_s": 60},
                  {"name": "v", "limit": 100, "window_s": 60}],
        "endpoints": [{"name": "a", "path": "/a", "weight": 10, "pools": ["w"]}],
        "used_weight_headers": [{**MBX_HEADER, "pools": ["v"]}],
    })
    lim = RateLimiter("binance", other, clock=ManualClock())
    lim.feedback("/a", 200, {"X-MBX-USED-WEIGHT-1M": "50"})
    assert lim.snapshot_stats().used_by_pool["w"] == 0


@pytest.mark.parametrize("spec,needle", [
    ({**MBX_HEADER, "pools": ["nope"]}, "unknown pool 'nope'"),
    ({**MBX_HEADER, "units_s": {"MIN": 60}}, "one letter"),
    ({**MBX_HEADER, "units_s": {"M": 0}}, "must be > 0"),
    ({**MBX_HEADER, "pattern": "x"}, "Extra inputs"),
])
def test_a_malformed_used_weight_header_spec_is_a_config_error(spec, needle):
    with pytest.raises(ValueError, match=needle):
        RateLimits.model_validate({
            "pools": [{"name": "w", "limit": 100, "window_s": 60}],
            "used_weight_headers": [spec],
        })


def test_the_shipped_binance_config_reads_its_used_weight_header_and_the_others_none():
    shipped = venue_defaults()
    lim = RateLimiter("binance", shipped["binance"].rate_limits, clock=ManualClock())
    lim.feedback("/fapi/v3/account", 200, {"x-mbx-used-weight-1m": "2000"})
    lim.feedback("/sapi/v1/capital/deposit/hisrec", 200, {"x-mbx-used-weight-1m": "2000"})
    used = lim.snapshot_stats().used_by_pool
    assert used["fapi_weight"] == pytest.approx(2000) and used["sapi_ip_weight"] == 0
    assert [v for v, c in shipped.items() if c.rate_limits.used_weight_headers] == ["binance"]


async def test_a_weight_larger_than_the_pool_fails_at_once():
    clock = ManualClock()
    lims = RateLimits.model_validate({
        "pools": [{"name": "w", "limit": 10, "window_s": 1}],
        "endpoints": [{"name": "a", "path": "/a", "weight": 20, "pools": ["w"]}],
    })
    with pytest.raises(RateLimitedError, match="exceeds"):
        await RateLimiter("x", lims, clock=clock, sleep=clock.sleep).acquire("/a")


def policy(clock, attempts=4, seed=1):
    return RetryPolicy(
        RetrySettings(max_attempts=attempts, base_delay_s=0.1, max_delay_s=1.0),
        clock=clock, sleep=clock.sleep, rng=random.Random(seed),
    )


class Flaky:
    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retryable_errors_are_retried_with_capped_full_jitter():
    clock = ManualClock()
    fn = Flaky([VenueUnavailableError("okx", "503")] * 3)
    out = RetryOutcome()
    assert await policy(clock).call(fn, outcome=out) == "ok"
    assert fn.calls == 4 and out.retries == 3
    caps = [0.1, 0.2, 0.4]
    assert all(0 <= d <= c for d, c in zip(clock.slept, caps, strict=True))


async def test_attempts_are_bounded():
    clock = ManualClock()
    fn = Flaky([VenueUnavailableError("okx", "503")] * 10)
    with pytest.raises(VenueUnavailableError):
        await policy(clock, attempts=3).call(fn)
    assert fn.calls == 3


async def test_authentication_errors_are_never_retried():
    clock = ManualClock()
    fn = Flaky([AuthenticationError("okx", "bad signature")])
    with pytest.raises(AuthenticationError):
        await policy(clock).call(fn)
    assert fn.calls == 1 and clock.slept == []


async def test_no_retry_sleeps_past_the_deadline():
    clock = ManualClock()
    fn = Flaky([RateLimitedError("binance", "429", retry_after_s=5.0)] * 2)
    with pytest.raises(RateLimitedError):
        await policy(clock).call(fn, deadline=clock.now + 2.0)
    assert fn.calls == 1 and clock.slept == []


async def test_retry_after_is_a_floor_for_the_next_delay():
    clock = ManualClock()
    fn = Flaky([RateLimitedError("binance", "429", retry_after_s=0.75)])
    await policy(clock).call(fn)
    assert clock.slept == [pytest.approx(0.75)]


def test_health_goes_ok_degraded_down_and_back():
    h = HealthTracker(failures_to_down=3)
    states = [h.record(1.0, RuntimeError("x")) for _ in range(3)]
    assert states == ["degraded", "degraded", "down"]
    assert h.consecutive_failures == 3 and h.last_error_type == "RuntimeError"
    assert h.record(2.0) == "ok" and h.consecutive_failures == 0 and h.last_success == 2.0
