"""CEX mapping: canned venue answers (tests/data/cex/*.json) -> canonical positions.

ccxt still signs and parses every request; only the wire is replaced by `CannedTransport`, so
these specify what a venue's real JSON becomes in canonical keys, with no network and no Ray.
The canned server time is 1_732_000_000 s (2024-11-19T07:06:40Z).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from factory.config import venue_defaults
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.mapping import (
    balance_positions,
    dig,
    perp_positions,
    transfers_in_transit,
)
from factory.interfaces.cex.replay import CannedTransport, load_canned
from factory.positions import Position, PositionKey

DATA = Path(__file__).resolve().parent.parent / "data" / "cex"
NOW = 1_732_000_000.0
SERVER_TIME = datetime(2024, 11, 19, 7, 6, 40, tzinfo=UTC)
ENV = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}

# what the canned accounts hold, in canonical keys (the spec of the mapping)
EXPECTED = {
    "binance": {
        "binance:BaseToken:BTC": 1.25,
        "binance:BaseToken:USDT": 26000.5,  # spot 1000.5 + USD-M wallet 25000 (not margin balance)
        "binance:Perp:BTCUSDT": -0.5,
        "binance:Perp:ETHUSDT": 2.0,
    },
    "bybit": {
        "bybit:BaseToken:USDT": 30000.0,
        "bybit:BaseToken:BTC": 0.1,
        "bybit:Perp:BTCUSDT": -0.3,
        "bybit:Perp:ETHUSDT": -1.5,
    },
    "okx": {
        "okx:BaseToken:USDT": 21500.0,  # trading cash 20000 + funding 1500 (not equity)
        "okx:BaseToken:BTC": 0.05,
        "okx:Perp:BTCUSDT": -0.3,  # -30 contracts x 0.01 BTC
        "okx:Perp:ETHUSDT": 0.5,  # 5 contracts x 0.1 ETH
    },
}
VENUES = sorted(EXPECTED)


def backend(venue: str) -> tuple[CEXLiveBackend, CannedTransport]:
    transport = CannedTransport(load_canned(DATA / f"{venue}.json"), venue=venue)
    return CEXLiveBackend(venue_defaults()[venue], environ=ENV, clock=lambda: NOW,
                          transport=transport), transport


@pytest.fixture(params=VENUES)
def venue(request) -> str:
    return request.param


async def test_snapshot_has_exactly_the_canonical_keys_and_amounts(venue):
    be, _ = backend(venue)
    snap = await be.fetch_snapshot(SERVER_TIME)
    assert snap.amounts() == pytest.approx(EXPECTED[venue])
    await be.close()


async def test_snapshot_timestamp_is_the_venue_server_time(venue):
    be, _ = backend(venue)
    snap = await be.fetch_snapshot(datetime(2020, 1, 1, tzinfo=UTC))
    assert snap.timestamp == SERVER_TIME
    assert snap.execution_mode == "live" and snap.status == "ok"
    assert snap.fetched_at.timestamp() == NOW


async def test_short_btc_perp_carries_what_the_venue_gives(venue):
    be, _ = backend(venue)
    pos = (await be.fetch_snapshot(SERVER_TIME)).positions[PositionKey(f"{venue}:Perp:BTCUSDT")]
    qty = EXPECTED[venue][f"{venue}:Perp:BTCUSDT"]
    assert pos.entry_price == 60000.0
    assert pos.mark_price == 61000.0
    assert pos.unrealized_pnl == pytest.approx(qty * (61000.0 - 60000.0))
    assert pos.notional == pytest.approx(abs(qty) * 61000.0)
    assert pos.leverage == pytest.approx(5.0 if venue == "binance" else 3.0)
    assert pos.margin == pytest.approx(abs(qty) * 61000.0 / pos.leverage)
    assert pos.liquidation_price > pos.mark_price  # a short is liquidated above


async def test_account_figures_include_perp_pnl(venue):
    be, _ = backend(venue)
    snap = await be.fetch_snapshot(SERVER_TIME)
    perps = [p for p in snap.positions.values() if p.key.type == "Perp"]
    upnl = sum(p.unrealized_pnl for p in perps)
    assert snap.account is not None
    assert snap.account.maintenance_margin > 0
    assert snap.account.initial_margin == pytest.approx(sum(p.margin for p in perps), rel=1e-6)
    if venue == "binance":  # USD-M wallet + unrealized PnL, in USDT
        assert snap.account.quote == "USDT"
        assert snap.account.margin_balance == pytest.approx(25000.0 + upnl)


async def test_snapshot_reads_markets_once_and_every_wallet(venue):
    be, transport = backend(venue)
    await be.fetch_snapshot(SERVER_TIME)
    first = len(transport.calls)
    await be.fetch_snapshot(SERVER_TIME)
    second = transport.calls[first:]
    # markets only on the first call (binance's raw positionRisk read needs no leverage brackets)
    assert len(second) == first - {"binance": 2, "bybit": 3, "okx": 2}[venue]
    assert not any("nstrument" in p or "exchangeInfo" in p for _, p, _ in second)


@pytest.mark.parametrize("venue, key, amount", [
    ("binance", "binance:Perp:BTCUSDT", 6.1),
    ("binance", "binance:Perp:ETHUSDT", -0.58),
    ("bybit", "bybit:Perp:BTCUSDT", 1.83),  # bybit reports the fee paid: sign flipped
    ("okx", "okx:Perp:BTCUSDT", 1.83),
])
async def test_funding_history_amounts_are_received_positive(venue, key, amount):
    be, _ = backend(venue)
    got = {f.key: f for f in await be.fetch_funding_history()}
    assert got[PositionKey(key)].amount == pytest.approx(amount)
    assert got[PositionKey(key)].timestamp.timestamp() == pytest.approx(NOW - 7200)


@pytest.mark.parametrize("venue, expected", [
    ("binance", {"dep-pending": ("deposit", 500.0, 300.0),
                 "wd-pending": ("withdrawal", 2000.0, 900.0)}),
    ("bybit", {"dep-pending": ("deposit", 250.0, 120.0)}),
    ("okx", {"wd-pending": ("withdrawal", 3000.0, 600.0)}),
])
async def test_transfers_in_transit_are_the_pending_ones(venue, expected):
    be, _ = backend(venue)
    got = {t.id: t for t in await be.fetch_transfers_in_transit()}
    assert {k: (t.kind, t.amount, t.age_s) for k, t in got.items()} == expected
    for t in got.values():
        assert t.asset == "USDT" and t.venue == venue
        if t.kind == "withdrawal":
            assert t.source == venue
            assert t.destination == "0x00000000000000000000000000000000000000d5"
        else:
            assert t.destination == venue


# -- the pure mapping functions ---------------------------------------------------------------


def test_zero_balances_and_uncanonical_assets_are_left_out():
    out = balance_positions("binance", [{"BTC": 0.0, "USDT": 5.0, "LD-USDT": 1.0}, {"USDT": 2.0}])
    assert {k: p.amount for k, p in out.items()} == {"binance:BaseToken:USDT": 7.0}


def _okx_markets(ident: str) -> dict | None:
    return {
        "BTC-USDT-SWAP": {"type": "swap", "swap": True, "linear": True, "base": "BTC",
                          "info": {"instType": "SWAP", "ctType": "linear"},
                          "quote": "USDT", "contractSize": 0.01},
        "BTC-USD-SWAP": {"type": "swap", "swap": True, "linear": False, "inverse": True,
                         "info": {"instType": "SWAP", "ctType": "inverse"},
                         "base": "BTC", "quote": "USD", "contractSize": 100.0},
        "BTC-USDT-250328": {"type": "future", "swap": False, "future": True, "linear": True,
                            "info": {"instType": "FUTURES", "ctType": "linear"},
                            "base": "BTC", "quote": "USDT", "contractSize": 0.01},
    }.get(ident)


def _okx_row(**fields) -> dict:
    row = {"instId": "BTC-USDT-SWAP", "posSide": "net", "pos": "1", "avgPx": "100",
           "markPx": "100", "upl": "0", "liqPx": "", "imr": "1", "lever": "1"}
    row.update(fields)
    return row


OKX_POSITIONS = venue_defaults()["okx"].options["positions"]


def _okx_perps(rows: list[dict]) -> dict:
    from factory.interfaces.cex.options import PositionsSpec

    spec = PositionsSpec.model_validate(OKX_POSITIONS)
    return perp_positions("okx", spec, {"code": "0", "data": rows}, _okx_markets)


def test_hedge_mode_legs_of_one_symbol_add_up():
    legs = [
        _okx_row(posSide="long", pos="50", avgPx="98", upl="1.0", imr="10"),
        _okx_row(posSide="short", pos="80", avgPx="97.5", upl="-2.0", imr="20"),
    ]
    pos = _okx_perps(legs)[PositionKey("okx:Perp:BTCUSDT")]
    assert (pos.amount, pos.unrealized_pnl, pos.margin) == pytest.approx((-0.3, -1.0, 30.0))


def test_inverse_dated_and_explicitly_flat_rows_are_not_perps():
    rows = [
        _okx_row(instId="BTC-USD-SWAP", pos="-3", liqPx="", upl="0"),
        _okx_row(instId="BTC-USDT-250328", pos="2"),
        _okx_row(pos="0"),
    ]
    assert _okx_perps(rows) == {}


def test_binance_leverage_is_derived_when_the_venue_omits_it():
    from factory.interfaces.cex.options import PositionsSpec

    spec = PositionsSpec.model_validate(venue_defaults()["binance"].options["positions"])
    row = {"symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "-1", "entryPrice": "50000",
           "markPrice": "50000", "unRealizedProfit": "0", "liquidationPrice": "0",
           "initialMargin": "12500", "notional": "-50000"}
    market = {"type": "swap", "swap": True, "linear": True, "base": "BTC", "quote": "USDT",
              "contractSize": 1.0, "info": {"contractType": "PERPETUAL"}}
    out = perp_positions("binance", spec, [row], {"BTCUSDT": market}.get)
    pos: Position = out[PositionKey("binance:Perp:BTCUSDT")]
    assert pos.leverage == pytest.approx(4.0)
    assert pos.liquidation_price is None  # binance's "0": no liquidation price, not a price of 0


def test_transfers_not_pending_are_not_in_transit():
    rows = [{"id": "a", "status": "ok", "amount": 1, "timestamp": 0, "currency": "USDT"},
            {"id": "b", "status": "failed", "amount": 1, "timestamp": 0, "currency": "USDT"},
            {"id": "c", "status": "canceled", "amount": 1, "timestamp": 0, "currency": "USDT"}]
    assert transfers_in_transit("okx", rows, rows, now=10.0) == []


def test_dig_follows_keys_and_indexes_and_stops_at_gaps():
    data = {"result": {"list": [{"x": 1}]}}
    assert dig(data, ["result", "list", 0, "x"]) == 1
    assert dig(data, ["result", "list", 3, "x"]) is None
    assert dig(data, ["nope", 0]) is None
