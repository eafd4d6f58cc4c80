"""Strict venue mapping: real-format venue answers missing one field fail the snapshot.

Each answer is the canned venue JSON (tests/data/cex/*.json) with one field removed or one
envelope emptied, served to the real ccxt client through `CannedTransport`. Before the strict
mapping each of these read as ``status: ok`` with a wrong book (a short read as long, a balance
gone, an empty book dated 1970); now each is a `BadResponseError` naming venue, endpoint and
field, and the monitor keeps the venue's last good values as stale.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.monitor import PositionMonitor
from factory.config import venue_defaults
from factory.errors import BadResponseError
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.mapping import perp_positions
from factory.interfaces.cex.options import PositionsSpec
from factory.interfaces.cex.replay import CannedTransport, load_canned
from factory.positions import PositionKey

DATA = Path(__file__).resolve().parent.parent / "data" / "cex"
NOW = 1_732_000_000.0
SERVER_TIME = datetime(2024, 11, 19, 7, 6, 40, tzinfo=UTC)
ENV = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}
BYBIT_POSITIONS = "GET /v5/position/list?category=linear&settleCoin=USDT"
BYBIT_WALLET = "GET /v5/account/wallet-balance?accountType=UNIFIED"


async def snapshot(venue: str, edit=None):
    answers = load_canned(DATA / f"{venue}.json")
    if edit is not None:
        edit(answers)
    be = CEXLiveBackend(venue_defaults()[venue], environ=ENV, clock=lambda: NOW,
                        transport=CannedTransport(answers, venue=venue))
    try:
        return await be.fetch_snapshot(SERVER_TIME)
    finally:
        await be.close()


def drop(endpoint: str, *path, value=...):
    """An edit removing (or, with ``value``, replacing) the field at ``path`` of one answer."""

    def edit(answers):
        node = answers[endpoint]
        for step in path[:-1]:
            node = node[step]
        if value is ...:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return edit


def envelope(endpoint: str, body):
    def edit(answers):
        answers[endpoint] = copy.deepcopy(body)

    return edit


@pytest.mark.parametrize("venue, edit, field", [
    # okx -30 contracts short: without pos (or pos "") it read as +0.3 BTC long
    ("okx", drop("GET /api/v5/account/positions", "data", 0, "pos"),
     "GET /api/v5/account/positions: data[0].pos: missing"),
    ("okx", drop("GET /api/v5/account/positions", "data", 0, "pos", value=""),
     "GET /api/v5/account/positions: data[0].pos: empty"),
    # bybit Sell 0.3: without side it read as long
    ("bybit", drop(BYBIT_POSITIONS, "result", "list", 0, "side"),
     "GET /v5/position/list: result.list[0].side: missing"),
    # binance spot BTC without free: 1.25 BTC disappeared
    ("binance", drop("GET /api/v3/account", "balances", 0, "free"),
     "GET /api/v3/account: balances[0].free: missing"),
    # binance USD-M asset without walletBalance: 25,000 USDT disappeared
    ("binance", drop("GET /fapi/v3/account", "assets", 0, "walletBalance"),
     "GET /fapi/v3/account: assets[0].walletBalance: missing"),
    # okx trading detail without cashBal: 20,000 USDT disappeared
    ("okx", drop("GET /api/v5/account/balance", "data", 0, "details", 0, "cashBal"),
     "GET /api/v5/account/balance: data[0].details[0].cashBal: missing"),
])
async def test_a_missing_amount_or_side_fails_the_venue_naming_endpoint_and_field(
    venue, edit, field
):
    with pytest.raises(BadResponseError) as info:
        await snapshot(venue, edit)
    assert str(info.value) == f"{venue}: {field}"


@pytest.mark.parametrize("venue, edit, field", [
    ("binance", envelope("GET /api/v3/account", {}), "GET /api/v3/account: balances"),
    ("binance", envelope("GET /fapi/v3/account", {}), "GET /fapi/v3/account: assets"),
    ("bybit", envelope(BYBIT_POSITIONS, {"retCode": 0, "retMsg": "OK", "result": {}}),
     "GET /v5/position/list: result.list"),
    ("bybit", envelope(BYBIT_WALLET, {"retCode": 0, "retMsg": "OK", "result": {}}),
     "GET /v5/account/wallet-balance: result.list[0].coin"),
    ("okx", envelope("GET /api/v5/account/positions", {"code": "0", "msg": ""}),
     "GET /api/v5/account/positions: data"),
])
async def test_a_success_envelope_without_its_payload_is_no_answer_not_an_empty_book(
    venue, edit, field
):
    with pytest.raises(BadResponseError, match="no payload") as info:
        await snapshot(venue, edit)
    assert str(info.value).startswith(f"{venue}: {field}: no payload")


async def test_an_explicitly_empty_position_list_is_a_flat_book():
    snap = await snapshot("bybit", drop(BYBIT_POSITIONS, "result", "list", value=[]))
    assert snap.status == "ok" and snap.timestamp == SERVER_TIME
    assert snap.amounts() == pytest.approx({"bybit:BaseToken:USDT": 30000.0,
                                            "bybit:BaseToken:BTC": 0.1})


@pytest.mark.parametrize("ms", [0, 1000, 86_400_000])  # 1970-01-01 and -02: not a venue clock
async def test_a_server_time_at_the_epoch_is_not_a_venue_clock(ms):
    edit = envelope("GET /v5/market/time", {"retCode": 0, "retMsg": "OK", "result": {},
                                            "time": ms})
    with pytest.raises(BadResponseError, match="no server time"):
        await snapshot("bybit", edit)


@pytest.mark.parametrize("venue, endpoint, path, field", [
    # a flipped quantity contradicts the venue's own PnL, notional and liquidation side
    ("binance", "GET /fapi/v3/positionRisk", (0, "positionAmt"), "[0].liquidationPrice"),
    ("okx", "GET /api/v5/account/positions", ("data", 0, "pos"), "data[0].liqPx"),
    ("binance", "GET /fapi/v3/account", ("assets", 0, "walletBalance"),
     "assets[0].marginBalance"),
    ("okx", "GET /api/v5/account/balance", ("data", 0, "details", 0, "cashBal"),
     "data[0].details[0].eq"),
    ("bybit", BYBIT_WALLET, ("result", "list", 0, "coin", 0, "walletBalance"),
     "result.list[0].coin[0].equity"),
])
async def test_a_flipped_sign_contradicts_a_second_source(venue, endpoint, path, field):
    def flip(answers):
        node = answers[endpoint]
        for step in path[:-1]:
            node = node[step]
        text = node[path[-1]]
        node[path[-1]] = text[1:] if text.startswith("-") else f"-{text}"

    with pytest.raises(BadResponseError, match="contradiction") as info:
        await snapshot(venue, flip)
    assert f"{field}:" in str(info.value)


async def test_bybit_side_that_says_flat_with_a_size_is_a_contradiction():
    edit = drop(BYBIT_POSITIONS, "result", "list", 0, "side", value="")
    with pytest.raises(BadResponseError, match=r"result.list\[0\].side: says flat"):
        await snapshot("bybit", edit)


def test_hedge_legs_with_an_unknown_margin_sum_to_unknown_not_the_known_leg():
    spec = PositionsSpec.model_validate(venue_defaults()["okx"].options["positions"])
    market = {"type": "swap", "swap": True, "linear": True, "base": "BTC", "quote": "USDT",
              "contractSize": 0.01, "info": {"instType": "SWAP", "ctType": "linear"}}
    leg = {"instId": "BTC-USDT-SWAP", "avgPx": "100", "markPx": "100", "upl": "0",
           "liqPx": "", "lever": "3"}
    rows = [{**leg, "posSide": "long", "pos": "50", "imr": "10"},
            {**leg, "posSide": "short", "pos": "80", "imr": ""}]  # isolated leg: imr unknown
    pos = perp_positions("okx", spec, {"code": "0", "data": rows}, {"BTC-USDT-SWAP": market}.get)
    merged = pos[PositionKey("okx:Perp:BTCUSDT")]
    assert merged.amount == pytest.approx(-0.3)
    assert merged.margin is None  # was 10.0: the known leg alone


class BackendClient:
    """The monitor's venue client over a real backend (what a venue actor does, without Ray)."""

    def __init__(self, backend: CEXLiveBackend):
        self.venue = backend.venue
        self.backend = backend

    async def snapshot(self, timestamp):
        return await self.backend.fetch_snapshot(timestamp)


async def test_the_monitor_keeps_the_last_good_values_stale_when_a_field_goes_missing():
    answers = load_canned(DATA / "okx.json")
    transport = CannedTransport(answers, venue="okx")
    backend = CEXLiveBackend(venue_defaults()["okx"], environ=ENV, clock=lambda: NOW,
                             transport=transport)
    now = [100.0]
    monitor = PositionMonitor(None, {}, "live", clients={"okx": BackendClient(backend)},
                              clock=lambda: now[0])
    good = await monitor.get_real_positions(SERVER_TIME)
    assert good.venues["okx"].status == "ok"
    positions = copy.deepcopy(answers["GET /api/v5/account/positions"])
    del positions["data"][0]["pos"]
    transport.set("GET /api/v5/account/positions", positions)
    now[0] = 160.0
    later = await monitor.get_real_positions(SERVER_TIME)
    okx = later.venues["okx"]
    assert okx.status == "stale" and okx.age_s == pytest.approx(60.0)
    assert okx.positions == good.venues["okx"].positions  # -0.3 BTC short, not +0.3
    assert okx.positions[PositionKey("okx:Perp:BTCUSDT")].amount == pytest.approx(-0.3)
    assert "data[0].pos: missing" in (okx.error or "")
    await backend.close()


async def funding_and_transfers(venue: str, edit):
    answers = load_canned(DATA / f"{venue}.json")
    edit(answers)
    be = CEXLiveBackend(venue_defaults()[venue], environ=ENV, clock=lambda: NOW,
                        transport=CannedTransport(answers, venue=venue))
    try:
        return await be.fetch_funding_history(), await be.fetch_transfers_in_transit()
    finally:
        await be.close()


@pytest.mark.parametrize("edit, message", [
    # a funding payment of 6.10 USDT without its amount was left out of the carry
    (drop("GET /fapi/v1/income", 0, "income"), "funding 'f-1': no amount or time"),
    # a 2,000 USDT withdrawal without its status was not in transit: money vanished
    (drop("GET /sapi/v1/capital/withdraw/history", 0, "status"),
     "withdrawal 'wd-pending': no status"),
])
async def test_a_funding_or_transfer_row_missing_its_figure_fails_never_vanishes(edit, message):
    funding, transfers = await funding_and_transfers("binance", lambda a: None)
    assert {f.id for f in funding} == {"f-1", "f-2"}
    assert {t.id for t in transfers} == {"dep-pending", "wd-pending"}
    with pytest.raises(BadResponseError, match=message):
        await funding_and_transfers("binance", edit)


async def test_a_full_page_of_bybit_positions_is_not_the_whole_book():
    def two_hundred(answers):
        rows = answers[BYBIT_POSITIONS]["result"]["list"]
        rows[:] = [copy.deepcopy(rows[i % 2]) for i in range(200)]

    with pytest.raises(BadResponseError, match="result.list: a full page"):
        await snapshot("bybit", two_hundred)
