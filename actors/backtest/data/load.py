"""Load market history into `MarketData`: the documented layout, the raw shared files, synthetic.

The documented layout (docs/DATA.md) is one directory per kind, one file per instrument, each a
CSV (optionally gzipped) or a Parquet file with a ``timestamp`` column (ISO-8601 UTC or epoch
seconds/milliseconds) and the kind's value columns::

    DIR/spot/<ASSET>.csv          timestamp, price                  (USDT per unit)
    DIR/perp/<UNDERLYING>.csv     timestamp, mark                   (USDT)
    DIR/funding/<UNDERLYING>.csv  timestamp, rate                   (per settlement, fraction)
    DIR/aave/<RESERVE>.csv        timestamp, liquidity_index, variable_borrow_index
                                  [, liquidity_rate, variable_borrow_rate]   (annual fractions)
    DIR/lst/<TOKEN>.csv           timestamp, rate                   (underlying per token)

`load_market` also accepts the raw files of the shared data folder (detected by their names, see
`actors.backtest.data.raw`) and ``synthetic[:SEED]`` (`actors.backtest.data.synthetic`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actors.backtest.data.market import DataError, DataPolicy, MarketData
from actors.backtest.data.tables import (
    KINDS,
    MANIFEST,
    assemble,
    load_schema_dir,
    read_table,
    to_epoch_seconds,
)
from factory.models import FiniteFrozenModel

__all__ = [
    "KINDS",
    "MANIFEST",
    "DataManifest",
    "assemble",
    "load_market",
    "load_schema_dir",
    "read_manifest",
    "read_table",
    "to_epoch_seconds",
    "write_schema_dir",
]


class DataManifest(FiniteFrozenModel):
    """A data folder's ``manifest.yaml``: facts about the folder the file names cannot carry.

    Attributes:
        fallback_venues: venues whose series stand in, in this order, for a leg on a venue
            the folder has no series of (a perp leg on okx reading binance's funding and marks).
            Empty: such a leg is refused.
        note: free text, why the fallback is acceptable for this data.
    """

    fallback_venues: tuple[str, ...] = ()
    note: str = ""


def read_manifest(directory: Path) -> DataPolicy:
    """Read a data folder's ``manifest.yaml`` (its fallback venues); none gives the default.

    Raises:
        ConfigError: the manifest has an unknown field or a value of the wrong type.
    """
    from factory.config import read_mapping, validate

    path = directory / MANIFEST
    if not path.is_file():
        return DataPolicy()
    manifest: DataManifest = validate(read_mapping(path), DataManifest, str(path))
    return DataPolicy(fallback_venues=tuple(manifest.fallback_venues),
                      fallback_origin=str(path.name))


def load_market(
    path: str | Path, fill_limit_h: int = 24, index_limit_h: int = 72
) -> MarketData:
    """Load market data from the documented layout, the raw shared files or ``synthetic[:SEED]``.

    Raises:
        DataError: the directory does not exist or holds neither layout; a file is malformed.
    """
    text = str(path)
    if text == "synthetic" or text.startswith("synthetic:"):
        from actors.backtest.data.synthetic import synthetic_market

        seed = text.partition(":")[2] or "0"
        if not seed.isdigit():
            raise DataError(f"{text}: the synthetic seed must be an integer (synthetic:7)")
        return synthetic_market(seed=int(seed))
    directory = Path(path)
    if not directory.exists():
        raise DataError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory (--data expects a directory)")
    if any((directory / kind).is_dir() for kind in KINDS):
        tables, notes = load_schema_dir(directory)
    else:
        from actors.backtest.data.raw import load_raw_tables

        tables, notes = load_raw_tables(directory)
    market = assemble(tables, str(directory), notes, fill_limit_h, index_limit_h)
    market.policy = read_manifest(directory)
    return market


def write_schema_dir(
    tables: dict[tuple[str, str], Any], directory: Path, fmt: str = "csv"
) -> list[Path]:
    """Write normalised tables in the documented layout (``csv`` or ``parquet``)."""
    import pandas as pd

    if fmt not in ("csv", "parquet"):
        raise DataError(f"unknown format {fmt!r} (csv or parquet)")
    written = []
    for (kind, name), df in sorted(tables.items()):
        sub = directory / kind
        sub.mkdir(parents=True, exist_ok=True)
        out = df.copy()
        out["timestamp"] = pd.to_datetime(out["timestamp"], unit="s", utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        path = sub / f"{name}.{fmt}"
        if fmt == "csv":
            out.to_csv(path, index=False, float_format="%.17g")
        else:
            out.to_parquet(path, index=False)
        written.append(path)
    return written
