"""Map the raw files of the shared data folder (data/README.md) into the documented schema.

Files are recognised by name, so a folder with other symbols in the same naming works too:

==================================================  =========================  =================
file name                                           schema                     columns used
==================================================  =========================  =================
``<ex>_<BASE>USDT_1h_*`` / ``<ex>_<BASE>USDT_spot_1h_*``  ``spot/<BASE>``     timestamp, open
``<ex>_<BASE>USDT_perp_1h_*``                       ``perp/<BASE>``            timestamp, open
``<ex>_<BASE>USDT_funding_rates_*``                 ``funding/<BASE>``         funding_timestamp,
                                                                               funding_rate
``aave_v3_*_<RESERVE>_rates_*``                     ``aave/<RESERVE>``         targetDate,
                                                    liquidityIndex, variableBorrowIndex,
                                                    currentLiquidityRate, currentVariableBorrowRate
``<TOKEN>_ETH_oracle_*``                            ``lst/<TOKEN>``            timestamp,
                                                                               oracle_price_eth
==================================================  =========================  =================

A candle's ``open`` is the price at its timestamp (the candle's first instant); using the close
there would look one hour ahead. Where two exchanges give spot for one asset, binance wins, then
bybit, then okx (recorded in the notes). Other files are ignored and listed in the notes.
"""

from __future__ import annotations

import re
from pathlib import Path

from actors.backtest.data import _normalise, read_table
from actors.backtest.market import DataError

__all__ = ["RAW_PATTERNS", "is_raw_dir", "load_raw_tables"]

_EX = r"(?P<ex>binance|bybit|okx)"
RAW_PATTERNS: list[tuple[re.Pattern[str], str, dict[str, str]]] = [
    (re.compile(_EX + r"_(?P<name>[A-Z0-9]+)USDT_perp_1h_"), "perp",
     {"timestamp": "timestamp", "open": "mark"}),
    (re.compile(_EX + r"_(?P<name>[A-Z0-9]+)USDT_funding_rates_"), "funding",
     {"funding_timestamp": "timestamp", "funding_rate": "rate"}),
    (re.compile(_EX + r"_(?P<name>[A-Z0-9]+)USDT_(?:spot_)?1h_"), "spot",
     {"timestamp": "timestamp", "open": "price"}),
    (re.compile(r"aave_v3_.*_(?P<name>[A-Za-z0-9]+)_rates_"), "aave",
     {"targetDate": "timestamp", "liquidityIndex": "liquidity_index",
      "variableBorrowIndex": "variable_borrow_index", "currentLiquidityRate": "liquidity_rate",
      "currentVariableBorrowRate": "variable_borrow_rate"}),
    (re.compile(r"(?P<name>[A-Za-z0-9]+)_ETH_oracle_"), "lst",
     {"timestamp": "timestamp", "oracle_price_eth": "rate"}),
]
_EXCHANGE_RANK = {"binance": 0, "bybit": 1, "okx": 2, None: 3}


def _match(name: str):
    for pattern, kind, mapping in RAW_PATTERNS:
        m = pattern.match(name)
        if m:
            return kind, m.group("name"), m.groupdict().get("ex"), mapping
    return None


def is_raw_dir(directory: Path) -> bool:
    """Return True when at least one file in ``directory`` has a recognised raw name."""
    return any(p.is_file() and _match(p.name) for p in directory.iterdir())


def load_raw_tables(directory: Path) -> tuple[dict[tuple[str, str], object], list[str]]:
    """Read the recognised raw files; return schema tables ``{(kind, name): DataFrame}``, notes.

    Raises:
        DataError: nothing recognised, or a recognised file lacks a needed column.
    """
    chosen: dict[tuple[str, str], tuple[int, Path, dict[str, str]]] = {}
    notes: list[str] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        hit = _match(path.name)
        if hit is None:
            notes.append(f"{path.name}: ignored (not a recognised market file)")
            continue
        kind, name, ex, mapping = hit
        rank = _EXCHANGE_RANK.get(ex, 3)
        prev = chosen.get((kind, name))
        if prev is not None:
            keep, drop = (prev[1], path) if prev[0] <= rank else (path, prev[1])
            notes.append(f"{kind}/{name}: using {keep.name}, not {drop.name}")
            if prev[0] <= rank:
                continue
        chosen[(kind, name)] = (rank, path, mapping)
    if not chosen:
        raise DataError(
            f"{directory}: no market data found: expected the docs/DATA.md layout "
            "(spot/, perp/, funding/, aave/, lst/) or raw files such as "
            "binance_BTCUSDT_1h_<from>_<to>.csv.gz"
        )
    tables = {}
    for (kind, name), (_, path, mapping) in sorted(chosen.items()):
        df = read_table(path)
        absent = [c for c in mapping if c not in df.columns and c not in _OPTIONAL]
        if absent:
            raise DataError(f"{path}: missing column(s) {', '.join(absent)} for {kind}/{name}")
        renamed = df[[c for c in mapping if c in df.columns]].rename(columns=mapping)
        tables[(kind, name)] = _normalise(renamed, kind, path.name, notes)
    return tables, notes


_OPTIONAL = {"currentLiquidityRate", "currentVariableBorrowRate"}
