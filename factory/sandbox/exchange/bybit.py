"""Bybit v5 as ccxt reads it: unified trading account, linear positions, funding executions.

Wallet: ``unified`` (``/v5/account/wallet-balance?accountType=UNIFIED``). Signed requests carry
``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW`` and ``X-BAPI-SIGN`` (hex
HMAC-SHA256 of timestamp + key + recvWindow + query string). Bybit answers business errors with
HTTP 200 and a ``retCode``: 10003 bad key, 10004 bad signature, 10002 stale timestamp, 10006
per-UID rate limit (with ``X-Bapi-Limit-Reset-Timestamp``); the per-IP limit answers HTTP 403.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, ClassVar

from factory.sandbox.exchange.limiter import PoolUsage
from factory.sandbox.exchange.model import EmulatorCredentials, PerpPosition, VenueAccount
from factory.sandbox.exchange.venue import (
    DAY_MS,
    DEFAULT_PRICES,
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

__all__ = ["BybitEmulator"]


def _ok(req: EmuRequest, result: Any, msg: str = "OK") -> dict:
    return {"retCode": 0, "retMsg": msg, "result": result, "retExtInfo": {}, "time": req.now_ms}


def _fail(req: EmuRequest, code: int, msg: str, status: int = 200) -> Reply:
    return Reply(status, {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {},
                          "time": req.now_ms})


def _prices(account: VenueAccount) -> dict[str, float]:
    prices = dict(DEFAULT_PRICES)
    prices.update({p.base: p.mark_price for p in account.perps})
    return prices


@register_venue
class BybitEmulator(VenueEmulator):
    name = "bybit"
    wallets = ("unified",)
    default_credentials = EmulatorCredentials(
        api_key="sandbox-bybit-key", secret="sandbox-bybit-secret"
    )

    # -- auth -------------------------------------------------------------------------------

    def api_key(self, req: EmuRequest) -> str:
        return req.headers.get("X-BAPI-API-KEY", "")

    def authenticate(self, req: EmuRequest, creds: EmulatorCredentials) -> Reply | None:
        key = self.api_key(req)
        if key != creds.api_key:
            return _fail(req, 10003, "API key is invalid.")
        ts_text = req.headers.get("X-BAPI-TIMESTAMP", "")
        recv_text = req.headers.get("X-BAPI-RECV-WINDOW", "5000")
        try:
            ts, recv_window = int(ts_text), int(recv_text)
        except ValueError:
            return _fail(req, 10002, "invalid request, please check your server timestamp")
        if not (req.now_ms - recv_window <= ts < req.now_ms + 1000):
            return _fail(req, 10002, "invalid request, please check your server timestamp or "
                         f"recv_window param. req_timestamp[{ts}],server_timestamp"
                         f"[{req.now_ms}],recv_window[{recv_window}]")
        signed = req.body if req.method == "POST" else req.raw_query
        payload = f"{ts_text}{key}{recv_text}{signed}"
        expected = hmac_sha256(creds.secret, payload).hex()
        if not hmac.compare_digest(req.headers.get("X-BAPI-SIGN", ""), expected):
            return _fail(req, 10004, "error sign! origin_string[...]")
        return None

    # -- errors -----------------------------------------------------------------------------

    def rate_limited(self, req: EmuRequest, retry_after_s: float, scope: str) -> Reply:
        if scope == "ip":
            return Reply(403, text="access too frequent", headers={"Content-Type": "text/plain"})
        reply = _fail(req, 10006, "Too many visits!")
        reply.headers.update({
            "X-Bapi-Limit-Status": "0",
            "X-Bapi-Limit-Reset-Timestamp": str(req.now_ms + int(retry_after_s * 1000)),
        })
        return reply

    def server_error(self, req: EmuRequest, status: int) -> Reply:
        return _fail(req, 10016, "Internal System Error.", status=status)

    def not_found(self, req: EmuRequest) -> Reply:
        return _fail(req, 10017, "route not found", status=404)

    def usage_headers(self, req: EmuRequest, usage: tuple[PoolUsage, ...]) -> dict[str, str]:
        for u in usage:
            if u.pool.scope == "uid":
                return {
                    "X-Bapi-Limit": f"{u.pool.limit:g}",
                    "X-Bapi-Limit-Status": f"{max(u.pool.limit - u.used, 0):g}",
                    "X-Bapi-Limit-Reset-Timestamp": str(req.now_ms),
                }
        return {}

    # -- public -----------------------------------------------------------------------------

    def time(self, req: EmuRequest, account: VenueAccount) -> dict:
        return _ok(req, {"timeSecond": str(req.now_ms // 1000),
                         "timeNano": str(req.now_ms * 1_000_000)})

    def instruments(self, req: EmuRequest, account: VenueAccount) -> dict:
        category = req.query.get("category", "spot")
        if req.query.get("status") == "PreLaunch" or category not in ("spot", "linear"):
            items: list[dict] = []
        elif category == "spot":
            items = [_spot_market(s) for s in _pairs(account)]
        else:
            items = [_linear_market(s) for s in _pairs(account)]
        return _ok(req, {"category": category, "list": items, "nextPageCursor": ""})

    # -- signed -----------------------------------------------------------------------------

    def wallet_balance(self, req: EmuRequest, account: VenueAccount) -> dict | Reply:
        if req.query.get("accountType", "UNIFIED") != "UNIFIED":
            return _fail(req, 10001, "accountType only support UNIFIED.")
        prices = _prices(account)
        coins = []
        totals = {"wallet": 0.0, "upl": 0.0, "im": 0.0, "mm": 0.0}
        wallet = account.wallet("unified")
        for coin in dict.fromkeys([*wallet, *(p.quote for p in account.perps)]):
            perps = [p for p in account.perps if p.quote == coin]
            bal, upl = wallet.get(coin, 0.0), sum(p.unrealized_pnl for p in perps)
            im = sum(p.initial_margin for p in perps)
            mm = sum(p.maintenance_margin for p in perps)
            px = prices.get(coin, 1.0)
            totals["wallet"] += bal * px
            totals["upl"] += upl * px
            totals["im"] += im * px
            totals["mm"] += mm * px
            coins.append({
                "availableToBorrow": "", "bonus": "0", "accruedInterest": "0",
                "availableToWithdraw": "", "totalOrderIM": "0", "equity": num(bal + upl),
                "totalPositionMM": num(mm), "usdValue": num((bal + upl) * px),
                "unrealisedPnl": num(upl), "collateralSwitch": True, "spotHedgingQty": "0",
                "borrowAmount": "0", "totalPositionIM": num(im), "walletBalance": num(bal),
                "cumRealisedPnl": "0", "locked": "0", "marginCollateral": True, "coin": coin,
            })
        equity = totals["wallet"] + totals["upl"]
        return _ok(req, {"list": [{
            "totalEquity": num(equity),
            "accountIMRate": num(totals["im"] / equity if equity else 0, 4),
            "totalMarginBalance": num(equity), "totalInitialMargin": num(totals["im"]),
            "accountType": "UNIFIED", "totalAvailableBalance": num(equity - totals["im"]),
            "accountMMRate": num(totals["mm"] / equity if equity else 0, 4),
            "totalPerpUPL": num(totals["upl"]), "totalWalletBalance": num(totals["wallet"]),
            "accountLTV": "0", "totalMaintenanceMargin": num(totals["mm"]), "coin": coins,
        }]})

    def positions(self, req: EmuRequest, account: VenueAccount) -> dict | Reply:
        if req.query.get("category") != "linear":
            return _fail(req, 10001, "category only support linear or option or inverse")
        symbol, settle = req.query.get("symbol"), req.query.get("settleCoin")
        if symbol is None and settle is None:
            return _fail(req, 10001, "symbol or settleCoin is required")
        rows = [_position(p, req) for p in account.perps
                if symbol in (None, p.symbol) and settle in (None, p.quote)]
        return _ok(req, {"list": rows, "nextPageCursor": "", "category": "linear"})

    def executions(self, req: EmuRequest, account: VenueAccount) -> dict:
        symbol = req.query.get("symbol")
        end = int(req.query.get("endTime", req.now_ms))
        start = int(req.query.get("startTime", end - 7 * DAY_MS))
        rows = []
        if req.query.get("execType", "Funding") == "Funding":
            marks = {p.symbol: p for p in account.perps}
            for i, f in enumerate(account.funding):
                if symbol not in (None, f.symbol) or not start <= _ms(f.at(req.now)) <= end:
                    continue
                pos = marks.get(f.symbol)
                rows.append({
                    "symbol": f.symbol, "orderType": "UNKNOWN", "underlyingPrice": "",
                    "orderLinkId": "", "orderId": f"funding-{i}", "stopOrderType": "UNKNOWN",
                    "execTime": str(_ms(f.at(req.now))), "feeCurrency": "", "createType": "",
                    "feeRate": num(f.rate or 0.0001, 6), "tradeIv": "", "blockTradeId": "",
                    "markPrice": num(pos.mark_price if pos else 0, 2),
                    "execPrice": num(pos.mark_price if pos else 0, 2), "markIv": "",
                    "orderQty": "0", "orderPrice": "0", "execValue": "0", "closedSize": "0",
                    "execType": "Funding", "seq": str(1000 + i),
                    "side": "Sell" if (pos and pos.quantity < 0) else "Buy", "indexPrice": "",
                    "leavesQty": "0", "isMaker": False,
                    "execFee": num(-f.amount), "execId": f.id or f"funding-exec-{i}",
                    "marketUnit": "", "execQty": num(abs(pos.quantity) if pos else 0, 3),
                })
        rows.sort(key=lambda r: -int(r["execTime"]))
        return _ok(req, {"nextPageCursor": "", "category": "linear",
                         "list": rows[: int(req.query.get("limit", 50))]})

    def deposits(self, req: EmuRequest, account: VenueAccount) -> dict:
        status = {"pending": 1, "ok": 3, "failed": 4}
        rows = [{"coin": t.asset, "chain": t.network, "amount": num(t.amount), "txID": t.txid,
                 "status": status[t.status], "toAddress": t.address, "tag": "", "depositFee": "",
                 "successAt": str(_ms(t.at(req.now))), "confirmations": "1", "txIndex": "0",
                 "blockHash": "", "batchReleaseLimit": "-1", "depositType": "0", "id": t.id}
                for t in account.deposits if _in(req, t.asset, t.at(req.now), 30)]
        return _ok(req, {"rows": rows, "nextPageCursor": ""}, msg="success")

    def withdrawals(self, req: EmuRequest, account: VenueAccount) -> dict:
        status = {"pending": "Pending", "ok": "success", "failed": "Fail"}
        rows = [{"coin": t.asset, "chain": t.network, "amount": num(t.amount), "txID": t.txid,
                 "status": status[t.status], "toAddress": t.address, "tag": "",
                 "withdrawFee": "1", "createTime": str(_ms(t.at(req.now))),
                 "updateTime": str(_ms(t.at(req.now))), "withdrawId": t.id, "withdrawType": 0}
                for t in account.withdrawals if _in(req, t.asset, t.at(req.now), 30)]
        return _ok(req, {"rows": rows, "nextPageCursor": ""}, msg="success")

    routes: ClassVar[dict[tuple[str, str], Route]] = {
        ("GET", "/v5/market/time"): Route(time),
        ("GET", "/v5/market/instruments-info"): Route(instruments),
        ("GET", "/v5/account/wallet-balance"): Route(wallet_balance, signed=True),
        ("GET", "/v5/position/list"): Route(positions, signed=True),
        ("GET", "/v5/execution/list"): Route(executions, signed=True),
        ("GET", "/v5/asset/deposit/query-record"): Route(deposits, signed=True),
        ("GET", "/v5/asset/withdraw/query-record"): Route(withdrawals, signed=True),
    }


def _in(req: EmuRequest, asset: str, when: datetime, default_days: int) -> bool:
    end = int(req.query.get("endTime", req.now_ms))
    start = int(req.query.get("startTime", end - default_days * DAY_MS))
    return req.query.get("coin") in (None, asset) and start <= _ms(when) <= end


def _position(p: PerpPosition, req: EmuRequest) -> dict:
    updated = str(_ms(p.updated_at) if p.updated_at else req.now_ms)
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": p.symbol,
        "side": "Sell" if p.quantity < 0 else "Buy", "size": num(abs(p.quantity), 3),
        "avgPrice": num(p.entry_price, 2), "positionValue": num(abs(p.quantity) * p.entry_price),
        "tradeMode": 1 if p.margin_mode == "isolated" else 0, "positionStatus": "Normal",
        "autoAddMargin": 0, "adlRankIndicator": 2, "leverage": f"{p.leverage:g}",
        "positionBalance": num(p.initial_margin), "markPrice": num(p.mark_price, 2),
        "liqPrice": num(p.liquidation, 2), "bustPrice": "", "positionMM": num(p.maintenance_margin),
        "positionIM": num(p.initial_margin), "tpslMode": "Full", "takeProfit": "0",
        "stopLoss": "0", "trailingStop": "0", "unrealisedPnl": num(p.unrealized_pnl),
        "curRealisedPnl": "0", "cumRealisedPnl": "0", "seq": 1, "isReduceOnly": False,
        "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "", "sessionAvgPrice": "",
        "createdTime": updated, "updatedTime": updated,
    }


def _spot_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "symbol": symbol, "baseCoin": base, "quoteCoin": quote, "innovation": "0",
        "status": "Trading", "marginTrading": "both", "stTag": "0",
        "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                          "minOrderQty": "0.000048", "maxOrderQty": "71.73956243",
                          "minOrderAmt": "1", "maxOrderAmt": "2000000"},
        "priceFilter": {"tickSize": "0.01"},
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
    }


def _linear_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "symbol": symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": base, "quoteCoin": quote, "launchTime": "1584230400000",
        "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
        "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                          "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000",
                          "minNotionalValue": "5"},
        "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": quote,
        "copyTrading": "both", "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375",
        "isPreListing": False, "preListingInfo": None,
    }
