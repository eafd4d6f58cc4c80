"""Which underlying each symbol is exposure to (data, not branches).

Net exposure is summed per underlying: ``BTC``, ``ETH``, ``USD``. LSTs count at their rate
(weETH x eETH-per-weETH), AAVE tokens at the amount of their reserve, perps by their base.
"""

from __future__ import annotations

from factory.positions import PositionKey, PositionType

__all__ = ["RATE_TOKENS", "UNDERLYING", "reserve_symbol", "underlying_of"]

UNDERLYING: dict[str, str] = {
    "BTC": "BTC",
    "WBTC": "BTC",
    "ETH": "ETH",
    "WETH": "ETH",
    "stETH": "ETH",
    "eETH": "ETH",
    "weETH": "ETH",
    "wstETH": "ETH",
    "USDT": "USD",
    "USDC": "USD",
    "USD": "USD",
    "DAI": "USD",
}

# Tokens worth a drifting rate of their underlying (weETH: eETH per weETH; wstETH: stETH per
# wstETH). Their exposure needs the rate a venue read; without one it is unknown, never 1.0.
RATE_TOKENS: frozenset[str] = frozenset({"weETH", "wstETH"})

_QUOTES = ("USDT", "USDC", "USD")


def reserve_symbol(key: PositionKey) -> str:
    """Return the token a key holds: ``aWETH`` -> ``WETH``, ``debtUSDT`` -> ``USDT``,
    ``BTCUSDT`` (perp) -> ``BTC``."""
    sym = key.symbol
    t = key.type
    if t == PositionType.aToken:
        return sym[1:]
    if t == PositionType.debtToken:
        return sym[4:]
    if t == PositionType.Perp:
        for q in _QUOTES:
            if sym.endswith(q):
                return sym[: -len(q)]
    return sym


_UNDERLYING_OF: dict[str, str] = {}


def underlying_of(key: PositionKey) -> str:
    """Return the underlying asset a key is exposure to (the token itself when unknown)."""
    got = _UNDERLYING_OF.get(key)
    if got is None:
        token = reserve_symbol(key)
        got = UNDERLYING.get(token, token)
        if len(_UNDERLYING_OF) < 100_000:
            _UNDERLYING_OF[key] = got
    return got
