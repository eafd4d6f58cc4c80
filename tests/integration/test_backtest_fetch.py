"""``basis data fetch``: the real ccxt client against a tiny local Binance-shaped server."""

from __future__ import annotations

import asyncio
import socket
import threading

import numpy as np
import pytest
from aiohttp import web

from actors.backtest.data.load import load_market
from actors.cli.main import main

T0 = 1704067200000  # 2024-01-01T00:00Z in ms
HOUR = 3_600_000
END = T0 + 72 * HOUR


def _klines(request):
    start = int(request.query.get("startTime", T0))
    limit = int(request.query.get("limit", 500))
    t = max(start, T0)
    t += -(t - T0) % HOUR
    rows = []
    while len(rows) < limit and t < END:
        p = 100.0 + (t - T0) / HOUR
        rows.append([t, str(p), str(p + 1), str(p - 1), str(p + 0.5), "1", t + HOUR - 1, "1", 1,
                     "0", "0", "0"])
        t += HOUR
    return web.json_response(rows)


def _funding(request):
    start = int(request.query.get("startTime", T0))
    limit = int(request.query.get("limit", 100))
    t = max(start, T0)
    t += -(t - T0) % (8 * HOUR)
    rows = []
    while len(rows) < limit and t < END:
        rows.append({"symbol": "BTCUSDT", "fundingTime": t, "fundingRate": "0.00010000",
                     "markPrice": "100"})
        t += 8 * HOUR
    return web.json_response(rows)


def _spot_info(request):
    return web.json_response({"timezone": "UTC", "serverTime": T0, "rateLimits": [], "symbols": [{
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8,
        "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"], "isSpotTradingAllowed": True, "filters": [],
        "permissions": ["SPOT"]}]})


def _futures_info(request):
    return web.json_response({"timezone": "UTC", "serverTime": T0, "rateLimits": [], "assets": [],
                              "symbols": [{
        "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT", "pricePrecision": 2,
        "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8,
        "underlyingType": "COIN", "filters": [], "orderTypes": ["LIMIT"], "timeInForce": ["GTC"]}]})


@pytest.fixture
def binance_like():
    """Serve exchangeInfo, klines, mark-price klines and funding history on 127.0.0.1."""
    app = web.Application()
    app.router.add_get("/api/v3/exchangeInfo", _spot_info)
    app.router.add_get("/fapi/v1/exchangeInfo", _futures_info)
    app.router.add_get("/api/v3/klines", _klines)
    app.router.add_get("/fapi/v1/markPriceKlines", _klines)
    app.router.add_get("/fapi/v1/klines", _klines)
    app.router.add_get("/fapi/v1/fundingRate", _funding)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_fetch_writes_the_schema_through_ccxt_paging(binance_like, tmp_path, capsys):
    code = main(["data", "fetch", "--exchange", "binance", "--base", "BTC", "--start",
                 "2024-01-01", "--end", "2024-01-03", "--out", str(tmp_path),
                 "--api-base-url", binance_like])
    assert code == 0, capsys.readouterr().err
    market = load_market(tmp_path)
    assert market.span() == "2024-01-01T00:00:00Z .. 2024-01-03T00:00:00Z"
    np.testing.assert_array_equal(market.columns["spot.BTC"], 100.0 + np.arange(49))
    np.testing.assert_array_equal(market.columns["perp.BTC"], 100.0 + np.arange(49))
    funding = market.columns["funding.BTC"]
    assert np.count_nonzero(~np.isnan(funding)) == 7 and np.nanmax(funding) == 1e-4


def test_fetch_pages_with_a_small_limit(binance_like):
    from actors.backtest.data.fetch import fetch_tables, make_exchange

    tables = fetch_tables(make_exchange("binance", binance_like), ["BTC"], "2024-01-01",
                          "2024-01-03", limit=10)
    assert len(tables[("spot", "BTC")]) == 49 and len(tables[("funding", "BTC")]) == 7


def test_an_unreachable_exchange_is_one_clear_line(tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["data", "fetch", "--base", "BTC", "--start", "2024-01-01", "--end",
                 "2024-01-02", "--out", str(tmp_path),
                 "--api-base-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "binance: cannot reach the exchange" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
