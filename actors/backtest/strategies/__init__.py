"""Backtest strategies, one module per strategy family, looked up by ``strategy.family``.

Importing the package imports every strategy module, and each registers its family in
`actors.backtest.strategies.registry`; `make_strategy` then finds any of them.
"""

from actors.backtest.strategies import basis, hedged, lending, staking
from actors.backtest.strategies.registry import families, make_strategy

__all__ = ["basis", "families", "hedged", "lending", "make_strategy", "staking"]
