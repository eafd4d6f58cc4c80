"""The exchange emulator's parts without a server: limits, signatures, scenarios, registry."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import ccxt.async_support as ccxt
import pytest
from multidict import CIMultiDict
from pydantic import ValidationError

from factory.config import EndpointCost, RateLimitPool, RateLimits, venue_defaults
from factory.errors import ConfigError
from factory.sandbox import exchange
from factory.sandbox.exchange import (
    EMULATOR_VENUES,
    ExchangeEmulator,
    FundingEntry,
    load_scenario,
    scaled_limits,
)
from factory.sandbox.exchange.limiter import VenueLimiter
from factory.sandbox.exchange.venue import EmuRequest
from factory.sandbox.exchange.weights import EMULATOR_LIMITS

REPO = Path(__file__).resolve().parent.parent.parent


def _limits(limit=10.0, window=10.0, scope="ip", ban_after=None) -> RateLimits:
    return RateLimits(
        pools=[RateLimitPool(name="p", limit=limit, window_s=window, scope=scope)],
        endpoints=[EndpointCost(name="e", path="/e", weight=4, pools=["p"])],
        ban_after_violations=ban_after, ban_s=60 if ban_after else None,
    )


def test_fixed_window_charges_weight_and_resets_on_the_window_boundary():
    lim = VenueLimiter(_limits())
    ep = lim.endpoint("GET", "/e")
    assert [lim.charge(ep, "", 100.0).ok for _ in range(3)] == [True, True, False]
    refused = lim.charge(ep, "", 105.0)
    assert not refused.ok and refused.retry_after_s == pytest.approx(5.0)
    assert lim.usage(["p"], "", 105.0)[0].used == 8  # refused requests are not charged
    assert lim.charge(ep, "", 110.0).ok  # next window
    assert lim.violations == 2


def test_uid_pools_count_per_api_key():
    lim = VenueLimiter(_limits(limit=4, scope="uid"))
    ep = lim.endpoint("GET", "/e")
    assert lim.charge(ep, "key-a", 0.0).ok and lim.charge(ep, "key-b", 0.0).ok
    assert not lim.charge(ep, "key-a", 1.0).ok


def test_repeated_violations_become_a_ban_that_refuses_everything_until_it_expires():
    lim = VenueLimiter(_limits(limit=4, ban_after=3))
    ep = lim.endpoint("GET", "/e")
    lim.charge(ep, "", 0.0)
    outcomes = [lim.charge(ep, "", 1.0) for _ in range(4)]
    assert [o.banned_until is not None for o in outcomes] == [False, False, False, True]
    assert outcomes[-1].retry_after_s == pytest.approx(60.0)
    assert lim.charge(lim.endpoint("GET", "/unknown"), "", 30.0).banned_until == 61.0
    assert lim.charge(ep, "", 61.5).ok


def test_a_venue_refusal_waited_out_every_time_is_never_a_strike():
    lim = VenueLimiter(_limits(ban_after=3))
    answers = [lim.refuse(100.0 + 5.0 * i, retry_after_s=5.0) for i in range(40)]
    assert all(not a.ok and a.banned_until is None for a in answers)
    assert lim.violations == 40 and lim.banned_until == 0.0


def test_requests_that_do_not_back_off_after_a_429_are_strikes_that_end_in_a_ban():
    lim = VenueLimiter(_limits(ban_after=3))
    first = lim.refuse(100.0, retry_after_s=5.0)
    burst = [lim.refuse(100.0 + 0.01 * i, retry_after_s=5.0) for i in range(1, 5)]
    assert first.banned_until is None
    assert [a.banned_until is not None for a in burst] == [False, False, False, True]
    assert burst[-1].banned_until == pytest.approx(100.04 + 60)  # ban_s of _limits
    assert lim.charge(lim.endpoint("GET", "/e"), "", 150.0).banned_until == burst[-1].banned_until


def test_scaled_limits_shrink_every_pool():
    spot = scaled_limits(venue_defaults()["binance"].rate_limits, 0.1, 1 / 6).pools[0]
    assert (spot.name, spot.limit, spot.window_s) == ("spot_weight", 600, 10)


@pytest.mark.parametrize("venue", sorted(EMULATOR_VENUES))
def test_every_served_endpoint_has_a_weight_of_its_own_with_a_source(venue):
    """The emulator charges every route it serves from its own table (not the client's config)."""
    table = EMULATOR_LIMITS[venue]
    assert set(EMULATOR_VENUES[venue].routes) == {(e.method, e.path) for e in table.endpoints}
    for e in table.endpoints:
        assert e.source.startswith("https://"), f"{venue} {e.path} has no source"
    for p in table.pools:
        assert p.source.startswith("https://"), f"{venue} pool {p.name} has no source"


# -- signatures: ccxt signs, the emulator verifies like the venue ------------------------------

CASES = {
    "binance": ("account", ["private"], {}, "/api/v3/account"),
    "bybit": ("v5/account/wallet-balance", ["private"], {"accountType": "UNIFIED"},
              "/v5/account/wallet-balance"),
    "okx": ("account/balance", ["private"], {}, "/api/v5/account/balance"),
}
REJECTIONS = {  # (HTTP status, venue code) for a wrong secret and a stale timestamp
    "binance": ((400, -1022), (400, -1021)),
    "bybit": ((200, 10004), (200, 10002)),
    "okx": ((401, "50113"), (401, "50102")),
}


def _signed(venue: str, secret: str, now: float) -> EmuRequest:
    emu = EMULATOR_VENUES[venue]()
    creds = emu.default_credentials
    client = getattr(ccxt, venue)({"apiKey": creds.api_key, "secret": secret,
                                   "password": creds.passphrase})
    path, api, params, venue_path = CASES[venue]
    req = client.sign(path, api, "GET", dict(params))
    url = urlsplit(req["url"])
    query = dict(p.split("=", 1) for p in url.query.split("&") if p)
    return EmuRequest("GET", venue_path, query, url.query, CIMultiDict(req["headers"] or {}),
                      req["body"] or "", now)


def _code(reply) -> tuple:
    body = reply.body
    return reply.status, body.get("code", body.get("retCode"))


@pytest.mark.parametrize("venue", sorted(CASES))
def test_a_request_signed_by_ccxt_with_the_right_secret_is_accepted(venue):
    emu = EMULATOR_VENUES[venue]()
    req = _signed(venue, emu.default_credentials.secret, time.time())
    assert emu.authenticate(req, emu.default_credentials) is None


@pytest.mark.parametrize("venue", sorted(CASES))
def test_a_wrong_secret_gets_the_venue_code_and_status(venue):
    emu = EMULATOR_VENUES[venue]()
    reply = emu.authenticate(_signed(venue, "wrong", time.time()), emu.default_credentials)
    assert _code(reply) == REJECTIONS[venue][0]


@pytest.mark.parametrize("venue", sorted(CASES))
def test_a_stale_timestamp_gets_the_venue_code_and_status(venue):
    emu = EMULATOR_VENUES[venue]()
    later = time.time() + 120  # the server's clock is two minutes ahead of the client's
    reply = emu.authenticate(_signed(venue, emu.default_credentials.secret, later),
                             emu.default_credentials)
    assert _code(reply) == REJECTIONS[venue][1]


@pytest.mark.parametrize("venue, field, expected", [
    ("binance", "api_key", (401, -2015)),
    ("bybit", "api_key", (200, 10003)),
    ("okx", "api_key", (401, "50111")),
    ("okx", "passphrase", (401, "50105")),
])
def test_a_wrong_key_or_passphrase_gets_the_venue_code_and_status(venue, field, expected):
    emu = EMULATOR_VENUES[venue]()
    accepted = emu.default_credentials.model_copy(update={field: "someone-else"})
    req = _signed(venue, emu.default_credentials.secret, time.time())
    assert _code(emu.authenticate(req, accepted)) == expected


# -- scenarios ---------------------------------------------------------------------------------


def test_sandbox_scenario_is_the_btc_basis_and_eth_hedge_book():
    scenario = load_scenario(REPO / "configs" / "sandbox.yaml")
    perps = {v: scenario.venues[v].expected_amounts(v) for v in ("binance", "bybit", "okx")}
    btc = {v: perps[v][f"{v}:Perp:BTCUSDT"] for v in perps}
    eth = {v: perps[v][f"{v}:Perp:ETHUSDT"] for v in perps}
    total_btc = sum(btc.values())
    assert perps["binance"]["binance:BaseToken:BTC"] == -total_btc == 2.0
    assert {v: b / total_btc for v, b in btc.items()} == pytest.approx(
        {"binance": 0.4, "bybit": 0.3, "okx": 0.3})
    assert all(e < 0 for e in eth.values())
    pending = [t for a in scenario.venues.values() for t in (*a.deposits, *a.withdrawals)
               if t.status == "pending"]
    assert [(t.asset, t.amount) for t in pending] == [("USDT", 10000.0)]


def test_an_unknown_wallet_is_refused_naming_the_allowed_ones():
    with pytest.raises(ConfigError, match="'futures' is not one of unified"):
        ExchangeEmulator({"venues": {"bybit": {"wallets": {"futures": {"USDT": 1}}}}})


def test_events_take_an_absolute_time_or_an_age_not_both():
    assert FundingEntry(symbol="BTCUSDT", amount=1, age_s=60).at(1000.0).timestamp() == 940.0
    with pytest.raises(ValidationError):
        FundingEntry(symbol="BTCUSDT", amount=1)
    with pytest.raises(ValidationError):
        FundingEntry(symbol="BTCUSDT", amount=1, age_s=1, time="2024-01-01T00:00:00Z")


def test_a_bad_scenario_file_names_the_file_and_field(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("venues: {okx: {perps: [{symbol: BTC-USDT-SWAP, quantity: 1}]}}\n")
    with pytest.raises(ConfigError, match=r"s.yaml: venues.okx.perps.0.symbol"):
        load_scenario(bad)


def test_public_names_are_pinned():
    assert sorted(exchange.__all__) == [
        "EMULATOR_VENUES", "EmulatorAdminClient", "EmulatorCredentials", "ExchangeEmulator",
        "Fault", "FundingEntry", "PerpPosition", "RequestRecord", "Scenario", "TransferEntry",
        "VenueAccount", "VenueEmulator", "load_scenario", "register_venue", "scaled_limits",
        "serve_in_thread",
    ]
