"""CEX contract: every venue registered with the emulator, through real ccxt over HTTP.

The suite iterates over `EMULATOR_VENUES`: a venue joins it by registering its emulator (and
shipping its config). One emulator is served from a background thread for the module; each
test starts from a fresh account and no faults.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from factory import ExecutionInterfaceFactory
from factory.config import venue_defaults
from factory.errors import (
    AuthenticationError,
    BadResponseError,
    MissingCredentialError,
    RateLimitedError,
    VenueTimeoutError,
    VenueUnavailableError,
    is_retryable,
)
from factory.sandbox.exchange import EMULATOR_VENUES, Fault, VenueAccount, serve_in_thread

VENUES = sorted(EMULATOR_VENUES)
BANNING = [v for v in VENUES if venue_defaults()[v].rate_limits.ban_after_violations]


def contract_account(venue: str) -> VenueAccount:
    """Balances in every wallet, a short BTC perp (37 okx contracts), a long ETH perp,
    a funding payment each way and one pending transfer each way."""
    wallets = {w: {} for w in EMULATOR_VENUES[venue].wallets}
    first, last = EMULATOR_VENUES[venue].wallets[0], EMULATOR_VENUES[venue].wallets[-1]
    wallets[first].update(BTC=1.25, USDT=1500.5)
    wallets[last]["USDT"] = wallets[last].get("USDT", 0.0) + 30000.0
    return VenueAccount.model_validate({
        "wallets": wallets,
        "perps": [
            {"symbol": "BTCUSDT", "quantity": -0.37, "entry_price": 60000, "mark_price": 61000,
             "leverage": 4},
            {"symbol": "ETHUSDT", "quantity": 1.3, "entry_price": 3000, "mark_price": 2950,
             "leverage": 2},
        ],
        "funding": [{"symbol": "BTCUSDT", "amount": 2.25, "age_s": 3600, "id": "fund-1"},
                    {"symbol": "ETHUSDT", "amount": -0.4, "age_s": 3600, "id": "fund-2"}],
        "deposits": [{"id": "dep-1", "asset": "USDT", "amount": 700, "age_s": 120},
                     {"id": "dep-old", "asset": "USDT", "amount": 5, "status": "ok",
                      "age_s": 9000}],
        "withdrawals": [{"id": "wd-1", "asset": "USDT", "amount": 1200, "age_s": 600}],
    })


@pytest.fixture(scope="module")
def emulator():
    with serve_in_thread() as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh(emulator, monkeypatch):
    emulator.reset()
    for venue in VENUES:
        emulator.set_account(venue, contract_account(venue))
        for name in emulator.env(venue):
            monkeypatch.delenv(name, raising=False)
    yield


def credentials(emu, venue, monkeypatch, **override):
    """Set the venue's credential variables (not its base URL)."""
    for name, value in emu.env(venue).items():
        if not name.endswith("_API_BASE_URL"):
            monkeypatch.setenv(name, override.get(name, value))


def interface(emu, venue, **settings):
    config = {"venue_settings": {venue: {"api_base_url": emu.base_url(venue), **settings}}}
    return ExecutionInterfaceFactory.create_position_interface(venue, "live", config)


async def snapshot(iface):
    try:
        return await iface.get_positions()
    finally:
        await iface.close()


@pytest.mark.parametrize("venue", VENUES)
async def test_positions_are_exactly_the_accounts_canonical_keys(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    snap = await snapshot(interface(emulator, venue))
    assert snap.amounts() == pytest.approx(contract_account(venue).expected_amounts(venue))
    short = snap.positions[f"{venue}:Perp:BTCUSDT"]
    assert (short.amount, short.entry_price, short.mark_price) == pytest.approx(
        (-0.37, 60000, 61000))
    assert short.unrealized_pnl == pytest.approx(-370.0)
    assert short.leverage == pytest.approx(4.0) and short.notional == pytest.approx(0.37 * 61000)
    assert snap.account is not None and snap.account.maintenance_margin > 0
    assert abs(snap.timestamp.timestamp() - emulator.now(venue)) < 5  # the venue's clock


@pytest.mark.parametrize("venue", VENUES)
async def test_base_url_from_the_environment_alone(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    monkeypatch.setenv(f"BASIS_{venue.upper()}_API_BASE_URL", emulator.base_url(venue))
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", {})
    snap = await snapshot(iface)
    assert snap.amounts() == pytest.approx(contract_account(venue).expected_amounts(venue))


@pytest.mark.parametrize("venue", VENUES)
async def test_environment_base_url_wins_over_the_config(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    monkeypatch.setenv(f"BASIS_{venue.upper()}_API_BASE_URL", emulator.base_url(venue))
    config = {"venue_settings": {venue: {"api_base_url": "http://127.0.0.1:9/nowhere"}}}
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", config)
    assert f"{venue}:Perp:BTCUSDT" in (await snapshot(iface)).positions


@pytest.mark.parametrize("venue", VENUES)
async def test_funding_and_transfers_in_transit(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    iface = interface(emulator, venue)
    try:
        funding = {f.id: f.amount for f in await iface.get_funding_history()}
        moving = {t.id: t for t in await iface.get_transfers_in_transit()}
    finally:
        await iface.close()
    assert funding == pytest.approx({"fund-1": 2.25, "fund-2": -0.4})
    assert {k: t.amount for k, t in moving.items()} == contract_account(venue).pending_transfers()
    assert moving["wd-1"].source == venue and moving["dep-1"].destination == venue
    assert 500 < moving["wd-1"].age_s < 700


@pytest.mark.parametrize("venue", VENUES)
async def test_wrong_secret_is_one_authentication_error_and_no_retry(emulator, venue, monkeypatch):
    secret_var = venue_defaults()[venue].credentials.api_secret_env
    credentials(emulator, venue, monkeypatch, **{secret_var: "not-the-secret"})
    iface = interface(emulator, venue)
    try:
        with pytest.raises(AuthenticationError) as info:
            await iface.get_positions()
        assert info.value.venue == venue and str(info.value).startswith(venue)
        assert not is_retryable(info.value) and "not-the-secret" not in str(info.value)
        seen = emulator.requests(venue)
        # the public market list came first; then exactly one signed request, not retried
        assert [r.outcome for r in seen if r.signed] == ["unauthenticated"]
        assert max(Counter((r.path, "" if r.signed else r.query) for r in seen).values()) == 1
        emulator.clear_requests()
        with pytest.raises(AuthenticationError):  # markets known: the one request is all
            await iface.get_positions()
        assert [r.outcome for r in emulator.requests(venue)] == ["unauthenticated"]
    finally:
        await iface.close()


@pytest.mark.parametrize("venue", VENUES)
async def test_a_stale_timestamp_is_resynced_not_an_authentication_error(
    emulator, venue, monkeypatch
):
    credentials(emulator, venue, monkeypatch)
    emulator.set_clock_offset(venue, 120.0)  # the venue's clock runs two minutes ahead
    snap = await snapshot(interface(emulator, venue))
    assert snap.status == "ok"
    assert snap.amounts() == pytest.approx(contract_account(venue).expected_amounts(venue))
    assert next(r.outcome for r in emulator.requests(venue) if r.signed) == "unauthenticated"


@pytest.mark.parametrize("venue", VENUES)
async def test_missing_credentials_send_nothing(emulator, venue):
    with pytest.raises(MissingCredentialError):
        await snapshot(interface(emulator, venue))
    assert emulator.requests(venue) == []


class Hooks:
    def __init__(self):
        self.before, self.after = [], []

    async def on_before(self, endpoint):
        self.before.append(endpoint)

    async def on_after(self, endpoint, status, headers):
        self.after.append((endpoint, status, dict(headers)))


@pytest.mark.parametrize("venue", VENUES)
async def test_charged_weights_are_the_configured_ones_and_the_hooks_see_them(
    emulator, venue, monkeypatch
):
    credentials(emulator, venue, monkeypatch)
    iface, hooks = interface(emulator, venue), Hooks()
    iface.set_request_hooks(before=hooks.on_before, after=hooks.on_after)
    try:
        await iface.get_positions()
        await iface.get_funding_history()
        await iface.get_transfers_in_transit()
    finally:
        await iface.close()
    configured = {e.path: e.weight for e in venue_defaults()[venue].rate_limits.endpoints}
    seen = emulator.requests(venue)
    assert all(r.path in configured and r.weight == configured[r.path] for r in seen)
    assert Counter(e.path for e in hooks.before) == Counter(r.path for r in seen)
    assert sum(e.weight for e in hooks.before) == sum(r.weight for r in seen)
    assert [s for _, s, _ in hooks.after] == [200] * len(seen)


@pytest.mark.parametrize("venue", VENUES)
async def test_latency_is_waited_out(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="latency", delay_s=0.3, count=1))
    snap = await snapshot(interface(emulator, venue))
    assert snap.latency_s >= 0.3 and snap.amounts()


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_is_venue_unavailable(emulator, venue, status, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="server_error", status=status, count=1))
    with pytest.raises(VenueUnavailableError) as info:
        await snapshot(interface(emulator, venue))
    assert is_retryable(info.value) and f"HTTP {status}" in str(info.value)


@pytest.mark.parametrize("venue", VENUES)
async def test_a_hang_is_a_timeout_after_the_configured_timeout(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="hang", delay_s=3, count=1))
    started = time.monotonic()
    with pytest.raises(VenueTimeoutError) as info:
        await snapshot(interface(emulator, venue, timeout_s=0.4))
    assert 0.35 < time.monotonic() - started < 2.5 and is_retryable(info.value)


@pytest.mark.parametrize("venue", VENUES)
async def test_malformed_json_is_a_bad_response(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="malformed_json", count=1))
    with pytest.raises(BadResponseError) as info:
        await snapshot(interface(emulator, venue))
    assert not is_retryable(info.value)


@pytest.mark.parametrize("venue", VENUES)
async def test_429_is_rate_limited_with_retry_after(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="rate_limit", retry_after_s=7, count=1))
    with pytest.raises(RateLimitedError) as info:
        await snapshot(interface(emulator, venue))
    err = info.value
    assert is_retryable(err) and not err.banned
    assert err.retry_after_s is not None and 0 < err.retry_after_s <= 7
    assert emulator.violations(venue) == 1


@pytest.mark.parametrize("venue", BANNING)
async def test_repeated_429_become_a_418_ban(emulator, venue, monkeypatch):
    credentials(emulator, venue, monkeypatch)
    emulator.inject(venue, Fault(kind="rate_limit", retry_after_s=1))
    errors = []
    for _ in range(6):
        with pytest.raises(RateLimitedError) as info:
            await snapshot(interface(emulator, venue))
        errors.append(info.value)
        if info.value.banned:
            break
    assert [e.banned for e in errors][-1] is True and not errors[0].banned
    ban_s = venue_defaults()[venue].rate_limits.ban_s
    assert errors[-1].retry_after_s == pytest.approx(ban_s, abs=2)
    emulator.clear_faults(venue)
    with pytest.raises(RateLimitedError) as info:  # the ban outlives the burst
        await snapshot(interface(emulator, venue))
    assert info.value.banned
    assert 418 in {r.status for r in emulator.requests(venue)}


async def test_concurrent_venues_do_not_interfere(emulator, monkeypatch):
    for venue in VENUES:
        credentials(emulator, venue, monkeypatch)
    snaps = await asyncio.gather(*(snapshot(interface(emulator, v)) for v in VENUES))
    for venue, snap in zip(VENUES, snaps):
        assert snap.amounts() == pytest.approx(contract_account(venue).expected_amounts(venue))
