"""Backtests: market data, plain accounting, strategies, results and reports (no Ray here).

The simulator that drives them through the position interfaces and the PositionMonitor is
`actors.backtest.simulator`; sweeps over a Ray cluster are `actors.backtest.sweep`.
"""

from actors.backtest.accounting import COMPONENTS, Book, Tick
from actors.backtest.data.load import assemble, load_market, write_schema_dir
from actors.backtest.data.market import DataError, Gap, MarketData
from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.results import BacktestResult, fingerprint
from actors.backtest.strategies.base import net_delta
from actors.backtest.strategies.registry import make_strategy

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
