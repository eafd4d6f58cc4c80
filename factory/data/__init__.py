"""The real data that ships with the project (sources and licences: docs/DATA.md).

- ``market/``: public hourly spot, perp and 8-hourly funding (Binance, Bybit), AAVE v3 daily
  indices and the weETH/ETH oracle rate, 2024-01 to 2025-09, gzipped CSV in their raw names
  (`actors.backtest.data.raw` reads them). ``basis backtest`` uses them when no ``--data`` is given.
- ``ccxt-recorded/``: real exchange response bodies recorded by the ccxt project (MIT), with
  ccxt's parsed results, for the mapping tests.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CCXT_RECORDED_DIR", "MARKET_DIR"]

_HERE = Path(__file__).resolve().parent

#: The shipped market history (raw file names, see docs/DATA.md).
MARKET_DIR = _HERE / "market"
#: The shipped recorded exchange responses (ccxt's static response tests, MIT).
CCXT_RECORDED_DIR = _HERE / "ccxt-recorded"
