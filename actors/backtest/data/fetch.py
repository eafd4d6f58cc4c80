"""``basis data fetch``: download CEX history through ccxt into the documented schema.

For each base asset: hourly spot candles (``spot/<BASE>``, the candle's open at its timestamp),
hourly perp mark-price candles when the exchange has them, else trade candles
(``perp/<BASE>``), and the funding rate history (``funding/<BASE>``). AAVE indices and LST
rates come from chain data, not from a CEX: add those files yourself (docs/DATA.md).

Network failures become one `DataFetchError` line naming the exchange and what to check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.backtest.data.load import write_schema_dir
from actors.backtest.data.market import DataError, parse_instant
from factory.urls import reroot_urls

__all__ = ["DataFetchError", "fetch_tables", "fetch_to_dir", "make_exchange"]

HOUR_MS = 3_600_000


class DataFetchError(DataError):
    """The exchange could not be reached or refused the request."""


def make_exchange(exchange_id: str, api_base_url: str | None = None, timeout_s: float = 10.0):
    """Build a public (keyless) synchronous ccxt client, optionally re-rooted at a base URL."""
    import ccxt

    cls = getattr(ccxt, exchange_id, None)
    if cls is None:
        raise DataFetchError(f"unknown exchange {exchange_id!r} (a ccxt id: binance, bybit, okx)")
    ex = cls({"enableRateLimit": True, "timeout": int(timeout_s * 1000)})
    if exchange_id == "binance":
        markets = ex.options.get("fetchMarkets", {})
        ex.options["fetchMarkets"] = {**markets, "types": ["spot", "linear"]}
    if api_base_url:
        ex.urls["api"] = reroot_urls(ex.urls["api"], api_base_url)
    return ex


def _translate(exc: Exception, exchange_id: str, what: str) -> DataFetchError:
    import ccxt

    if isinstance(exc, ccxt.NetworkError):
        return DataFetchError(
            f"{exchange_id}: cannot reach the exchange while fetching {what} "
            f"({type(exc).__name__}); check the network, a proxy or --api-base-url"
        )
    if isinstance(exc, ccxt.BadSymbol):
        return DataFetchError(f"{exchange_id}: {what}: symbol not listed on the exchange")
    return DataFetchError(f"{exchange_id}: {what}: {type(exc).__name__}: {str(exc)[:200]}")


def _paged(fetch: Callable[[int], list], start_ms: int, end_ms: int, stamp: Callable[[Any], int]):
    """Collect pages from ``fetch(since)`` until ``end_ms`` or an empty/stalled page."""
    rows: list[Any] = []
    since = start_ms
    while since <= end_ms:
        page = fetch(since)
        if not page:
            break
        rows.extend(r for r in page if start_ms <= stamp(r) <= end_ms)
        last = stamp(page[-1])
        if last < since:
            break
        since = last + 1
    return rows


def fetch_tables(
    exchange: Any,
    bases: list[str],
    start: str,
    end: str,
    quote: str = "USDT",
    limit: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], Any]:
    """Fetch spot, perp and funding history for each base into schema tables.

    Args:
        exchange: a ccxt exchange (or any object with ``fetch_ohlcv`` and
            ``fetch_funding_rate_history`` and ``has``/``id``).
        bases: base assets, e.g. ``["BTC", "ETH"]``.
        start, end: dates or ISO instants (inclusive).

    Raises:
        DataFetchError: the exchange could not be reached or refused a request.
    """
    import pandas as pd

    t0, t1 = parse_instant(start), parse_instant(end)
    if t0 is None or t1 is None or t0 >= t1:
        raise DataError(f"bad date range: {start} .. {end}")
    s_ms, e_ms = t0 * 1000, t1 * 1000
    ex_id = getattr(exchange, "id", "exchange")
    mark_candles = bool(getattr(exchange, "has", {}).get("fetchMarkOHLCV"))
    tables: dict[tuple[str, str], Any] = {}
    for base in bases:
        spot_sym, perp_sym = f"{base}/{quote}", f"{base}/{quote}:{quote}"
        jobs = [
            ("spot", spot_sym,
             lambda since, s=spot_sym: exchange.fetch_ohlcv(s, "1h", since, limit)),
            ("perp", perp_sym, lambda since, s=perp_sym: exchange.fetch_ohlcv(
                s, "1h", since, limit, {"price": "mark"} if mark_candles else {})),
        ]
        for kind, sym, fetch in jobs:
            if progress:
                progress(f"{ex_id} {sym} {kind} candles")
            try:
                rows = _paged(fetch, s_ms, e_ms, lambda r: int(r[0]))
            except Exception as exc:  # noqa: BLE001 - ccxt raises its own tree; translated once here
                raise _translate(exc, ex_id, f"{sym} candles") from None
            value = "price" if kind == "spot" else "mark"
            tables[(kind, base)] = pd.DataFrame(
                {"timestamp": [int(r[0]) // 1000 for r in rows],
                 value: [float(r[1]) for r in rows]}
            )
        if progress:
            progress(f"{ex_id} {perp_sym} funding")
        try:
            rows = _paged(
                lambda since: exchange.fetch_funding_rate_history(
                    perp_sym, since, limit  # noqa: B023 - called before the loop moves on
                ),
                s_ms, e_ms, lambda r: int(r["timestamp"]),
            )
        except Exception as exc:  # noqa: BLE001 - ccxt raises its own tree; translated once here
            raise _translate(exc, ex_id, f"{perp_sym} funding") from None
        tables[("funding", base)] = pd.DataFrame(
            {"timestamp": [int(r["timestamp"]) // 1000 for r in rows],
             "rate": [float(r["fundingRate"]) for r in rows]}
        )
    return tables


def fetch_to_dir(
    exchange_id: str,
    bases: list[str],
    start: str,
    end: str,
    out: Path,
    fmt: str = "csv",
    api_base_url: str | None = None,
    exchange: Any = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fetch and write the tables under ``out`` in the documented layout; return the files."""
    ex = exchange or make_exchange(exchange_id, api_base_url)
    tables = fetch_tables(ex, bases, start, end, progress=progress)
    return write_schema_dir(tables, Path(out), fmt)
