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
there would look one hour ahead. Every series keeps its venue: where two exchanges give the same
kind for one asset, the first of binance, bybit, okx becomes ``<kind>/<BASE>`` and the others
``<kind>/<BASE>@<venue>``, so each leg of a backtest reads its own venue's series and a stand-in
from another venue is always named (`actors.backtest.data.provenance`). Other files are ignored and
listed in the notes; ``manifest.yaml`` is the folder's manifest (`actors.backtest.data.load`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from actors.backtest.data.market import DataError
from actors.backtest.data.tables import MANIFEST, normalise_table, read_table

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


def load_raw_tables(directory: Path) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Read the recognised raw files; return schema tables ``{(kind, name): DataFrame}``, notes.

    Raises:
        DataError: nothing recognised, or a recognised file lacks a needed column.
    """
    found: dict[tuple[str, str], list[tuple[int, str | None, Path, dict[str, str]]]] = {}
    notes: list[str] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name == MANIFEST:
            continue
        hit = _match(path.name)
        if hit is None:
            notes.append(f"{path.name}: ignored (not a recognised market file)")
            continue
        kind, name, ex, mapping = hit
        found.setdefault((kind, name), []).append((_EXCHANGE_RANK.get(ex, 3), ex, path, mapping))
    if not found:
        raise DataError(
            f"{directory}: no market data found: expected the docs/DATA.md layout "
            "(spot/, perp/, funding/, aave/, lst/) or raw files such as "
            "binance_BTCUSDT_1h_<from>_<to>.csv.gz"
        )
    tables = {}
    for (kind, name), files in sorted(found.items()):
        files.sort(key=lambda f: (f[0], f[2].name))
        seen: set[str | None] = set()
        for k, (_, ex, path, mapping) in enumerate(files):
            if ex in seen:
                raise DataError(f"{path.name}: a second {ex} file for {kind}/{name} "
                                f"(besides {files[k - 1][2].name}); keep one")
            seen.add(ex)
            df = read_table(path)
            absent = [c for c in mapping if c not in df.columns and c not in _OPTIONAL]
            if absent:
                raise DataError(f"{path}: missing column(s) {', '.join(absent)} for {kind}/{name}")
            renamed = df[[c for c in mapping if c in df.columns]].rename(columns=mapping)
            table = normalise_table(renamed, kind, path.name, notes)
            symbol = f"{name}USDT" if ex else name
            table.attrs.update(file=path.name, venue=ex, symbol=symbol)
            tables[(kind, name if k == 0 else f"{name}@{ex}")] = table
    return tables, notes


_OPTIONAL = {"currentLiquidityRate", "currentVariableBorrowRate"}
