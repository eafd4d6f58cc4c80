"""MarketData: market history as aligned numpy arrays on one regular time grid.

Numpy only (no pandas), so it is cheap to import in Ray workers and travels through the object
store zero-copy. Loaders (`actors.backtest.data.load`) build it; the simulator reads it.

Columns (docs/DATA.md), all float64 over the grid, NaN where unknown:

==============================  ===============================================================
``spot.<ASSET>``                spot price in USDT at the step's instant (forward-filled a
                                limited number of steps over gaps)
``perp.<UNDERLYING>``           perpetual mark price in USDT (same fill rule)
``funding.<UNDERLYING>``        funding rate of the settlement at that step; NaN at every other
                                step (never filled, never interpolated)
``aave.<RESERVE>.liquidity_index``   AAVE v3 liquidity index (log-linear between observations)
``aave.<RESERVE>.borrow_index``      AAVE v3 variable borrow index (same)
``lst.<TOKEN>``                 LST rate in its underlying (weETH -> eETH per weETH)
==============================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from factory.errors import BasisError

__all__ = ["DataError", "DataPolicy", "Gap", "MarketData", "SeriesInfo", "iso", "parse_instant"]

HOUR_S = 3600


class DataError(BasisError):
    """Market data is missing, malformed or does not cover what a backtest needs."""


@dataclass(frozen=True)
class Gap:
    """A run of grid steps a source did not report.

    Attributes:
        column: the market column (``spot.BTC``).
        start: first missing instant (epoch seconds).
        steps: how many consecutive steps were missing.
        filled: True when the gap was within the fill limit and forward-filled.
    """

    column: str
    start: int
    steps: int
    filled: bool

    def describe(self) -> str:
        how = "forward-filled" if self.filled else "left unknown (longer than the fill limit)"
        return f"{self.column}: {self.steps} step(s) missing from {iso(self.start)}, {how}"


@dataclass(frozen=True)
class SeriesInfo:
    """Where a market column came from and what its file held beyond clean rows.

    Attributes:
        file: the file name (or ``synthetic:7``).
        venue: the exchange the series was recorded on, None when the data does not say.
        symbol: the instrument as the file names it (``BTCUSDT``), or the column's asset.
        duplicates: identical duplicate rows dropped.
        conflicts: ``(instant, "value / value")`` of rows sharing an instant with different
            values; the instant is left unknown.
        bad: ``(instant, raw text)`` of rows whose value is missing or not a number.
        interval_s: the usual spacing of a funding series' settlements (0 for other kinds).
    """

    file: str = ""
    venue: str | None = None
    symbol: str = ""
    duplicates: int = 0
    conflicts: tuple[tuple[int, str], ...] = ()
    bad: tuple[tuple[int, str], ...] = ()
    interval_s: int = 0

    def label(self) -> str:
        """Return ``binance BTCUSDT (file)`` or the file alone when the venue is not known."""
        head = " ".join(x for x in (self.venue, self.symbol) if x)
        return f"{head} ({self.file})" if head else self.file


@dataclass(frozen=True)
class DataPolicy:
    """How strictly a backtest treats the data (docs/DATA.md, "Refused by default").

    Attributes:
        allow_gaps: run over missing funding settlements, unusable rates and conflicting
            duplicates, booking them as unknown (counted in ``data_quality``) instead of refusing.
        allow_implausible: accept funding rates beyond the plausibility bounds.
        fallback_venues: venues whose series stand in, in this order, for a leg whose own venue
            has none (from ``--fallback-venue`` or the data folder's ``manifest.yaml``).
        fallback_origin: where ``fallback_venues`` was set, named in ``data_quality``.
    """

    allow_gaps: bool = False
    allow_implausible: bool = False
    fallback_venues: tuple[str, ...] = ()
    fallback_origin: str = ""


def iso(ts: float) -> str:
    """Return an epoch-seconds instant as ISO-8601 UTC (``2024-01-01T00:00:00Z``)."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str | float | datetime | None) -> int | None:
    """Read a date or instant (``2024-01-01``, ISO with time, epoch seconds) as epoch seconds.

    A date alone means 00:00 UTC of that day.

    Raises:
        DataError: the text is not a date or an instant.
    """
    if text is None:
        return None
    if isinstance(text, datetime):
        dt = text if text.tzinfo else text.replace(tzinfo=UTC)
        return int(dt.timestamp())
    if isinstance(text, (int, float)):
        return int(text)
    raw = str(text).strip()
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))  # noqa: FURB162 - also "2024-01-01Z"
    except ValueError:
        raise DataError(
            f"{raw!r} is not a date (expected YYYY-MM-DD or an ISO-8601 time)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


@dataclass
class MarketData:
    """Aligned market columns over a regular grid.

    Attributes:
        times: int64 epoch seconds, strictly increasing by ``step_s``.
        columns: name -> float64 array of the grid's length (NaN = unknown).
        gaps: the gaps found while aligning sources (filled or not).
        source: where the data came from (a path, ``synthetic:7``...).
        step_s: grid step in seconds.
        notes: other facts found while loading (duplicate rows dropped, files ignored).
        filled: column -> bool mask of the steps that were forward-filled over a gap.
        info: column -> `SeriesInfo` (provenance and the rows its file held beyond clean ones).
        policy: how strictly backtests on this data treat gaps, rates and fallbacks.
    """

    times: np.ndarray
    columns: dict[str, np.ndarray]
    gaps: list[Gap] = field(default_factory=list)
    source: str = ""
    step_s: int = HOUR_S
    notes: list[str] = field(default_factory=list)
    filled: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, SeriesInfo] = field(default_factory=dict)
    policy: DataPolicy = field(default_factory=DataPolicy)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.int64)
        n = len(self.times)
        if n and np.any(np.diff(self.times) != self.step_s):
            raise DataError(f"{self.source}: the time grid must be regular ({self.step_s} s)")
        for name, col in self.columns.items():
            if len(col) != n:
                raise DataError(f"{self.source}: column {name} has {len(col)} rows, grid has {n}")
        for name, mask in self.filled.items():
            if name not in self.columns or len(mask) != n:
                raise DataError(f"{self.source}: fill mask {name} does not match a column")

    def stale_mask(self, columns: list[str], i0: int, i1: int) -> np.ndarray:
        """Return, for steps ``i0..i1``, True where any of ``columns`` was forward-filled."""
        out = np.zeros(i1 - i0 + 1, dtype=bool)
        for c in columns:
            mask = self.filled.get(c)
            if mask is not None:
                out |= mask[i0 : i1 + 1]
        return out

    def __len__(self) -> int:
        return len(self.times)

    def has(self, column: str) -> bool:
        return column in self.columns

    def coverage(self, column: str) -> tuple[int, int] | None:
        """Return the first and last instants where ``column`` is known (None if never)."""
        col = self.columns.get(column)
        if col is None:
            return None
        ok = np.flatnonzero(~np.isnan(col))
        if not len(ok):
            return None
        return int(self.times[ok[0]]), int(self.times[ok[-1]])

    def index_of(self, ts: int) -> int:
        """Return the grid index of an instant on the grid."""
        if not len(self.times):
            raise DataError(f"{self.source}: no data")
        i = (ts - int(self.times[0])) // self.step_s
        if ts % self.step_s != self.times[0] % self.step_s or not 0 <= i < len(self.times):
            raise DataError(f"{iso(ts)} is not on the data grid {self.span()}")
        return int(i)

    def span(self) -> str:
        if not len(self.times):
            return "(empty)"
        return f"{iso(self.times[0])} .. {iso(self.times[-1])}"

    def window(
        self, columns: list[str], start: int | None = None, end: int | None = None
    ) -> tuple[int, int]:
        """Return grid indices ``[i0, i1]`` (inclusive) for a backtest needing ``columns``.

        Without ``start``/``end`` the window is the longest span where every column is known.

        Raises:
            DataError: a missing column, an empty or inverted range, a range outside the data,
                or a step inside the range where a needed column is unknown (a gap longer than
                the fill limit).
        """
        missing = [c for c in columns if c not in self.columns]
        if missing:
            have = ", ".join(sorted(self.columns)) or "nothing"
            raise DataError(f"{self.source}: no {', '.join(missing)} in the data (have: {have})")
        coverage = {c: self.coverage(c) for c in columns}
        spans: dict[str, tuple[int, int]] = {}
        for c, cov in coverage.items():
            if cov is None:
                raise DataError(f"{self.source}: column {c} has no values")
            if c.startswith("funding."):  # covered until just before the next settlement is due
                cov = (cov[0], min(cov[1] + self.interval_of(c) - self.step_s,
                                   int(self.times[-1])))
            spans[c] = cov
        if start is not None and end is not None and start >= end:
            raise DataError(f"bad date range: start {iso(start)} is not before end {iso(end)}")
        lo = max([cov[0] for cov in spans.values()], default=int(self.times[0]))
        hi = min([cov[1] for cov in spans.values()], default=int(self.times[-1]))
        first = start if start is not None else lo
        last = end if end is not None else hi
        for c, (c_lo, c_hi) in spans.items():
            if first < c_lo or last > c_hi:
                raise DataError(
                    f"{c} covers {iso(c_lo)} .. {iso(c_hi)}; the requested range "
                    f"{iso(first)} .. {iso(last)} is outside it"
                )
        if first >= last:
            raise DataError(f"bad date range: {iso(first)} .. {iso(last)} is empty")
        i0 = -(-(first - int(self.times[0])) // self.step_s)  # first grid step >= start
        i1 = (last - int(self.times[0])) // self.step_s
        for c in columns:
            if c.startswith("funding."):
                continue  # NaN is the norm between settlements
            bad = np.flatnonzero(np.isnan(self.columns[c][i0 : i1 + 1]))
            if len(bad):
                at = iso(self.times[i0 + bad[0]])
                raise DataError(
                    f"{c} is unknown at {at} (a gap longer than the fill limit); "
                    "choose a range around it or raise the fill limit"
                )
        return int(i0), int(i1)

    def interval_of(self, column: str) -> int:
        """Return the usual spacing (seconds) of a funding column's settlements."""
        info = self.info.get(column)
        if info is not None and info.interval_s:
            return info.interval_s
        known = self.times[~np.isnan(self.columns[column])]
        if len(known) < 2:
            return self.step_s
        return int(np.median(np.diff(known)))

    def describe(self) -> dict:
        """Return a JSON-friendly summary: span, columns with coverage, gaps."""
        cols = {}
        for name in sorted(self.columns):
            cov = self.coverage(name)
            cols[name] = None if cov is None else [iso(cov[0]), iso(cov[1])]
        return {
            "source": self.source,
            "span": self.span(),
            "step_s": self.step_s,
            "columns": cols,
            "gaps": [g.describe() for g in self.gaps],
            "notes": list(self.notes),
            "sources": {c: i.label() for c, i in sorted(self.info.items())},
            "fallback_venues": list(self.policy.fallback_venues),
        }
