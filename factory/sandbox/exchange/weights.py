"""The emulator's own rate-limit tables: pools and endpoint weights as each venue publishes them.

The emulator enforces these, not the client's venue config, so a wrong weight in
configs/venues/*.yaml shows up as a 429 from the emulator (as it would from the venue) instead of
passing because both sides read the same mistake. Each row names the venue documentation it comes
from. tests/unit/test_weight_sources.py compares every configured endpoint with this table and
with ccxt's own cost table.

Rows are ``(method, path, weight, pools, source)``; pools are ``(name, limit, window_s, scope,
source)``. Binance weights are its REQUEST_WEIGHT units; bybit and okx limit requests, so each
request weighs 1 in every pool it uses.
"""

from __future__ import annotations

from typing import Literal

from factory.config import EndpointCost, RateLimitPool, RateLimits

__all__ = ["EMULATOR_LIMITS", "emulator_limits"]

_BN = "https://developers.binance.com/docs"
_BY = "https://bybit-exchange.github.io/docs/v5/rate-limit"
_OKX = "https://www.okx.com/docs-v5/en/"

_POOLS: dict[str, list[tuple[str, float, float, Literal["ip", "uid", "endpoint"], str]]] = {
    "binance": [
        ("spot_weight", 6000, 60, "ip", f"{_BN}/binance-spot-api-docs/rest-api/limits"),
        ("fapi_weight", 2400, 60, "ip",
         f"{_BN}/derivatives/usds-margined-futures/general-info"),
        ("sapi_ip_weight", 12000, 60, "ip", f"{_BN}/wallet/introduction"),
        ("sapi_ip_weight_1s", 180000, 1, "ip", f"{_BN}/wallet/capital/withdraw-history"),
    ],
    "bybit": [
        ("ip", 600, 5, "ip", f"{_BY} (HTTP IP limit: 600 requests per 5 s; 403 when over)"),
        ("wallet_balance", 50, 1, "uid", f"{_BY} (/v5/account/wallet-balance 50/s)"),
        ("position_list", 50, 1, "uid", f"{_BY} (/v5/position/list 50/s)"),
        ("execution_list", 50, 1, "uid", f"{_BY} (/v5/execution/list 50/s)"),
        ("deposit_records", 100, 60, "uid", f"{_BY} (/v5/asset/deposit/query-record 100/min)"),
        ("withdraw_records", 300, 60, "uid", f"{_BY} (/v5/asset/withdraw/query-record 300/min)"),
    ],
    "okx": [
        ("public_time", 10, 2, "ip", f"{_OKX}#public-data-rest-api-get-system-time"),
        ("public_instruments", 20, 2, "ip", f"{_OKX}#public-data-rest-api-get-instruments"),
        ("account_balance", 10, 2, "uid", f"{_OKX}#trading-account-rest-api-get-balance"),
        ("account_positions", 10, 2, "uid", f"{_OKX}#trading-account-rest-api-get-positions"),
        ("account_bills_archive", 5, 2, "uid",
         f"{_OKX}#trading-account-rest-api-get-bills-details-last-3-months"),
        ("asset_balances", 6, 1, "uid", f"{_OKX}#funding-account-rest-api-get-balance"),
        ("asset_deposit_history", 6, 1, "uid",
         f"{_OKX}#funding-account-rest-api-get-deposit-history"),
        ("asset_withdrawal_history", 6, 1, "uid",
         f"{_OKX}#funding-account-rest-api-get-withdrawal-history"),
    ],
}

_SPOT = f"{_BN}/binance-spot-api-docs/rest-api"
_FAPI = f"{_BN}/derivatives/usds-margined-futures"

_ROWS: dict[str, list[tuple[Literal["GET"], str, float, tuple[str, ...], str]]] = {
    "binance": [
        ("GET", "/api/v3/time", 1, ("spot_weight",), f"{_SPOT}/general-endpoints"),
        ("GET", "/api/v3/exchangeInfo", 20, ("spot_weight",), f"{_SPOT}/general-endpoints"),
        ("GET", "/api/v3/account", 20, ("spot_weight",), f"{_SPOT}/account-endpoints"),
        ("GET", "/fapi/v1/time", 1, ("fapi_weight",),
         f"{_FAPI}/market-data/rest-api/Check-Server-Time"),
        ("GET", "/fapi/v1/exchangeInfo", 1, ("fapi_weight",),
         f"{_FAPI}/market-data/rest-api/Exchange-Information"),
        ("GET", "/fapi/v3/account", 5, ("fapi_weight",),
         f"{_FAPI}/account/rest-api/Account-Information-V3"),
        ("GET", "/fapi/v3/positionRisk", 5, ("fapi_weight",),
         f"{_FAPI}/trade/rest-api/Position-Information-V3"),
        ("GET", "/fapi/v1/leverageBracket", 1, ("fapi_weight",),
         f"{_FAPI}/account/rest-api/Notional-and-Leverage-Brackets"),
        ("GET", "/fapi/v1/income", 30, ("fapi_weight",),
         f"{_FAPI}/account/rest-api/Get-Income-History"),
        ("GET", "/sapi/v1/capital/deposit/hisrec", 1, ("sapi_ip_weight",),
         f"{_BN}/wallet/capital/deposite-history"),
        # Weight(UID) 18000 and at most 10 requests per second: 18000 of 180000 per second
        ("GET", "/sapi/v1/capital/withdraw/history", 18000, ("sapi_ip_weight_1s",),
         f"{_BN}/wallet/capital/withdraw-history"),
    ],
    "bybit": [
        ("GET", "/v5/market/time", 1, ("ip",), _BY),
        ("GET", "/v5/market/instruments-info", 1, ("ip",), _BY),
        ("GET", "/v5/account/wallet-balance", 1, ("ip", "wallet_balance"), _BY),
        ("GET", "/v5/position/list", 1, ("ip", "position_list"), _BY),
        ("GET", "/v5/execution/list", 1, ("ip", "execution_list"), _BY),
        ("GET", "/v5/asset/deposit/query-record", 1, ("ip", "deposit_records"), _BY),
        ("GET", "/v5/asset/withdraw/query-record", 1, ("ip", "withdraw_records"), _BY),
    ],
    "okx": [
        ("GET", "/api/v5/public/time", 1, ("public_time",),
         f"{_OKX}#public-data-rest-api-get-system-time"),
        ("GET", "/api/v5/public/instruments", 1, ("public_instruments",),
         f"{_OKX}#public-data-rest-api-get-instruments"),
        ("GET", "/api/v5/account/balance", 1, ("account_balance",),
         f"{_OKX}#trading-account-rest-api-get-balance"),
        ("GET", "/api/v5/account/positions", 1, ("account_positions",),
         f"{_OKX}#trading-account-rest-api-get-positions"),
        ("GET", "/api/v5/account/bills-archive", 1, ("account_bills_archive",),
         f"{_OKX}#trading-account-rest-api-get-bills-details-last-3-months"),
        ("GET", "/api/v5/asset/balances", 1, ("asset_balances",),
         f"{_OKX}#funding-account-rest-api-get-balance"),
        ("GET", "/api/v5/asset/deposit-history", 1, ("asset_deposit_history",),
         f"{_OKX}#funding-account-rest-api-get-deposit-history"),
        ("GET", "/api/v5/asset/withdrawal-history", 1, ("asset_withdrawal_history",),
         f"{_OKX}#funding-account-rest-api-get-withdrawal-history"),
    ],
}

#: Bans: binance bans an IP that keeps violating or does not back off after 429s ("IP bans are
#: tracked and scale in duration for repeat offenders, from 2 minutes to 3 days"); it publishes
#: no count, the emulator bans on the 4th strike for the shortest published duration.
_BANS: dict[str, tuple[int | None, float | None]] = {"binance": (3, 120.0)}


def emulator_limits(venue: str) -> RateLimits:
    """The pools, endpoint weights and ban policy the emulator enforces for ``venue``.

    Raises:
        KeyError: the emulator has no table for ``venue``.
    """
    pools = [RateLimitPool(name=n, limit=lim, window_s=w, scope=scope, source=src)
             for n, lim, w, scope, src in _POOLS[venue]]
    rows = [EndpointCost(name=path, method=method, path=path, weight=weight, pools=list(p),
                         source=src)
            for method, path, weight, p, src in _ROWS[venue]]
    ban_after, ban_s = _BANS.get(venue, (None, None))
    return RateLimits(pools=pools, endpoints=rows, ban_after_violations=ban_after, ban_s=ban_s)


#: Every venue's table, built once (frozen models).
EMULATOR_LIMITS: dict[str, RateLimits] = {v: emulator_limits(v) for v in _ROWS}
