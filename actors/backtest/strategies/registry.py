"""The backtest strategies by family: a mode's ``strategy.family`` picks the class.

Each strategy module registers the family it implements with `register`; the package
(`actors.backtest.strategies`) imports every strategy module, so the table is complete as soon as
anything in the package is imported. The families a config may name are
`factory.config.StrategyFamily`; a mode's name never chooses its strategy, so renaming a mode
runs the same backtest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, get_args

from factory.config import ModeConfig, StrategyFamily
from factory.errors import ConfigError

if TYPE_CHECKING:  # the strategies import this module to register: a type-only import
    from actors.backtest.strategies.base import Strategy

__all__ = ["families", "make_strategy", "register", "strategy_class"]

_StrategyT = TypeVar("_StrategyT", bound="type[Strategy]")

_BY_FAMILY: dict[str, type[Strategy]] = {}


def register(family: str) -> Callable[[_StrategyT], _StrategyT]:
    """Return a class decorator that registers a strategy class for ``family``.

    Raises:
        ValueError: the family is not one `factory.config.StrategyFamily` allows, or it is
            already registered.
    """
    if family not in get_args(StrategyFamily):
        raise ValueError(f"strategy family {family!r} is not in factory.config.StrategyFamily "
                         f"({', '.join(get_args(StrategyFamily))})")

    def add(cls: _StrategyT) -> _StrategyT:
        if family in _BY_FAMILY:
            raise ValueError(f"strategy family {family!r} is registered twice: "
                             f"{_BY_FAMILY[family].__name__} and {cls.__name__}")
        _BY_FAMILY[family] = cls
        return cls

    return add


def families() -> list[str]:
    """Return the registered strategy families, sorted."""
    return sorted(_BY_FAMILY)


def strategy_class(family: str) -> type[Strategy]:
    """Return the strategy class registered for ``family``.

    Raises:
        ConfigError: no strategy is registered for it (naming the known families).
    """
    cls = _BY_FAMILY.get(family)
    if cls is None:
        raise ConfigError(f"strategy.family: no backtest strategy for {family!r} "
                          f"(known: {', '.join(families())})")
    return cls


def make_strategy(config: ModeConfig, step_s: int = 3600) -> Strategy:
    """Return the strategy of a mode, chosen by its ``strategy.family``.

    Args:
        config: the mode config.
        step_s: the data grid step (seconds).

    Raises:
        ConfigError: the mode has no strategy section, its family has no strategy, or its
            parameters do not fit the strategy.
    """
    if config.strategy is None:
        raise ConfigError(f"mode {config.mode!r}: strategy.family: a backtest needs a strategy "
                          f"section naming its family (known: {', '.join(families())})")
    try:
        cls = strategy_class(config.strategy.family)
    except ConfigError as exc:
        raise ConfigError(f"mode {config.mode!r}: {exc}") from None
    return cls(config, step_s)
