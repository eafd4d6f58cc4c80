"""Held-out check: an independently written venue stub, mutated field by field, no silent change.

`BinanceStub` (spot + USD-M futures) and `OkxStub` (v5, long/short position mode) build their
answers from a small book and the venues' public API documentation (field names, which fields
are signed, how the venue's own sums relate), not from the project's canned files, recorded
responses or exchange emulator. The book is deliberately unlike those: a long BTC perp and a
hedge-mode short on binance, locked spot balances, a flat row; okx in long/short mode, where
``pos`` is never negative and ``posSide`` carries the direction. Only the instrument lists
(markets) come from tests/data/cex, since they are not what is tested here.

The snapshot must first be exactly the stub's book; then every leaf of every answer a snapshot
reads goes through the same mutation engine (tests/mutation.py) and each outcome must be the
same snapshot or a typed error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from factory.interfaces.cex.replay import load_canned
from tests.mutation import run_mutations
from tests.unit.cex_canonical import NOW, TYPED, SnapshotRunner, same_or_declared_unknown

DATA = Path(__file__).resolve().parent.parent / "data" / "cex"
MS = int(NOW * 1000)


def s(x: float) -> str:
    """A decimal string the way both venues print amounts."""
    return f"{x:.8f}"


@dataclass(frozen=True)
class Perp:
    """One position leg: signed base quantity, prices, margin."""

    base: str
    qty: float
    entry: float
    mark: float
    margin: float
    liq: float | None

    @property
    def upnl(self) -> float:
        return (self.mark - self.entry) * self.qty


class BinanceStub:
    """Binance spot ``GET /api/v3/account`` and USD-M ``/fapi/v3/account``, ``/positionRisk``."""

    spot: ClassVar = {"ETH": (3.5, 0.5), "USDT": (250.75, 0.0), "BNB": (0.0, 0.0)}  # free, locked
    wallet = 12000.0
    legs: ClassVar = [  # (positionSide, leg): one-way BTC long, hedge-mode ETH short, a flat row
        ("BOTH", Perp("BTC", 0.25, 65000.0, 66000.0, 3300.0, 41000.0)),
        ("SHORT", Perp("ETH", -3.0, 3200.0, 3100.0, 930.0, 6400.0)),
        ("BOTH", Perp("SOL", 0.0, 0.0, 150.0, 0.0, None)),
    ]

    def answers(self) -> dict:
        canned = load_canned(DATA / "binance.json")
        out = {k: v for k, v in canned.items() if "exchangeInfo" in k}
        out["GET /api/v3/time"] = {"serverTime": MS}
        out["GET /api/v3/account"] = {
            "makerCommission": 10, "canTrade": True, "accountType": "SPOT", "updateTime": MS,
            "balances": [{"asset": a, "free": s(f), "locked": s(lk)}
                         for a, (f, lk) in self.spot.items()],
            "permissions": ["SPOT"],
        }
        upnl = sum(p.upnl for _, p in self.legs)
        margin = sum(p.margin for _, p in self.legs)
        out["GET /fapi/v3/account"] = {
            "totalInitialMargin": s(margin), "totalMaintMargin": s(margin / 10),
            "totalWalletBalance": s(self.wallet), "totalUnrealizedProfit": s(upnl),
            "totalMarginBalance": s(self.wallet + upnl), "availableBalance": s(5000.0),
            "assets": [{"asset": "USDT", "walletBalance": s(self.wallet),
                        "unrealizedProfit": s(upnl), "marginBalance": s(self.wallet + upnl),
                        "initialMargin": s(margin), "updateTime": MS}],
            "positions": [],
        }
        out["GET /fapi/v3/positionRisk"] = [
            {"symbol": f"{p.base}USDT", "positionSide": side, "positionAmt": f"{p.qty:.3f}",
             "entryPrice": s(p.entry), "markPrice": s(p.mark), "unRealizedProfit": s(p.upnl),
             "liquidationPrice": s(p.liq or 0.0), "notional": s(p.qty * p.mark),
             "initialMargin": s(p.margin), "marginAsset": "USDT", "updateTime": MS}
            for side, p in self.legs
        ]
        return out

    def book(self) -> dict[str, float]:
        return {"binance:BaseToken:ETH": 4.0, "binance:BaseToken:USDT": 250.75 + self.wallet,
                "binance:Perp:BTCUSDT": 0.25, "binance:Perp:ETHUSDT": -3.0}


class OkxStub:
    """OKX v5 ``/account/balance``, ``/asset/balances``, ``/account/positions`` (long/short mode)."""

    cash: ClassVar = {"USDT": 8000.0, "ETH": 0.0}
    funding: ClassVar = {"USDT": 500.0, "BTC": 0.01}
    legs: ClassVar = [  # contracts of 0.01 BTC / 0.1 ETH
        ("long", "BTC", 12, 0.01, 64000.0, 66000.0, 264.0, 50000.0),
        ("short", "ETH", 20, 0.1, 3300.0, 3100.0, 124.0, ""),
    ]

    def _rows(self) -> list[dict]:
        rows = []
        for side, base, contracts, ct_val, entry, mark, imr, liq in self.legs:
            sign = 1 if side == "long" else -1
            upl = (mark - entry) * contracts * ct_val * sign
            rows.append({
                "instType": "SWAP", "instId": f"{base}-USDT-SWAP", "mgnMode": "cross",
                "posSide": side, "pos": str(contracts), "availPos": str(contracts),
                "avgPx": str(entry), "markPx": str(mark), "upl": s(upl), "imr": s(imr),
                "margin": "", "lever": "5", "liqPx": str(liq), "ccy": "USDT",
                "notionalUsd": s(contracts * ct_val * mark), "uTime": str(MS),
            })
        return rows

    def answers(self) -> dict:
        canned = load_canned(DATA / "okx.json")
        out = {k: v for k, v in canned.items() if "instruments" in k}
        out["GET /api/v5/public/time"] = {"code": "0", "msg": "", "data": [{"ts": str(MS)}]}
        rows = self._rows()
        upl = sum(float(r["upl"]) for r in rows)
        details = [{"ccy": c, "cashBal": s(v), "upl": s(upl if c == "USDT" else 0.0),
                    "eq": s(v + (upl if c == "USDT" else 0.0)), "availBal": s(v),
                    "frozenBal": "0", "uTime": str(MS)} for c, v in self.cash.items()]
        out["GET /api/v5/account/balance"] = {"code": "0", "msg": "", "data": [{
            "adjEq": s(8000.0 + upl), "imr": s(388.0), "mmr": s(38.8),
            "totalEq": s(8000.0 + upl), "upl": s(upl), "uTime": str(MS), "details": details,
        }]}
        out["GET /api/v5/asset/balances"] = {"code": "0", "msg": "", "data": [
            {"ccy": c, "bal": s(v), "availBal": s(v), "frozenBal": "0"}
            for c, v in self.funding.items()]}
        out["GET /api/v5/account/positions"] = {"code": "0", "msg": "", "data": rows}
        return out

    def book(self) -> dict[str, float]:
        return {"okx:BaseToken:USDT": 8500.0, "okx:BaseToken:BTC": 0.01,
                "okx:Perp:BTCUSDT": 0.12, "okx:Perp:ETHUSDT": -2.0}


STUBS = {"binance": BinanceStub(), "okx": OkxStub()}
READ = {"binance": ("/api/v3/account", "/fapi/v3/account", "/fapi/v3/positionRisk",
                    "/api/v3/time"),
        "okx": ("/api/v5/account/balance", "/api/v5/asset/balances",
                "/api/v5/account/positions", "/api/v5/public/time")}


@pytest.mark.parametrize("venue", sorted(STUBS))
def test_the_stub_book_reads_exactly(venue):
    runner = SnapshotRunner(venue, STUBS[venue].answers())
    try:
        snap = runner.snapshot()
    finally:
        runner.close()
    amounts = {k: p["amount"] for k, p in snap["positions"].items()}
    assert amounts == pytest.approx(STUBS[venue].book())


@pytest.mark.parametrize("venue", sorted(STUBS))
def test_every_field_of_the_stub_mutated_changes_nothing_silently(venue):
    answers = STUBS[venue].answers()
    runner = SnapshotRunner(venue, answers)
    same = same_or_declared_unknown(runner.config)
    silent = []
    try:
        for key in (k for k in answers if k.split(" ", 1)[1] in READ[venue]):
            outcome = run_mutations(f"{venue} held-out stub {key}", answers[key],
                                    runner.serving(key), TYPED, same=same)
            assert outcome.mutations > 0
            silent += outcome.silent
    finally:
        runner.close()
    assert silent == []
