"""Market tables in the documented layout: read, normalise and align them into `MarketData`.

The layout (docs/DATA.md) is one directory per kind, one file per instrument; `KINDS` names each
kind's value columns. `load_schema_dir` reads such a directory, `assemble` aligns tables from any
source (the layout, the raw shared files of `actors.backtest.data.raw`, `actors.backtest.data.synthetic`)
on one hourly grid. `actors.backtest.data.load.load_market` picks the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from actors.backtest.data.align import align_events, align_index, align_prices
from actors.backtest.data.market import HOUR_S, DataError, MarketData, SeriesInfo

__all__ = [
    "KINDS",
    "MANIFEST",
    "assemble",
    "load_schema_dir",
    "normalise_table",
    "read_table",
    "to_epoch_seconds",
]

#: value columns per kind (required, optional)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "spot": (("price",), ()),
    "perp": (("mark",), ()),
    "funding": (("rate",), ()),
    "aave": (
        ("liquidity_index", "variable_borrow_index"),
        ("liquidity_rate", "variable_borrow_rate"),
    ),
    "lst": (("rate",), ()),
}
_SUFFIXES = (".csv", ".csv.gz", ".parquet")
#: the optional file of a data folder that names its fallback venues (docs/DATA.md)
MANIFEST = "manifest.yaml"


def read_table(path: Path):
    """Read a CSV (``#`` comment lines allowed, gzip by suffix) or Parquet file into a DataFrame."""
    import pandas as pd

    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, comment="#")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types for unreadable files
        raise DataError(f"{path}: cannot read: {type(exc).__name__}: {exc}") from None


def to_epoch_seconds(values, where: str) -> np.ndarray:
    """Convert a timestamp column (ISO strings, datetimes, epoch s or ms) to int64 seconds."""
    import pandas as pd

    s = pd.Series(values)
    try:
        if pd.api.types.is_numeric_dtype(s):
            v = s.astype("float64").to_numpy()
            return np.where(v > 1e11, v / 1000.0, v).astype(np.int64)
        dt = pd.to_datetime(s, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: unreadable timestamps: {exc}") from None
    return dt.dt.as_unit("s").astype("int64").to_numpy()


def _stem(path: Path) -> str:
    name = path.name
    for suf in _SUFFIXES:
        if name.endswith(suf):
            return name[: -len(suf)]
    return path.stem


def normalise_table(df, kind: str, where: str, notes: list[str]):
    """Check columns, convert timestamps, sort and deal with rows that are not clean.

    Identical duplicate rows are dropped (counted); rows sharing an instant with different
    values are *conflicts*: the first is kept for the record and the instant's value is left
    unknown (NaN), so no row silently wins. Rows whose first value column is missing or not a
    number are *bad*. Counts and instants travel in ``DataFrame.attrs`` (``duplicates``,
    ``conflicts``, ``bad``, ``file``) to `assemble`, which turns them into `SeriesInfo`.
    """
    import pandas as pd

    required, optional = KINDS[kind]
    missing = [c for c in ("timestamp", *required) if c not in df.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(a {kind} file needs timestamp, {', '.join(required)}; see docs/DATA.md)"
        )
    cols = ["timestamp", *required, *[c for c in optional if c in df.columns]]
    out = pd.DataFrame({"timestamp": to_epoch_seconds(df["timestamp"].to_numpy(), where)})
    raw_first = df[required[0]].astype(str).to_numpy()
    for c in cols[1:]:
        out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64")
    out["_raw"] = raw_first
    out = out.sort_values("timestamp", kind="stable")
    values = cols[1:]
    duplicates = 0
    conflicts: list[tuple[int, str]] = []
    if out["timestamp"].duplicated().any():
        same = out.duplicated(subset=cols, keep="first")
        duplicates = int(same.sum())
        out = out[~same]
        clash = out["timestamp"].duplicated(keep=False)
        if clash.any():
            for ts, rows in out[clash].groupby("timestamp", sort=True):
                conflicts.append((int(ts), " / ".join(rows["_raw"].tolist())))
            out = out[~out["timestamp"].duplicated(keep="first")].copy()
            out.loc[out["timestamp"].isin([t for t, _ in conflicts]), values] = np.nan
        notes.append(
            f"{where}: {duplicates} duplicate row(s) dropped (identical)"
            + (f"; {len(conflicts)} instant(s) with conflicting rows left unknown"
               if conflicts else "")
        )
    unusable = out[values[0]].isna().to_numpy().copy()
    if conflicts:
        unusable &= ~out["timestamp"].isin([t for t, _ in conflicts]).to_numpy()
    bad = [(int(t), str(r)) for t, r in zip(out["timestamp"][unusable], out["_raw"][unusable])]
    out = out.drop(columns="_raw").reset_index(drop=True)
    out.attrs.update(file=where, duplicates=duplicates, conflicts=tuple(conflicts), bad=tuple(bad))
    return out


def load_schema_dir(directory: Path) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Read every file of the documented layout; return ``{(kind, name): DataFrame}`` and notes."""
    tables: dict[tuple[str, str], Any] = {}
    notes: list[str] = []
    for kind in KINDS:
        sub = directory / kind
        if not sub.is_dir():
            continue
        for path in sorted(sub.iterdir()):
            if not path.name.endswith(_SUFFIXES):
                notes.append(f"{path}: ignored (not .csv, .csv.gz or .parquet)")
                continue
            name = _stem(path)
            if (kind, name) in tables:
                raise DataError(f"{path}: a second file for {kind}/{name}")
            table = normalise_table(read_table(path), kind, str(path), notes)
            asset, _, venue = name.partition("@")  # BTC@bybit: bybit's series of BTC
            table.attrs.update(file=f"{kind}/{path.name}", venue=venue or None, symbol=asset)
            tables[(kind, name)] = table
    if not tables:
        raise DataError(
            f"{directory}: no market files under {', '.join(KINDS)}/ (see docs/DATA.md)"
        )
    return tables, notes


def assemble(
    tables: dict[tuple[str, str], Any],
    source: str,
    notes: list[str] | None = None,
    fill_limit_h: int = 24,
    index_limit_h: int = 72,
    step_s: int = HOUR_S,
) -> MarketData:
    """Align normalised tables (see `load_schema_dir`) on one hourly grid.

    Args:
        fill_limit_h: longest gap (hours) in a price or LST rate series that is forward-filled;
            the real Binance files miss 23 consecutive hours about every 41 days.
        index_limit_h: longest spacing (hours) between AAVE index observations to bridge.
    """
    if not tables:
        raise DataError(f"{source}: no market data")
    lo = min(int(df["timestamp"].min()) for df in tables.values() if len(df))
    hi = max(int(df["timestamp"].max()) for df in tables.values() if len(df))
    t0, t1 = lo - lo % step_s, hi - hi % step_s
    grid = np.arange(t0, t1 + step_s, step_s, dtype=np.int64)
    fill = max(0, fill_limit_h * HOUR_S // step_s)
    ilimit = max(1, index_limit_h * HOUR_S // step_s)
    columns: dict[str, np.ndarray] = {}
    filled: dict[str, np.ndarray] = {}
    info: dict[str, SeriesInfo] = {}
    gaps = []
    for (kind, name), df in sorted(tables.items()):
        ts = df["timestamp"].to_numpy()
        a = df.attrs
        asset = a.get("symbol") or name.partition("@")[0]
        venue = a.get("venue") or (name.partition("@")[2] or None)
        spacing = 0
        if kind == "funding" and len(ts) > 1:
            spacing = int(np.median(np.diff(np.sort(ts[~np.isnan(df["rate"].to_numpy())]))))
        meta = SeriesInfo(
            file=a.get("file", source), venue=venue, symbol=asset,
            duplicates=int(a.get("duplicates", 0)), conflicts=tuple(a.get("conflicts", ())),
            bad=tuple(a.get("bad", ())), interval_s=spacing,
        )
        if kind in ("spot", "perp", "lst"):
            value = {"spot": "price", "perp": "mark", "lst": "rate"}[kind]
            col, mask, found = align_prices(
                f"{kind}.{name}", ts, df[value].to_numpy(), grid, step_s, fill
            )
            columns[f"{kind}.{name}"] = col
            info[f"{kind}.{name}"] = meta
            if mask.any():
                filled[f"{kind}.{name}"] = mask
        elif kind == "funding":
            col, found = align_events(f"funding.{name}", ts, df["rate"].to_numpy(), grid, step_s)
            columns[f"funding.{name}"] = col
            info[f"funding.{name}"] = meta
        else:
            found = []
            for index, rate, compounded in (
                ("liquidity_index", "liquidity_rate", False),
                ("variable_borrow_index", "variable_borrow_rate", True),
            ):
                short = "liquidity_index" if index == "liquidity_index" else "borrow_index"
                col, g = align_index(
                    f"aave.{name}.{short}", ts, df[index].to_numpy(), grid, step_s, ilimit,
                    rate=df[rate].to_numpy() if rate in df.columns else None, compounded=compounded,
                )
                columns[f"aave.{name}.{short}"] = col
                info[f"aave.{name}.{short}"] = meta
                found += g
        gaps.extend(found)
    return MarketData(
        grid, columns, gaps=gaps, source=source, step_s=step_s, notes=list(notes or []),
        filled=filled, info=info,
    )
