"""Endpoint weights from three sources that must agree: the venue config the client's limiter
reads (configs/venues/*.yaml), the exchange emulator's own table (what the sandbox venue
enforces) and ccxt's cost table. A difference passes only when `KNOWN` below gives its reason.

ccxt throttles with one token bucket per exchange: a call of cost ``c`` takes ``c x rateLimit``
ms, so an endpoint alone may be sent ``1000 / (c x rateLimit)`` times a second. The weight that
rate implies in the endpoint's tightest pool (``limit / window_s`` weight per second) is
``c x rateLimit / 1000 x limit / window_s``; that is what is compared with the configured weight
(binance: ccxt's costs are weights scaled per API, e.g. spot ``0.2 x weight``, sapi
``0.1 x weight``; bybit and okx: costs are requests relative to the bucket).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import ccxt
import pytest

from factory.config import EndpointCost, RateLimits, venue_defaults
from factory.sandbox.exchange.weights import EMULATOR_LIMITS

VENUES = ["binance", "bybit", "okx"]

#: ccxt's bucket period per venue, ms; okx's rateLimit of 110 is "100 plus 10% tolerance"
NOMINAL_RATE_LIMIT_MS = {"binance": 50.0, "bybit": 20.0, "okx": 100.0}
#: path prefix a section's URL does not carry (okx's sign() adds /api/v5 to every path)
PATH_PREFIX = {"okx": "/api/v5"}

#: (venue, path) -> (the weight ccxt's cost implies, why it differs from the configured one)
KNOWN: dict[tuple[str, str], tuple[float, str]] = {
    ("binance", "/fapi/v1/time"): (2.0, (
        "ccxt runs USD-M at cost = weight in its 1200/min bucket, half binance's published "
        "2400/min: ccxt is twice as cautious; the venue's weight is 1")),
    ("binance", "/fapi/v1/exchangeInfo"): (2.0, (
        "ccxt's USD-M costs assume 1200 weight/min (see /fapi/v1/time); weight 1")),
    ("binance", "/fapi/v3/account"): (2.0, (
        "ccxt lists the V3 account at cost 1 (its V2 figure) in its 1200/min bucket; binance "
        "documents weight 5 for Account Information V3: the config is stricter")),
    ("binance", "/fapi/v3/positionRisk"): (2.0, (
        "ccxt lists the V3 positionRisk at cost 1 (its V2 figure); binance documents weight 5 "
        "for Position Information V3: the config is stricter")),
    ("binance", "/fapi/v1/leverageBracket"): (2.0, (
        "ccxt's USD-M costs assume 1200 weight/min (see /fapi/v1/time); weight 1")),
    ("binance", "/fapi/v1/income"): (60.0, (
        "ccxt's USD-M costs assume 1200 weight/min (see /fapi/v1/time); weight 30")),
    ("bybit", "/v5/market/time"): (12.0, (
        "ccxt caps bybit public market data at 10/s (cost 5); bybit's only limit there is the "
        "IP's 600 per 5 s, 1 request each")),
    ("bybit", "/v5/market/instruments-info"): (12.0, (
        "as /v5/market/time: ccxt's 10/s public default, not a published bybit limit")),
    ("bybit", "/v5/position/list"): (5.0, (
        "ccxt keeps bybit's former 10/s for position/list (cost 5); bybit's rate-limit page "
        "lists 50/s per UID")),
    ("bybit", "/v5/execution/list"): (5.0, (
        "ccxt keeps bybit's former 10/s for execution/list (cost 5); the page lists 50/s")),
    ("bybit", "/v5/asset/deposit/query-record"): (1 / 3, (
        "ccxt allows 5/s (cost 10); bybit lists 100 per minute per UID for deposit records, "
        "which the config follows (the stricter)")),
}


def _cost(entry) -> float:
    return float(entry["cost"] if isinstance(entry, dict) else entry)


def ccxt_costs(venue: str) -> dict[tuple[str, str], set[float]]:
    """ccxt's cost of every (method, path) of a venue, by walking its ``api`` description."""
    exchange = getattr(ccxt, venue)()
    bases = exchange.urls["api"]
    out: dict[tuple[str, str], set[float]] = {}

    def walk(node: dict, section: str | None) -> None:
        for key, value in node.items():
            if key.upper() in ("GET", "POST", "PUT", "DELETE") and isinstance(value, dict):
                base = bases.get(section) if isinstance(bases, dict) else None
                prefix = urlsplit(base).path if isinstance(base, str) else ""
                prefix = PATH_PREFIX.get(venue, prefix.rstrip("/"))
                for path, entry in value.items():
                    route = (key.upper(), f"{prefix}/{path}")
                    out.setdefault(route, set()).add(_cost(entry))
            elif isinstance(value, dict):
                walk(value, key if section is None else section)

    walk(exchange.api, None)
    return out


def implied_weight(venue: str, endpoint: EndpointCost, limits: RateLimits, cost: float) -> float:
    pools = {p.name: p for p in limits.pools}
    tightest = min((pools[n] for n in endpoint.pools), key=lambda p: p.limit / p.window_s)
    return cost * NOMINAL_RATE_LIMIT_MS[venue] / 1000 * tightest.limit / tightest.window_s


@pytest.mark.parametrize("venue", VENUES)
def test_the_emulator_charges_every_configured_endpoint_the_configured_weight_from_its_own_table(
    venue,
):
    config = venue_defaults()[venue].rate_limits
    table = EMULATOR_LIMITS[venue]
    served = {(e.method, e.path): e for e in table.endpoints}
    served_pools = {p.name: p for p in table.pools}
    config_pools = {p.name: p for p in config.pools}
    differences = []
    for e in config.endpoints:
        row = served.get((e.method, e.path))
        if row is None:
            differences.append(f"{e.method} {e.path}: not in the emulator's table")
            continue
        if row.weight != e.weight:
            differences.append(f"{e.path}: config {e.weight:g}, emulator {row.weight:g}")
        mine = {(config_pools[n].limit, config_pools[n].window_s, config_pools[n].scope)
                for n in e.pools}
        theirs = {(served_pools[n].limit, served_pools[n].window_s, served_pools[n].scope)
                  for n in row.pools}
        if mine != theirs:
            differences.append(f"{e.path}: config pools {sorted(mine)}, emulator {sorted(theirs)}")
    assert differences == []
    assert {(e.method, e.path) for e in config.endpoints} == set(served)
    assert (config.ban_after_violations, config.ban_s) == (table.ban_after_violations,
                                                           table.ban_s)


@pytest.mark.parametrize("venue", VENUES)
def test_every_configured_weight_agrees_with_ccxts_cost_or_has_a_documented_reason(venue):
    limits = venue_defaults()[venue].rate_limits
    costs = ccxt_costs(venue)
    differences, seen_known = [], set()
    for e in limits.endpoints:
        found = costs.get((e.method, e.path))
        assert found and len(found) == 1, f"ccxt has no single cost for {e.method} {e.path}"
        ccxt_weight = implied_weight(venue, e, limits, found.pop())
        if ccxt_weight == pytest.approx(e.weight, rel=0.01):
            continue
        known = KNOWN.get((venue, e.path))
        if known is not None and ccxt_weight == pytest.approx(known[0], rel=0.01):
            seen_known.add((venue, e.path))
            continue
        differences.append(f"{venue} {e.path}: configured {e.weight:g}, ccxt implies "
                           f"{ccxt_weight:.4g} and no documented reason")
    assert differences == []
    stale = {k for k in KNOWN if k[0] == venue} - seen_known
    assert stale == set(), "documented differences that no longer differ"
