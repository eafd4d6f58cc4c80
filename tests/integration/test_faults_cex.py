"""Fault suite, exchange side: each fault the emulator can inject, through the live engine.

One live engine for the module (binance, bybit and okx over the exchange emulator, etherfi on
anvil), each test starting from a complete snapshot. Every row checks what a desk relies on when a venue
misbehaves:

- the portfolio snapshot still comes within the monitor's deadline;
- the venue is ``stale`` with its last good positions and account figures (unknown is not zero)
  and the age of that last good answer, the error names the typed error, the other venues stay
  ``ok``;
- the venue actor's attempts stay within its policy, counted at the emulator: at most
  ``retry.max_attempts`` requests for a retryable error (and more than one: it was retried),
  exactly one signed request for an authentication failure, none while a Retry-After or a ban
  runs (bybit's 403 IP limit is a ban of the ten minutes bybit documents);
- every history row recorded before the fault is still there, unchanged.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import ray

from actors.engine import EventDrivenStrategyEngine
from factory.config import venue_defaults
from factory.errors import (
    AuthenticationError,
    BadResponseError,
    ClockSkewError,
    RateLimitedError,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from factory.sandbox.exchange import Fault
from tests.integration.live_helpers import eventually
from tests.integration.test_monitor_live import live_mode

VENUES = ["binance", "bybit", "okx", "etherfi"]
DEADLINE_S = 1.0  # live_mode's monitor deadline
#: what the monitor may add to its deadline on a loaded 2-core machine (event-loop lateness)
LATE_S = 0.25
#: the whole Ray round trip driver -> monitor -> driver on a loaded machine
ROUND_TRIP_S = 1.5


@pytest.fixture(scope="module")
def engine(ray_session, exchange, sandbox, tmp_path_factory):
    history = tmp_path_factory.mktemp("faults_cex") / "history.sqlite"
    eng = EventDrivenStrategyEngine(live_mode(sandbox, venues=VENUES), "live",
                                    store_path=str(history))
    yield eng
    eng.shutdown()


@pytest.fixture
def good(engine, clean_exchange):
    """A complete snapshot taken with no fault (earlier faults and blocks have worn off)."""
    return eventually(lambda: (s := engine.get_real_positions()).complete and s, 30, 0.2,
                      "a complete snapshot before the fault")


def history(engine) -> list:
    return ray.get(engine.position_monitor.get_position_history.remote(), timeout=30)


def monitor_events(engine) -> list:
    """The monitor's recorded events (starts, venue actor replacements), oldest first: what a
    failed age check needs to tell a restart from a late answer."""
    try:
        return ray.get(engine.position_monitor.events.remote(), timeout=10)
    except Exception as exc:  # noqa: BLE001 - only ever part of a failure message
        return [f"events unavailable: {type(exc).__name__}"]


def venue_actor(venue: str):
    return ray.get_actor(f"venue:{venue}")


def max_attempts(venue: str) -> int:
    return venue_defaults()[venue].retry.max_attempts


def direct_snapshot_error(
    exchange, venue: str, expected: type[VenueError], deadline_s: float = DEADLINE_S
) -> VenueError:
    """Ask the venue actor itself for a snapshot under a deadline (the monitor's by default); it
    must fail with ``expected`` once its retries are over. The call returns only then, so the
    requests the emulator logged meanwhile are exactly this snapshot's."""
    exchange.clear_requests()
    with pytest.raises(expected) as info:
        ray.get(venue_actor(venue).snapshot.remote(None, deadline_s), timeout=30)
    return info.value


def stale_under_fault(
    engine, good, venue: str, error_type: type[VenueError] | str, also: tuple[str, ...] = ()
) -> str:
    """One portfolio snapshot with the fault on; return ``venue``'s error text.

    Asserts the row's common contract: on time; ``venue`` (and the venues in ``also``, hit by
    the same fault) stale with its last good positions and account, aged since the good
    snapshot, and an error naming ``error_type``; the other venues fresh; the history recorded
    before intact.
    """
    before = history(engine)
    t0 = time.time()
    snap = engine.get_real_positions()
    t1 = time.time()
    elapsed = t1 - t0
    assert snap.latency_s <= DEADLINE_S + LATE_S, f"fan-out took {snap.latency_s:.3f} s"
    assert elapsed <= DEADLINE_S + ROUND_TRIP_S
    assert not snap.complete and snap.missing == []
    name = error_type if isinstance(error_type, str) else error_type.__name__
    hit = (venue, *also)
    for v in hit:
        stale = snap.venues[v]
        assert stale.status == "stale", v
        assert stale.positions == good.venues[v].positions
        assert stale.account == good.venues[v].account
        assert stale.fetched_at == good.venues[v].fetched_at  # the last good answer itself
        # its age: from the good snapshot's answer (between its start and its end) to this one
        asked = good.timestamp.timestamp()
        assert t0 - asked - good.latency_s - 0.1 <= stale.age_s <= t1 - asked + 0.1, (
            f"{v}: age {stale.age_s:.3f} s, good asked {asked:.3f}, fetched "
            f"{good.venues[v].fetched_at.timestamp():.3f}, this snapshot asked {t0:.3f}, "
            f"answered {t1:.3f}, monitor events {monitor_events(engine)}")
        mine = {k: a for k, a in snap.positions.items() if k.startswith(f"{v}:")}
        assert mine == {k: a for k, a in good.positions.items() if k.startswith(f"{v}:")}
        assert name in (stale.error or ""), stale.error
    assert {v: s.status for v, s in snap.venues.items() if v not in hit} == {
        v: "ok" for v in good.venues if v not in hit}
    after = history(engine)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert all(after[-1].venues[v].status == "stale" for v in hit)
    return snap.venues[venue].error or ""


def test_the_good_snapshot_has_positions_on_every_cex(good):
    # the rows below compare stale values with these: they must not be empty
    for venue in ("binance", "bybit", "okx"):
        assert any(k.startswith(f"{venue}:Perp:") for k in good.venues[venue].positions)


# -- retryable faults: at most retry.max_attempts requests, then stale ------------------------


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_a_5xx_is_retried_within_the_policy_then_the_venue_is_stale(engine, good,
                                                                    clean_exchange, venue):
    clean_exchange.inject(venue, Fault(kind="server_error", status=503))
    direct_snapshot_error(clean_exchange, venue, VenueUnavailableError)
    sent = clean_exchange.requests(venue)
    assert 2 <= len(sent) <= max_attempts(venue)  # retried, and within the policy
    assert {(r.status, r.path) for r in sent} == {(503, sent[0].path)}  # the same call again
    stale_under_fault(engine, good, venue, VenueUnavailableError)


def test_a_hanging_venue_costs_one_request_and_the_snapshot_stays_on_time(engine, good,
                                                                         clean_exchange):
    clean_exchange.inject("okx", Fault(kind="hang", delay_s=3.0))
    error = direct_snapshot_error(clean_exchange, "okx", VenueTimeoutError)
    assert "okx" in str(error)
    assert len(clean_exchange.requests("okx")) == 1  # the deadline leaves no time to retry
    stale_under_fault(engine, good, "okx", VenueTimeoutError)


@pytest.mark.parametrize(("venue", "status"), [
    ("binance", 429),  # HTTP 429 + Retry-After
    ("bybit", 200),  # retCode 10006 (per-UID endpoint limit) + X-Bapi-Limit-Reset-Timestamp
])
def test_a_429_with_retry_after_is_honoured_no_request_until_it_expires(engine, good,
                                                                        clean_exchange, venue,
                                                                        status):
    clean_exchange.inject(venue, Fault(kind="rate_limit", retry_after_s=2.5, count=1))
    error = direct_snapshot_error(clean_exchange, venue, RateLimitedError)
    # longer than the deadline: no retry in this snapshot (bybit's reset time is an epoch,
    # read a few milliseconds after the emulator set it)
    assert error.retry_after_s >= 2.4 and not error.banned
    refused = clean_exchange.requests(venue)
    assert [(r.status, r.outcome) for r in refused] == [(status, "fault:rate_limit")]
    # within the Retry-After the limiter refuses locally, at once: the venue sees nothing
    stale_under_fault(engine, good, venue, RateLimitedError)
    assert clean_exchange.requests(venue) == refused
    recovered = eventually(lambda: (s := engine.get_real_positions()).complete and s, 20, 0.2,
                           f"{venue} fresh once the Retry-After is over")
    first_after = min(r.time for r in clean_exchange.requests(venue)[1:])
    assert first_after - refused[0].time >= error.retry_after_s
    assert recovered.venues[venue].positions == good.venues[venue].positions


def test_bybits_403_ip_limit_is_a_ten_minute_ban_nothing_is_sent_meanwhile(engine, good,
                                                                          clean_exchange):
    clean_exchange.inject("bybit", Fault(kind="rate_limit", scope="ip", count=1))
    error = direct_snapshot_error(clean_exchange, "bybit", RateLimitedError)
    assert error.banned and error.retry_after_s == 600.0  # bybit: "at least 10 minutes"
    assert "IP banned until 20" in str(error)
    sent = clean_exchange.requests("bybit")
    assert [(r.status, r.outcome) for r in sent] == [(403, "fault:rate_limit")]
    status = ray.get(venue_actor("bybit").status.remote())
    assert status["limiter"]["banned_for_s"] > 590 and status["limiter"]["banned_until"]
    assert "IP banned until 20" in stale_under_fault(engine, good, "bybit", RateLimitedError)
    assert clean_exchange.requests("bybit") == sent  # nothing sent during the ban
    # the next rows need bybit: a new actor process starts with no ban (Ray restarts it)
    os.kill(ray.get(venue_actor("bybit").ping.remote()), signal.SIGKILL)
    eventually(lambda: engine.get_real_positions().complete, 30, 0.2, "bybit back")


def test_a_418_ban_stops_every_request_until_it_expires(engine, good, clean_exchange):
    ban_s = 4.0  # long enough to take the portfolio snapshot inside it on a loaded machine
    clean_exchange.ban("binance", ban_s)
    error = direct_snapshot_error(clean_exchange, "binance", RateLimitedError)
    assert error.banned and error.retry_after_s >= ban_s - 0.5
    assert "IP banned until 20" in str(error)  # the view shows when it ends
    sent = clean_exchange.requests("binance")
    assert [r.status for r in sent] == [418]
    status = ray.get(venue_actor("binance").status.remote())
    assert status["limiter"]["server_418"] >= 1 and status["limiter"]["banned_for_s"] > 0
    assert status["limiter"]["banned_until"] and status["limiter"]["slow_start"]["in_flight_cap"]
    assert "IP banned until 20" in stale_under_fault(engine, good, "binance", RateLimitedError)
    assert clean_exchange.requests("binance") == sent  # nothing sent during the ban
    eventually(lambda: engine.get_real_positions().complete, 20, 0.2,
               "binance fresh once the ban expired")
    after_ban = clean_exchange.requests("binance")[1:]
    assert after_ban and min(r.time for r in after_ban) >= sent[0].time + ban_s - 0.5
    assert {r.status for r in after_ban} == {200}


# -- fatal faults: one attempt, never retried -------------------------------------------------


@pytest.mark.parametrize(("venue", "status"), [("binance", 401), ("bybit", 200), ("okx", 401)])
def test_rejected_credentials_are_one_signed_request_never_retried(engine, good,
                                                                   clean_exchange, venue, status):
    account = clean_exchange.account(venue).model_dump()
    clean_exchange.set_account(venue, {**account, "credentials": {
        "api_key": "revoked-key", "secret": "revoked-secret", "passphrase": "revoked-pass"}})
    direct_snapshot_error(clean_exchange, venue, AuthenticationError)
    sent = clean_exchange.requests(venue)
    # bybit answers HTTP 200 with retCode 10003
    assert [(r.signed, r.status, r.outcome) for r in sent] == [(True, status, "unauthenticated")]
    stale_under_fault(engine, good, venue, AuthenticationError)


@pytest.mark.parametrize(("venue", "offset_s"), [("binance", 120.0), ("binance", -120.0),
                                                 ("okx", 120.0)])
def test_a_skewed_venue_clock_is_resynced_once_and_the_venue_stays_ok(
    engine, good, clean_exchange, venue, offset_s
):
    clean_exchange.set_clock_offset(venue, offset_s)
    clean_exchange.clear_requests()
    snap = ray.get(venue_actor(venue).snapshot.remote(None, DEADLINE_S), timeout=30)
    assert snap.status == "ok" and snap.positions == good.venues[venue].positions
    signed = [(r.status, r.outcome) for r in clean_exchange.requests(venue) if r.signed]
    assert signed[0][0] in (400, 401) and signed[0][1] == "unauthenticated"  # rejected once
    assert all(outcome == "ok" for _, outcome in signed[1:])  # then read after the resync
    fresh = engine.get_real_positions()
    assert fresh.venues[venue].status == "ok" and fresh.complete


def test_a_clock_skew_the_resync_cannot_fix_is_a_clock_skew_error_retried_once(
    engine, good, clean_exchange
):
    clean_exchange.inject("binance", Fault(kind="clock_skew", offset_s=-120.0,
                                           path_prefix="/api/v3/account"))
    error = direct_snapshot_error(clean_exchange, "binance", ClockSkewError)
    assert not isinstance(error, AuthenticationError)
    sent = [(r.path, r.outcome) for r in clean_exchange.requests("binance")]
    # the first try, the resync from the server time, the one retry: nothing more
    assert sent == [("/api/v3/account", "unauthenticated"), ("/api/v3/time", "ok"),
                    ("/api/v3/account", "unauthenticated")]
    stale_under_fault(engine, good, "binance", ClockSkewError)


@pytest.mark.parametrize(("venue", "path"), [
    ("binance", "/api/v3/account"), ("binance", "/fapi/v3/positionRisk"),
    ("binance", "/fapi/v3/account"), ("binance", "/api/v3/time"),
    ("bybit", "/v5/account/wallet-balance"), ("bybit", "/v5/position/list"),
    ("bybit", "/v5/market/time"),
])
def test_a_malformed_answer_is_a_bad_response_not_retried_and_the_actor_answers_next(
    engine, good, clean_exchange, venue, path
):
    clean_exchange.inject(venue, Fault(kind="malformed_json", path_prefix=path))
    direct_snapshot_error(clean_exchange, venue, BadResponseError)
    assert len([r for r in clean_exchange.requests(venue) if r.path == path]) == 1
    stale_under_fault(engine, good, venue, BadResponseError)
    clean_exchange.clear_faults()
    fresh = engine.get_real_positions()  # the same actor process, the very next snapshot
    assert fresh.venues[venue].status == "ok" and fresh.complete
    assert fresh.venues[venue].positions == good.venues[venue].positions


# -- the venue actor's process dies -------------------------------------------------------------


def test_a_crashed_venue_actor_leaves_its_venue_stale_on_time_and_comes_back(engine, good):
    handle = venue_actor("okx")
    pid = ray.get(handle.ping.remote())
    os.kill(pid, signal.SIGKILL)
    error = stale_under_fault(engine, good, "okx", "Venue")
    # Ray is restarting it (VenueUnavailableError) or the call missed the deadline
    assert error.startswith(("VenueUnavailableError", "VenueTimeoutError")), error
    eventually(lambda: engine.get_real_positions().complete, 30, 0.2, "okx back after restart")
    assert ray.get(venue_actor("okx").ping.remote()) != pid
