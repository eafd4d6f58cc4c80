"""Accounting: funding, mark-to-market, AAVE indices, LST rates, fees, exact attribution."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.backtest.accounting import COMPONENTS, Book, Tick

PERP = "binance:Perp:BTCUSDT"
CASH = "binance:BaseToken:USDT"
SPOT = "binance:BaseToken:BTC"


def tick(ts=0, btc=100.0, mark=None, eth=2000.0, funding=None, liq=1.0, borrow=1.0, rate=1.05,
         share="USDT"):
    usd = {"USD": 1.0, "BTC": btc, "ETH": eth}
    if share == "ETH":
        fx = 1.0 / eth
        under = {k: v * fx for k, v in usd.items()}
        under["ETH"] = 1.0
    else:
        fx, under = 1.0, usd
    return Tick(ts, usd, under, fx, {"weETH": rate}, {"BTC": btc if mark is None else mark,
                                                     "ETH": eth}, funding or {},
                {"USDT": liq, "weETH": liq}, {"WETH": borrow})


def opened(qty=-2.0, price=100.0):
    book = Book("USDT")
    book.advance(tick(btc=price))
    book.deposit(CASH, 1000.0)
    book.trade_perp(PERP, qty, 0.0)
    return book


def test_a_short_receives_size_times_mark_times_rate_when_funding_is_positive():
    book = opened(qty=-2.0)
    book.advance(tick(ts=1, btc=110.0, funding={"BTC": 0.001}))
    assert book.attribution["funding"] == pytest.approx(2 * 110 * 0.001)
    assert book.get(CASH) == pytest.approx(1000 + 0.22)
    assert book.attribution["price"] == pytest.approx(-2 * 10)


def test_a_long_pays_funding_when_the_rate_is_positive_and_receives_when_negative():
    book = opened(qty=+1.0)
    book.advance(tick(ts=1, funding={"BTC": 0.0005}))
    assert book.attribution["funding"] == pytest.approx(-100 * 0.0005)
    book.advance(tick(ts=2, funding={"BTC": -0.0002}))
    assert book.attribution["funding"] == pytest.approx(-0.05 + 0.02)


def test_perp_mark_to_market_is_in_equity_so_a_hedged_book_stays_flat():
    book = Book("USDT")
    book.advance(tick(btc=100.0))
    book.deposit(CASH, 150.0)
    book.swap(CASH, SPOT, 100.0, 0.0)
    book.trade_perp(PERP, -1.0, 0.0)
    book.advance(tick(ts=1, btc=180.0))
    assert book.unrealized(PERP) == pytest.approx(-80.0)
    # equity = spot + margin balance (cash + uPnL)
    assert book.equity() == pytest.approx(180.0 + (50.0 - 80.0)) == pytest.approx(150.0)


def test_trade_perp_averages_entry_realizes_on_reduce_and_reopens_on_flip():
    book = opened(qty=-1.0, price=100.0)
    book.advance(tick(ts=1, btc=120.0))
    book.trade_perp(PERP, -1.0, 0.0)
    assert book.entry[PERP] == pytest.approx(110.0)
    book.trade_perp(PERP, +1.0, 0.0)  # buy back half at 120: realize -10
    assert book.get(CASH) == pytest.approx(1000 - 10)
    assert book.entry[PERP] == pytest.approx(110.0)
    book.trade_perp(PERP, +3.0, 0.0)  # close the rest (-10) and open long 2 at 120
    assert book.get(PERP) == pytest.approx(2.0) and book.entry[PERP] == 120.0
    assert book.get(CASH) == pytest.approx(1000 - 20)


def test_aave_supply_grows_with_liquidity_index_and_debt_with_borrow_index():
    book = Book("USDT")
    book.advance(tick(liq=1.0, borrow=1.0))
    book.deposit("wallet:BaseToken:USDT", 1000.0)
    book.transfer("wallet:BaseToken:USDT", "aave_v3:aToken:aUSDT", 1000.0)
    book.borrow("aave_v3:debtToken:debtWETH", "wallet:BaseToken:WETH", 0.1)
    book.advance(tick(ts=1, liq=1.1, borrow=1.3))
    assert book.get("aave_v3:aToken:aUSDT") == pytest.approx(1100.0)
    assert book.get("aave_v3:debtToken:debtWETH") == pytest.approx(0.13)  # not 0.11
    assert book.attribution["lending"] == pytest.approx(100.0)
    assert book.attribution["borrow"] == pytest.approx(-0.03 * 2000.0)


def test_lst_is_valued_at_its_rate_and_rate_drift_is_staking():
    book = Book("USDT")
    book.advance(tick(eth=2000.0, rate=1.05))
    book.deposit("etherfi:LST:weETH", 10.0)
    assert book.equity() == pytest.approx(10 * 1.05 * 2000)
    book.advance(tick(ts=1, eth=2100.0, rate=1.06))
    assert book.attribution["staking"] == pytest.approx(10 * 0.01 * 2100)
    assert book.attribution["price"] == pytest.approx(10 * 1.05 * 100)


def test_eth_share_class_lst_return_is_the_rate_ratio():
    book = Book("ETH")
    book.advance(tick(rate=1.05, share="ETH"))
    book.deposit("wallet:BaseToken:ETH", 100.0)
    book.swap("wallet:BaseToken:ETH", "etherfi:LST:weETH", 100.0, 0.0)
    book.advance(tick(ts=1, eth=3000.0, rate=1.0815, share="ETH"))
    assert book.equity() / 100.0 == pytest.approx(1.0815 / 1.05, rel=1e-14)
    assert book.attribution["price"] == 0.0


def test_fees_are_charged_on_traded_value():
    book = opened(qty=0.0)
    book.swap(CASH, SPOT, 500.0, 0.001)
    book.trade_perp(PERP, -2.0, 0.0005)
    assert book.attribution["fees"] == pytest.approx(-(0.5 + 2 * 100 * 0.0005))
    assert book.equity() == pytest.approx(1000 - 0.6)


ops = st.lists(
    st.tuples(
        st.sampled_from(["perp", "spot", "lst", "supply", "borrow", "repay", "none"]),
        st.floats(-3, 3, allow_nan=False),
        st.floats(0.7, 1.4), st.floats(0.7, 1.4), st.floats(-0.002, 0.002),
        st.floats(1.0, 1.01), st.floats(1.0, 1.02), st.floats(1.0, 1.001),
    ),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops, st.sampled_from(["USDT", "ETH"]))
def test_attribution_sums_exactly_to_the_equity_change(steps, share):
    """Whatever happens, the components sum to the equity change computed from holdings."""
    book = Book(share)
    btc, eth, liq, borrow, rate = 100.0, 2000.0, 1.0, 1.0, 1.05
    book.advance(tick(btc=btc, eth=eth, liq=liq, borrow=borrow, rate=rate, share=share))
    book.deposit("wallet:BaseToken:USDT", 1e6)
    for i, (op, x, fb, fe, fr, gl, gb, gr) in enumerate(steps, start=1):
        btc, eth, liq, borrow, rate = btc * fb, eth * fe, liq * gl, borrow * gb, rate * gr
        book.advance(tick(ts=i, btc=btc, mark=btc * 1.001, eth=eth, liq=liq, borrow=borrow,
                          rate=rate, funding={"BTC": fr} if i % 3 == 0 else None, share=share))
        if op == "perp":
            book.trade_perp(PERP, x, 0.0005)
        elif op == "spot":
            book.swap("wallet:BaseToken:USDT", SPOT, abs(x) * 1000, 0.001)
        elif op == "lst":
            book.swap("wallet:BaseToken:USDT", "etherfi:LST:weETH", abs(x) * 5000, 0.0005)
        elif op == "supply":
            book.transfer("wallet:BaseToken:USDT", "aave_v3:aToken:aUSDT", abs(x) * 1000)
        elif op == "borrow":
            book.borrow("aave_v3:debtToken:debtWETH", "wallet:BaseToken:WETH", abs(x))
        elif op == "repay" and book.get("aave_v3:debtToken:debtWETH") > 0:
            amt = min(book.get("aave_v3:debtToken:debtWETH"), book.get("wallet:BaseToken:WETH"))
            book.repay("aave_v3:debtToken:debtWETH", "wallet:BaseToken:WETH", amt)
    assert set(book.attribution) == set(COMPONENTS)
    assert book.check_identity(rel_tol=1e-9) <= 1e-9
