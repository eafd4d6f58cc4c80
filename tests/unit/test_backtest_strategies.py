"""Strategies: opening sizes per mode, rebalance decisions read from the monitor's snapshot."""

from __future__ import annotations

import asyncio

import pytest

from actors.backtest.accounting import Book
from actors.backtest.simulator import Simulator
from actors.backtest.strategies.base import net_delta
from actors.backtest.strategies.registry import make_strategy
from actors.backtest.sync import LedgerSync
from actors.monitor import PositionMonitor
from factory.config import config_dir, load_mode, with_overrides
from factory.errors import ConfigError
from factory.execution_interface_factory import ExecutionInterfaceFactory
from tests.unit.test_backtest_accounting import tick


def mode(name, *overrides):
    cfg = load_mode(config_dir() / "modes" / f"{name}.yaml")
    return with_overrides(cfg, list(overrides)) if overrides else cfg


def open_book(cfg, **prices):
    strategy = make_strategy(cfg)
    book = Book(cfg.share_class)
    book.advance(tick(**prices))
    book.deposit(strategy.capital_key, cfg.initial_capital)
    strategy.open(book)
    return strategy, book


def margin_balance(book, venue, perp):
    return book.get(f"{venue}:BaseToken:USDT") + book.unrealized(perp)


@pytest.mark.parametrize("name,u", [("btc_basis", "BTC"), ("eth_basis", "ETH")])
def test_basis_opens_spot_plus_margin_equal_to_equity_with_the_hedge_split(name, u):
    cfg = mode(name)
    _strategy, book = open_book(cfg, btc=40_000.0, mark=40_040.0, eth=2_000.0)
    t = book.tick
    spot = book.get(f"binance:BaseToken:{u}")
    perps = {v: book.get(f"{v}:Perp:{u}USDT") for v in ("binance", "bybit", "okx")}
    margins = sum(margin_balance(book, v, f"{v}:Perp:{u}USDT") for v in perps)
    assert spot * t.usd[u] + margins == pytest.approx(book.equity(), rel=1e-12)
    assert book.equity() == pytest.approx(cfg.initial_capital + book.attribution["fees"])
    assert {v: q / sum(perps.values()) for v, q in perps.items()} == pytest.approx(
        {"binance": 0.4, "bybit": 0.3, "okx": 0.3})
    assert sum(perps.values()) == pytest.approx(-spot, rel=1e-12)  # delta neutral
    notional = -sum(perps.values()) * t.marks[u]
    assert margins / notional == pytest.approx(cfg.thresholds.target_margin_ratio, rel=2e-3)


def test_staking_hedged_simple_holds_lst_share_in_weeth_hedged_in_eth():
    cfg = mode("usdt_eth_staking_hedged_simple")
    _, book = open_book(cfg, eth=2_000.0, rate=1.05)
    weeth = book.get("etherfi:LST:weETH")
    assert weeth * 1.05 * 2000 == pytest.approx(0.6 * 100_000, rel=1e-3)
    short = sum(book.get(f"{v}:Perp:ETHUSDT") for v in ("binance", "bybit", "okx"))
    assert short == pytest.approx(-weeth * 1.05, rel=1e-12)


def test_leveraged_loop_has_exposure_e_over_1_minus_ltv_and_debt_e_ltv_over_1_minus_ltv():
    cfg = mode("usdt_eth_staking_hedged_leveraged")
    _strategy, book = open_book(cfg, eth=2_000.0, rate=1.05)
    ltv = cfg.strategy.target_ltv
    coll_eth = book.get("aave_v3:aToken:aweETH") * 1.05
    debt_eth = book.get("aave_v3:debtToken:debtWETH")
    net = coll_eth - debt_eth
    assert coll_eth == pytest.approx(net / (1 - ltv), rel=1e-12)
    assert debt_eth == pytest.approx(net * ltv / (1 - ltv), rel=1e-12)
    assert debt_eth / coll_eth == pytest.approx(ltv)
    assert net * 2000 == pytest.approx(0.6 * 100_000, rel=1e-3)
    short = sum(book.get(f"{v}:Perp:ETHUSDT") for v in ("binance", "bybit", "okx"))
    assert short == pytest.approx(-net, rel=1e-12)
    assert book.get("etherfi:LST:weETH") == pytest.approx(0.0, abs=1e-9)


def test_lending_and_staking_only_put_all_capital_in_their_single_leg():
    _, lend = open_book(mode("pure_lending_usdt"))
    assert lend.amounts == {"wallet:BaseToken:USDT": 0.0, "aave_v3:aToken:aUSDT": 100_000.0}
    _, stake = open_book(mode("eth_staking_only"), rate=1.05, share="ETH")
    assert stake.get("etherfi:LST:weETH") == pytest.approx(100 / 1.05)
    assert stake.attribution["fees"] == 0.0  # minting weETH has no fee


@pytest.mark.parametrize("overrides,needle", [
    (["strategy.target_ltv=0.95"], "below strategy.max_ltv"),
    (["strategy.target_ltv=0.9"], "health factor of 1.056"),
])
def test_a_loop_target_that_cannot_hold_is_a_config_error(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        make_strategy(mode("usdt_eth_staking_hedged_leveraged", *overrides))


def test_the_strategy_rehedges_from_the_monitors_net_delta():
    """Unhedge the book behind the strategy's back; the snapshot shows it; decide re-hedges."""
    cfg = mode("btc_basis")
    strategy, book = open_book(cfg, btc=40_000.0)
    monitor = PositionMonitor(ExecutionInterfaceFactory(), cfg, "backtest")
    sync = LedgerSync(book, {v: i.ledger for v, i in monitor.interfaces.items()},
                      {v: i.kind for v, i in monitor.interfaces.items()}, 0.95, 0.93)
    book.trade_perp("okx:Perp:BTCUSDT", -0.5 * book.get("okx:Perp:BTCUSDT"), 0.0)  # halve one leg
    sync.push()
    snap = asyncio.run(monitor.get_real_positions(0))
    spot = book.get("binance:BaseToken:BTC")
    assert net_delta(snap, "BTC") > cfg.thresholds.delta_tolerance * spot
    assert strategy.decide(strategy.rebalance_every_steps, book, snap) is True
    sync.push()
    after = asyncio.run(monitor.get_real_positions(0))
    assert abs(net_delta(after, "BTC")) < 1e-9
    assert strategy.decide(1, book, after) is False  # not due, nothing breached


def test_net_delta_counts_lst_backed_collateral_at_its_rate():
    cfg = mode("usdt_eth_staking_hedged_leveraged")
    _, book = open_book(cfg, eth=2_000.0, rate=1.05)
    monitor = PositionMonitor(ExecutionInterfaceFactory(), cfg, "backtest")
    sync = LedgerSync(book, {v: i.ledger for v, i in monitor.interfaces.items()},
                      {v: i.kind for v, i in monitor.interfaces.items()}, 0.95, 0.93)
    sync.push()
    snap = asyncio.run(monitor.get_real_positions(0))
    assert net_delta(snap, "ETH") == pytest.approx(0.0, abs=1e-9)
    assert snap.risk.ltv["aave_v3"] == pytest.approx(cfg.strategy.target_ltv)
    assert snap.risk.health_factor["aave_v3"] == pytest.approx(0.95 / cfg.strategy.target_ltv)


def test_constant_hedge_trades_only_at_open():
    from actors.backtest.data.synthetic import synthetic_market

    market = synthetic_market(seed=3, days=60)
    res = Simulator(mode("btc_basis", "strategy.rebalance=false"), market).run()
    assert res.trades == 4 and res.rebalances == 0  # spot + three perp legs
    moving = Simulator(mode("btc_basis"), market).run()
    assert moving.trades > 4
