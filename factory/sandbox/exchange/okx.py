"""OKX v5 as ccxt reads it: trading account, funding account, USDT swaps in net mode.

Wallets: ``trading`` (``/api/v5/account/balance``) and ``funding`` (``/api/v5/asset/balances``).
Swaps are quoted in contracts: BTC-USDT-SWAP is 0.01 BTC per contract, ETH-USDT-SWAP 0.1 ETH
(`CONTRACT_SIZES`), so a -0.3 BTC short is ``pos: "-30"``. Signed requests carry
``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``, ``OK-ACCESS-TIMESTAMP`` (ISO 8601) and
``OK-ACCESS-SIGN`` (base64 HMAC-SHA256 of timestamp + method + path?query + body). Rejections
answer HTTP 401 with codes 50111 (key), 50105 (passphrase), 50113 (signature), 50102 (stale
timestamp, more than 30 s off); rate limits answer HTTP 429 with code 50011.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any, ClassVar

from factory.positions import utc
from factory.sandbox.exchange.model import EmulatorCredentials, PerpPosition, VenueAccount
from factory.sandbox.exchange.venue import (
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

__all__ = ["CONTRACT_SIZES", "OkxEmulator"]

CONTRACT_SIZES = {"BTC": 0.01, "ETH": 0.1}
MAX_SKEW_S = 30.0


def _inst(symbol: str, swap: bool) -> str:
    base, quote = _split(symbol)
    return f"{base}-{quote}-SWAP" if swap else f"{base}-{quote}"


def _ct_val(symbol: str) -> float:
    return CONTRACT_SIZES.get(_split(symbol)[0], 1.0)


def _ok(data: list) -> dict:
    return {"code": "0", "msg": "", "data": data}


def _fail(status: int, code: str, msg: str) -> Reply:
    return Reply(status, {"code": code, "msg": msg, "data": []})


@register_venue
class OkxEmulator(VenueEmulator):
    name = "okx"
    wallets = ("trading", "funding")
    default_credentials = EmulatorCredentials(
        api_key="sandbox-okx-key", secret="sandbox-okx-secret", passphrase="sandbox-okx-pass"
    )

    # -- auth -------------------------------------------------------------------------------

    def api_key(self, req: EmuRequest) -> str:
        return req.headers.get("OK-ACCESS-KEY", "")

    def authenticate(self, req: EmuRequest, creds: EmulatorCredentials) -> Reply | None:
        key = self.api_key(req)
        if not key:
            return _fail(401, "50103", "Request header OK-ACCESS-KEY cannot be empty.")
        if key != creds.api_key:
            return _fail(401, "50111", "Invalid OK-ACCESS-KEY.")
        if req.headers.get("OK-ACCESS-PASSPHRASE", "") != (creds.passphrase or ""):
            return _fail(401, "50105", "Request header OK-ACCESS-PASSPHRASE incorrect.")
        stamp = req.headers.get("OK-ACCESS-TIMESTAMP", "")
        try:
            sent = utc(stamp).timestamp()
        except ValueError:
            return _fail(401, "50112", "Invalid OK-ACCESS-TIMESTAMP.")
        if abs(req.now - sent) > MAX_SKEW_S:
            return _fail(401, "50102", "Timestamp request expired.")
        target = req.path + (f"?{req.raw_query}" if req.raw_query else "")
        expected = base64.b64encode(
            hmac_sha256(creds.secret, f"{stamp}{req.method}{target}{req.body}")
        ).decode()
        if not hmac.compare_digest(req.headers.get("OK-ACCESS-SIGN", ""), expected):
            return _fail(401, "50113", "Invalid signature.")
        return None

    # -- errors -----------------------------------------------------------------------------

    def rate_limited(self, req: EmuRequest, retry_after_s: float, scope: str) -> Reply:
        return _fail(429, "50011", "Rate limit reached. Please refer to API documentation and "
                     "throttle requests accordingly.")

    def server_error(self, req: EmuRequest, status: int) -> Reply:
        return _fail(status, "50001", "Service temporarily unavailable. Please try again later.")

    def not_found(self, req: EmuRequest) -> Reply:
        return _fail(404, "404", "Not Found")

    # -- public -----------------------------------------------------------------------------

    def time(self, req: EmuRequest, account: VenueAccount) -> dict:
        return _ok([{"ts": str(req.now_ms)}])

    def instruments(self, req: EmuRequest, account: VenueAccount) -> dict | Reply:
        kind = req.query.get("instType")
        if kind == "SPOT":
            return _ok([_spot_market(s) for s in _pairs(account)])
        if kind == "SWAP":
            return _ok([_swap_market(s) for s in _pairs(account)])
        if kind in ("FUTURES", "OPTION", "MARGIN"):
            return _ok([])
        return _fail(400, "51000", "Parameter instType error")

    # -- signed -----------------------------------------------------------------------------

    def trading_balance(self, req: EmuRequest, account: VenueAccount) -> dict:
        prices = dict(DEFAULT_PRICES)
        prices.update({p.base: p.mark_price for p in account.perps})
        wallet = account.wallet("trading")
        details, tot = [], {"eq": 0.0, "upl": 0.0, "imr": 0.0, "mmr": 0.0, "notional": 0.0}
        for ccy in dict.fromkeys([*wallet, *(p.quote for p in account.perps)]):
            perps = [p for p in account.perps if p.quote == ccy]
            cash, upl = wallet.get(ccy, 0.0), sum(p.unrealized_pnl for p in perps)
            imr = sum(p.initial_margin for p in perps)
            px = prices.get(ccy, 1.0)
            tot["eq"] += (cash + upl) * px
            tot["upl"] += upl * px
            tot["imr"] += imr * px
            tot["mmr"] += sum(p.maintenance_margin for p in perps) * px
            tot["notional"] += sum(p.notional for p in perps) * px
            details.append({
                "availBal": num(cash - imr), "availEq": num(cash + upl - imr), "borrowFroz": "",
                "cashBal": num(cash), "ccy": ccy, "crossLiab": "", "disEq": num((cash + upl) * px),
                "eq": num(cash + upl), "eqUsd": num((cash + upl) * px), "fixedBal": "0",
                "frozenBal": num(imr), "imr": "", "interest": "", "isoEq": "0", "isoLiab": "",
                "isoUpl": "0", "liab": "", "maxLoan": "", "mgnRatio": "", "mmr": "",
                "notionalLever": "", "ordFrozen": "0", "rewardBal": "0", "spotInUseAmt": "",
                "clSpotInUseAmt": "", "maxSpotInUseAmt": "", "spotIsoBal": "0", "stgyEq": "0",
                "twap": "0", "uTime": str(req.now_ms), "upl": num(upl), "uplLiab": "",
                "spotBal": "", "openAvgPx": "", "accAvgPx": "", "spotUpl": "",
                "spotUplRatio": "", "totalPnl": "", "totalPnlRatio": "",
            })
        ratio = tot["eq"] / tot["mmr"] if tot["mmr"] else 0.0
        return _ok([{
            "adjEq": num(tot["eq"]), "borrowFroz": "", "details": details, "imr": num(tot["imr"]),
            "isoEq": "0", "mgnRatio": num(ratio, 4) if ratio else "", "mmr": num(tot["mmr"]),
            "notionalUsd": num(tot["notional"]), "ordFroz": "", "totalEq": num(tot["eq"]),
            "uTime": str(req.now_ms), "upl": num(tot["upl"]),
        }])

    def funding_balances(self, req: EmuRequest, account: VenueAccount) -> dict:
        wanted = req.query.get("ccy")
        return _ok([
            {"availBal": num(v), "bal": num(v), "ccy": c, "frozenBal": "0"}
            for c, v in account.wallet("funding").items() if wanted in (None, c)
        ])

    def positions(self, req: EmuRequest, account: VenueAccount) -> dict:
        kind = req.query.get("instType")
        rows = [] if kind not in (None, "SWAP") else [_position(p, req) for p in account.perps]
        return _ok(rows)

    def bills(self, req: EmuRequest, account: VenueAccount) -> dict:
        if req.query.get("type", "8") != "8":
            return _ok([])
        rows = []
        for i, f in enumerate(account.funding):
            inst = _inst(f.symbol, swap=True)
            rows.append({
                "bal": "0", "balChg": num(f.amount), "billId": f.id or str(700_000 + i),
                "ccy": f.asset, "clOrdId": "", "execType": "", "fee": "0", "fillTime": "",
                "from": "", "instId": inst, "instType": "SWAP", "interest": "0",
                "mgnMode": "cross", "notes": "", "ordId": "", "pnl": num(f.amount),
                "posBal": "0", "posBalChg": "0", "px": "",
                "subType": "173" if f.amount < 0 else "174", "sz": "0", "tag": "", "to": "",
                "tradeId": "", "ts": str(_ms(f.at(req.now))), "type": "8",
            })
        rows.sort(key=lambda r: -int(r["ts"]))
        return _ok(rows[: int(req.query.get("limit", 100))])

    def deposits(self, req: EmuRequest, account: VenueAccount) -> dict:
        state = {"pending": "0", "ok": "2", "failed": "-1"}
        return _ok([
            {"actualDepAmt": num(t.amount), "amt": num(t.amount), "areaCodeFrom": "",
             "ccy": t.asset, "chain": f"{t.asset}-{t.network}", "depId": t.id, "from": "",
             "fromWdId": "", "state": state[t.status], "to": t.address,
             "ts": str(_ms(t.at(req.now))),
             "txId": t.txid}
            for t in account.deposits if req.query.get("ccy") in (None, t.asset)
        ])

    def withdrawals(self, req: EmuRequest, account: VenueAccount) -> dict:
        state = {"pending": "1", "ok": "2", "failed": "-1"}
        return _ok([
            {"chain": f"{t.asset}-{t.network}", "fee": "1", "feeCcy": t.asset, "ccy": t.asset,
             "clientId": "", "amt": num(t.amount), "txId": t.txid, "from": "",
             "areaCodeFrom": "", "to": t.address, "areaCodeTo": "", "state": state[t.status],
             "ts": str(_ms(t.at(req.now))), "nonTradableAsset": False, "wdId": t.id}
            for t in account.withdrawals if req.query.get("ccy") in (None, t.asset)
        ])

    routes: ClassVar[dict[tuple[str, str], Route]] = {
        ("GET", "/api/v5/public/time"): Route(time),
        ("GET", "/api/v5/public/instruments"): Route(instruments),
        ("GET", "/api/v5/account/balance"): Route(trading_balance, signed=True),
        ("GET", "/api/v5/asset/balances"): Route(funding_balances, signed=True),
        ("GET", "/api/v5/account/positions"): Route(positions, signed=True),
        ("GET", "/api/v5/account/bills-archive"): Route(bills, signed=True),
        ("GET", "/api/v5/asset/deposit-history"): Route(deposits, signed=True),
        ("GET", "/api/v5/asset/withdrawal-history"): Route(withdrawals, signed=True),
    }


def _position(p: PerpPosition, req: EmuRequest) -> dict[str, Any]:
    ct = _ct_val(p.symbol)
    updated = str(_ms(p.updated_at) if p.updated_at else req.now_ms)
    isolated = p.margin_mode == "isolated"
    return {
        "adl": "1", "availPos": "", "avgPx": num(p.entry_price, 2), "cTime": updated,
        "ccy": p.quote, "deltaBS": "", "deltaPA": "", "gammaBS": "", "gammaPA": "",
        "imr": "" if isolated else num(p.initial_margin), "instId": _inst(p.symbol, swap=True),
        "instType": "SWAP", "interest": "", "idxPx": num(p.mark_price, 2),
        "last": num(p.mark_price, 2), "usdPx": "", "bePx": num(p.entry_price, 2),
        "lever": f"{p.leverage:g}", "liab": "", "liabCcy": "", "liqPx": num(p.liquidation, 2),
        "markPx": num(p.mark_price, 2), "margin": num(p.initial_margin) if isolated else "",
        "mgnMode": p.margin_mode,
        "mgnRatio": num(p.initial_margin / p.maintenance_margin if p.maintenance_margin else 0, 4),
        "mmr": num(p.maintenance_margin), "notionalUsd": num(p.notional),
        "optVal": "", "pendingCloseOrdLiabVal": "", "pos": num(p.quantity / ct, 2),
        "baseBal": "", "baseBorrowed": "", "baseInterest": "", "quoteBal": "",
        "quoteBorrowed": "", "quoteInterest": "", "posCcy": "", "posId": f"pos-{p.symbol}",
        "posSide": "net", "spotInUseAmt": "", "spotInUseCcy": "", "clSpotInUseAmt": "",
        "maxSpotInUseAmt": "", "bizRefId": "", "bizRefType": "", "thetaBS": "", "thetaPA": "",
        "tradeId": "1", "uTime": updated, "upl": num(p.unrealized_pnl),
        "uplLastPx": num(p.unrealized_pnl),
        "uplRatio": num(p.unrealized_pnl / p.initial_margin if p.initial_margin else 0, 6),
        "uplRatioLastPx": "0", "vegaBS": "", "vegaPA": "", "realizedPnl": "0", "pnl": "0",
        "fee": "0", "fundingFee": "0", "liqPenalty": "0", "closeOrderAlgo": [],
    }


def _spot_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "alias": "", "baseCcy": base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "",
        "ctValCcy": "", "expTime": "", "instFamily": "", "instId": _inst(symbol, swap=False),
        "instType": "SPOT", "lever": "10", "listTime": "1606468572000", "lotSz": "0.00000001",
        "maxIcebergSz": "9999999999", "maxLmtAmt": "1000000", "maxLmtSz": "9999999999",
        "maxMktAmt": "1000000", "maxMktSz": "", "maxStopSz": "", "maxTriggerSz": "9999999999",
        "maxTwapSz": "9999999999", "minSz": "0.00001", "optType": "", "quoteCcy": quote,
        "settleCcy": "", "state": "live", "stk": "", "tickSz": "0.1", "uly": "",
    }


def _swap_market(symbol: str) -> dict:
    base, quote = _split(symbol)
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear",
        "ctVal": f"{_ct_val(symbol):g}", "ctValCcy": base, "expTime": "",
        "instFamily": f"{base}-{quote}", "instId": _inst(symbol, swap=True), "instType": "SWAP",
        "lever": "100", "listTime": "1573557408000", "lotSz": "0.01", "maxIcebergSz": "100000000",
        "maxLmtAmt": "20000000", "maxLmtSz": "100000000", "maxMktAmt": "", "maxMktSz": "12000",
        "maxStopSz": "12000", "maxTriggerSz": "100000000", "maxTwapSz": "100000000",
        "minSz": "0.01", "optType": "", "quoteCcy": "", "settleCcy": quote, "state": "live",
        "stk": "", "tickSz": "0.1", "uly": f"{base}-{quote}",
    }
