"""Backtests: market data, plain accounting, strategies, results and reports (no Ray here).

The simulator that drives them through the position interfaces and the PositionMonitor is
`actors.simulator`; sweeps over a Ray cluster are `actors.sweep`.
"""

from actors.backtest.accounting import COMPONENTS, Book, Tick
from actors.backtest.data import assemble, load_market, write_schema_dir
from actors.backtest.market import DataError, Gap, MarketData
from actors.backtest.results import BacktestResult, fingerprint
from actors.backtest.strategies import make_strategy, net_delta
from actors.backtest.synthetic import synthetic_market

__all__ = [
    "COMPONENTS",
    "BacktestResult",
    "Book",
    "DataError",
    "Gap",
    "MarketData",
    "Tick",
    "assemble",
    "fingerprint",
    "load_market",
    "make_strategy",
    "net_delta",
    "synthetic_market",
    "write_schema_dir",
]
