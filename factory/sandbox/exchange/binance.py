"""Binance as ccxt reads it: spot (``/api/v3``), USD-M futures (``/fapi``), wallet (``/sapi``).

Wallets: ``spot`` (``/api/v3/account`` balances) and ``futures`` (the USD-M wallet of
``/fapi/v3/account``). Signed requests carry ``X-MBX-APIKEY`` and ``timestamp``,
``recvWindow``, ``signature`` (hex HMAC-SHA256 of the query string before ``&signature=``).
Rejections use Binance's codes and statuses: -2014/-2015 (401), -1021 stale timestamp (400),
-1022 bad signature (400), -1003 rate limit (429 + Retry-After), IP ban (418 + Retry-After).
"""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any, ClassVar

from factory.sandbox.exchange.limiter import PoolUsage
from factory.sandbox.exchange.model import (
    EmulatorCredentials,
    PerpPosition,
    TransferEntry,
    VenueAccount,
)
from factory.sandbox.exchange.venue import (
    DAY_MS,
    EmuRequest,
    Reply,
    Route,
    VenueEmulator,
    hmac_sha256,
    num,
    register_venue,
)
from factory.sandbox.exchange.venue import ms as _ms
from factory.sandbox.exchange.venue import pairs_of as _pairs
from factory.sandbox.exchange.venue import split_symbol as _split

__all__ = ["BinanceEmulator"]


def _window(req: EmuRequest, default_days: int) -> tuple[int, int]:
    end = int(req.query.get("endTime", req.now_ms))
    start = int(req.query.get("startTime", end - default_days * DAY_MS))
    return start, end


def _interval(window_s: float) -> str:
    for unit, size in (("D", 86400), ("H", 3600), ("M", 60)):
        if window_s >= size and window_s % size == 0:
            return f"{int(window_s // size)}{unit}"
    return f"{math.ceil(window_s)}S"


@register_venue
class BinanceEmulator(VenueEmulator):
    name = "binance"
    wallets = ("spot", "futures")
    default_credentials = EmulatorCredentials(
        api_key="sandbox-binance-key", secret="sandbox-binance-secret"
    )

    # -- auth -------------------------------------------------------------------------------

    def api_key(self, req: EmuRequest) -> str:
        return req.headers.get("X-MBX-APIKEY", "")

    def authenticate(self, req: EmuRequest, creds: EmulatorCredentials) -> Reply | None:
        key = self.api_key(req)
        if not key:
            return _error(401, -2014, "API-key format invalid.")
        if key != creds.api_key:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        try:
            ts = int(req.query["timestamp"])
            recv_window = int(req.query.get("recvWindow", 5000))
        except (KeyError, ValueError):
            return _error(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        if ts < req.now_ms - recv_window or ts > req.now_ms + 1000:
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        payload, sep, signature = req.raw_query.rpartition("&signature=")
        payload = payload + req.body
        expected = hmac_sha256(creds.secret, payload).hex()
        if not sep or signature != expected:
            return _error(400, -1022, "Signature for this request is not valid.")
        return None

    # -- errors -----------------------------------------------------------------------------

    def rate_limited(self, req: EmuRequest, retry_after_s: float, scope: str) -> Reply:
        reply = _error(429, -1003, "Too many requests; current limit of IP(127.0.0.1) is "
                       "exceeded. Please use the websocket for live updates to avoid bans.")
        reply.headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        return reply

    def banned(self, req: EmuRequest, retry_after_s: float) -> Reply:
        until = req.now_ms + int(retry_after_s * 1000)
        reply = _error(418, -1003, f"Way too many requests; IP(127.0.0.1) banned until {until}. "
                       "Please use the websocket for live updates to avoid bans.")
        reply.headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        return reply

    def server_error(self, req: EmuRequest, status: int) -> Reply:
        if status == 500:
            return _error(500, -1001, "Internal error; unable to process your request. "
                          "Please try again.")
        return _error(status, -1008, "Server is currently overloaded with other requests. "
                      "Please try again in a few minutes.")

    def not_found(self, req: EmuRequest) -> Reply:
        return Reply(404, text="", headers={"Content-Type": "text/html"})

    def usage_headers(self, req: EmuRequest, usage: tuple[PoolUsage, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for u in usage:
            interval = _interval(u.pool.window_s)
            if req.path.startswith("/sapi/"):
                out[f"X-SAPI-USED-{u.pool.scope.upper()}-WEIGHT-{interval}"] = f"{u.used:g}"
            else:
                out[f"X-MBX-USED-WEIGHT-{interval}"] = f"{u.used:g}"
                out["X-MBX-USED-WEIGHT"] = f"{u.used:g}"
        return out

    # -- public -----------------------------------------------------------------------------

    def time(self, req: EmuRequest, account: VenueAccount) -> dict:
        return {"serverTime": req.now_ms}

    def spot_exchange_info(self, req: EmuRequest, account: VenueAccount) -> dict:
        return {
            "timezone": "UTC",
            "serverTime": req.now_ms,
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                            "intervalNum": 1, "limit": 6000}],
            "exchangeFilters": [],
            "symbols": [_spot_market(s) for s in _pairs(account)],
        }

    def futures_exchange_info(self, req: EmuRequest, account: VenueAccount) -> dict:
        return {
            "timezone": "UTC",
            "serverTime": req.now_ms,
            "futuresType": "U_MARGINED",
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                            "intervalNum": 1, "limit": 2400}],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [_perp_market(s) for s in _pairs(account)],
        }

    # -- signed -----------------------------------------------------------------------------

    def spot_account(self, req: EmuRequest, account: VenueAccount) -> dict:
        return {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": req.now_ms, "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": num(v), "locked": num(0)}
                for a, v in account.wallet("spot").items()
            ],
            "permissions": ["SPOT"],
            "uid": 354937868,
        }

    def futures_account(self, req: EmuRequest, account: VenueAccount) -> dict:
        wallet = account.wallet("futures")
        assets = []
        for asset in dict.fromkeys([*wallet, *(p.quote for p in account.perps)]):
            perps = [p for p in account.perps if p.quote == asset]
            bal = wallet.get(asset, 0.0)
            upnl = sum(p.unrealized_pnl for p in perps)
            im = sum(p.initial_margin for p in perps)
            avail = bal + upnl - im
            assets.append({
                "asset": asset, "walletBalance": num(bal), "unrealizedProfit": num(upnl),
                "marginBalance": num(bal + upnl),
                "maintMargin": num(sum(p.maintenance_margin for p in perps)),
                "initialMargin": num(im), "positionInitialMargin": num(im),
                "openOrderInitialMargin": num(0), "crossWalletBalance": num(bal),
                "crossUnPnl": num(upnl), "availableBalance": num(avail),
                "maxWithdrawAmount": num(max(min(bal, avail), 0.0)),
                "updateTime": req.now_ms,
            })
        usdt = next((a for a in assets if a["asset"] == "USDT"), None) or {}
        return {
            "totalInitialMargin": usdt.get("initialMargin", num(0)),
            "totalMaintMargin": usdt.get("maintMargin", num(0)),
            "totalWalletBalance": usdt.get("walletBalance", num(0)),
            "totalUnrealizedProfit": usdt.get("unrealizedProfit", num(0)),
            "totalMarginBalance": usdt.get("marginBalance", num(0)),
            "totalPositionInitialMargin": usdt.get("positionInitialMargin", num(0)),
            "totalOpenOrderInitialMargin": num(0),
            "totalCrossWalletBalance": usdt.get("crossWalletBalance", num(0)),
            "totalCrossUnPnl": usdt.get("crossUnPnl", num(0)),
            "availableBalance": usdt.get("availableBalance", num(0)),
            "maxWithdrawAmount": usdt.get("maxWithdrawAmount", num(0)),
            "assets": assets,
            "positions": [
                {"symbol": p.symbol, "positionSide": "BOTH", "positionAmt": num(p.quantity, 3),
                 "unrealizedProfit": num(p.unrealized_pnl), "isolatedMargin": num(0),
                 "notional": num(math.copysign(p.notional, p.quantity)), "isolatedWallet": "0",
                 "initialMargin": num(p.initial_margin), "maintMargin": num(p.maintenance_margin),
                 "updateTime": _updated(p, req)}
                for p in account.perps
            ],
        }

    def position_risk(self, req: EmuRequest, account: VenueAccount) -> list:
        symbol = req.query.get("symbol")
        return [_position_risk(p, req) for p in account.perps if symbol in (None, p.symbol)]

    def leverage_bracket(self, req: EmuRequest, account: VenueAccount) -> list:
        rates = {p.symbol: p for p in account.perps}
        out = []
        for s in _pairs(account):
            pos = rates.get(s)
            out.append({"symbol": s, "notionalCoef": 1.0, "brackets": [{
                "bracket": 1, "initialLeverage": 125, "notionalCap": 1_000_000_000,
                "notionalFloor": 0,
                "maintMarginRatio": pos.maintenance_margin_rate if pos else 0.004, "cum": 0.0,
            }]})
        return out

    def income(self, req: EmuRequest, account: VenueAccount) -> list:
        income_type = req.query.get("incomeType", "FUNDING_FEE")
        symbol = req.query.get("symbol")
        start, end = _window(req, 7)
        rows: list[dict[str, Any]] = [
            {"symbol": f.symbol, "incomeType": "FUNDING_FEE", "income": num(f.amount),
             "asset": f.asset, "info": "FUNDING_FEE", "time": _ms(f.at(req.now)),
             "tranId": f.id or str(9_000_000_000 + i), "tradeId": ""}
            for i, f in enumerate(account.funding)
            if income_type == "FUNDING_FEE" and symbol in (None, f.symbol)
            and start <= _ms(f.at(req.now)) <= end
        ]
        rows.sort(key=lambda r: r["time"])
        return rows[: int(req.query.get("limit", 100))]

    def deposits(self, req: EmuRequest, account: VenueAccount) -> list:
        status = {"pending": 0, "ok": 1, "failed": 2}
        return [
            {"id": t.id, "amount": num(t.amount), "coin": t.asset, "network": t.network,
             "status": status[t.status], "address": t.address, "addressTag": "",
             "txId": t.txid, "insertTime": _ms(t.at(req.now)), "transferType": 0,
             "confirmTimes": "12/12" if t.status == "ok" else "1/12", "unlockConfirm": 0,
             "walletType": 0}
            for t in _transfers(account.deposits, req)
        ]

    def withdrawals(self, req: EmuRequest, account: VenueAccount) -> list:
        status = {"pending": 4, "ok": 6, "failed": 5}
        return [
            {"id": t.id, "amount": num(t.amount), "transactionFee": num(0), "coin": t.asset,
             "status": status[t.status], "address": t.address, "txId": t.txid,
             "applyTime": t.at(req.now).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             "network": t.network, "transferType": 0, "info": "", "confirmNo": 0,
             "walletType": 0, "txKey": ""}
            for t in _transfers(account.withdrawals, req)
        ]

    routes: ClassVar[dict[tuple[str, str], Route]] = {
        ("GET", "/api/v3/time"): Route(time),
        ("GET", "/api/v3/exchangeInfo"): Route(spot_exchange_info),
        ("GET", "/api/v3/account"): Route(spot_account, signed=True),
        ("GET", "/fapi/v1/time"): Route(time),
        ("GET", "/fapi/v1/exchangeInfo"): Route(futures_exchange_info),
        ("GET", "/fapi/v3/account"): Route(futures_account, signed=True),
        ("GET", "/fapi/v3/positionRisk"): Route(position_risk, signed=True),
        ("GET", "/fapi/v1/leverageBracket"): Route(leverage_bracket, signed=True),
        ("GET", "/fapi/v1/income"): Route(income, signed=True),
        ("GET", "/sapi/v1/capital/deposit/hisrec"): Route(deposits, signed=True),
        ("GET", "/sapi/v1/capital/withdraw/history"): Route(withdrawals, signed=True),
    }


def _error(status: int, code: int, msg: str) -> Reply:
    return Reply(status, {"code": code, "msg": msg})


def _updated(p: PerpPosition, req: EmuRequest) -> int:
    return _ms(p.updated_at) if p.updated_at else req.now_ms


def _transfers(entries: list[TransferEntry], req: EmuRequest) -> list[TransferEntry]:
    coin = req.query.get("coin")
    start, end = _window(req, 90)
    return [t for t in entries if coin in (None, t.asset) and start <= _ms(t.at(req.now)) <= end]


def _position_risk(p: PerpPosition, req: EmuRequest) -> dict:
    isolated = p.margin_mode == "isolated"
    return {
        "symbol": p.symbol, "positionSide": "BOTH", "positionAmt": num(p.quantity, 3),
        "entryPrice": num(p.entry_price), "breakEvenPrice": num(p.entry_price),
        "markPrice": num(p.mark_price), "unRealizedProfit": num(p.unrealized_pnl),
        "liquidationPrice": num(p.liquidation),
        "isolatedMargin": num(p.initial_margin if isolated else 0),
        "notional": num(math.copysign(p.notional, p.quantity)), "marginAsset": p.quote,
        "isolatedWallet": num(p.initial_margin if isolated else 0),
        "initialMargin": num(p.initial_margin), "maintMargin": num(p.maintenance_margin),
        "positionInitialMargin": num(p.initial_margin), "openOrderInitialMargin": "0",
        "adl": 2, "bidNotional": "0", "askNotional": "0", "updateTime": _updated(p, req),
    }


def _filters(tick: str, step: str) -> list[dict]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00",
         "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
        {"filterType": "MIN_NOTIONAL", "minNotional": "5.00000000", "applyToMarket": True,
         "avgPriceMins": 5},
    ]


def _spot_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True,
        "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
        "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True, "filters": _filters("0.01000000", "0.00001000"),
        "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _perp_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000", "baseAsset": base,
        "quoteAsset": quote, "marginAsset": quote, "pricePrecision": 2, "quantityPrecision": 3,
        "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
        "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
        "liquidationFee": "0.012500", "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
        "filters": _filters("0.10", "0.001"),
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }
