"""Which market series each leg of a scenario reads: its own venue's, or a named stand-in.

A perp leg on ``bybit`` reads ``perp.BTC@bybit`` and ``funding.BTC@bybit`` when the data has
bybit's series (or ``perp.BTC`` when that column is bybit's); a spot leg reads the spot price
of its venue the same way. When the leg's venue has no series of that kind:

- a series whose venue the data does not state (the documented layout without ``@venue``, the
  synthetic market) serves every leg, and the provenance says so;
- otherwise the first of the data's fallback venues (``--fallback-venue`` or the folder's
  ``manifest.yaml``) that has the series stands in, named in ``data_quality.stand_ins``;
- otherwise the scenario is refused (`DataError`): a folder never silently mixes venues.

Columns that are not a venue leg (the ETH price valuing weETH, LST rates, AAVE indices) are
the data's one series of that name; their origin is listed too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.backtest.data.market import DataError, MarketData

__all__ = ["Sources", "resolve_sources"]

_WHAT = {"spot": "price", "perp": "marks", "funding": "funding"}


@dataclass(frozen=True)
class Sources:
    """The columns a scenario reads, per leg, and where they came from.

    Attributes:
        spot: asset -> spot column (``spot.ETH`` or ``spot.ETH@bybit``).
        perp: perp venue -> mark column.
        funding: perp venue -> funding column.
        other: the other columns the mode needs (LST rates, AAVE indices).
        lines: one line per leg and series: ``okx perp leg: funding from binance BTCUSDT (...)``.
        stand_ins: the lines of series read from another venue than the leg's.
    """

    spot: dict[str, str] = field(default_factory=dict)
    perp: dict[str, str] = field(default_factory=dict)
    funding: dict[str, str] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    stand_ins: list[str] = field(default_factory=list)

    def columns(self) -> list[str]:
        """Return every column read, each once, in a stable order."""
        out: list[str] = []
        for col in [*self.spot.values(), *self.perp.values(), *self.funding.values(),
                    *self.other]:
            if col not in out:
                out.append(col)
        return out

    def prices(self) -> list[str]:
        """Return the price-like columns (spot, perp marks, LST rates): the stale-step inputs."""
        return [c for c in self.columns() if c.split(".")[0] in ("spot", "perp", "lst")]


def _by_venue(market: MarketData, generic: str) -> dict[str | None, str]:
    """Return ``{venue: column}`` of the data's series of one generic column (``perp.BTC``)."""
    out: dict[str | None, str] = {}
    for col in [generic, *sorted(c for c in market.columns if c.startswith(generic + "@"))]:
        if col in market.columns:
            info = market.info.get(col)
            out.setdefault(info.venue if info else None, col)
    return out


def _label(market: MarketData, col: str) -> str:
    info = market.info.get(col)
    return info.label() if info else col


def _leg(market: MarketData, generic: str, venue: str, role: str) -> tuple[str, str, bool]:
    """Return (column, provenance line, stand-in?) of a leg on ``venue`` for ``generic``."""
    kind = generic.split(".")[0]
    have = _by_venue(market, generic)
    head = f"{venue} {role} leg: {_WHAT[kind]} from"
    if not have:  # the column is absent altogether: MarketData.window names it
        return generic, f"{head} nothing ({generic} is not in the data)", False
    if venue in have:
        return have[venue], f"{head} {_label(market, have[venue])}", False
    if None in have:
        return have[None], f"{head} {_label(market, have[None])} (the data names no venue)", False
    policy = market.policy
    for stand_in in policy.fallback_venues:
        if stand_in in have:
            col = have[stand_in]
            origin = policy.fallback_origin or "--fallback-venue"
            return col, f"{head} {_label(market, col)}, standing in for {venue} ({origin})", True
    raise DataError(
        f"{market.source}: no {venue} series for the {venue} {role} leg's {_WHAT[kind]} "
        f"({generic}; the data has {', '.join(sorted(v for v in have if v))}); name a stand-in "
        "with --fallback-venue VENUE or fallback_venues in the data folder's manifest.yaml"
    )


def resolve_sources(
    market: MarketData, columns: list[str], spot_venue: str | None, perp_venues: list[str]
) -> Sources:
    """Map a strategy's generic columns to the series each leg reads (module docstring).

    Args:
        columns: the strategy's columns (``spot.BTC``, ``perp.BTC``, ``funding.BTC``...).
        spot_venue: the venue of the spot leg, or None when spot is only a valuation price.
        perp_venues: the venues of the perp legs.

    Raises:
        DataError: a leg's venue has no series of a kind and no fallback venue has one.
    """
    out = Sources()
    for generic in columns:
        kind, _, name = generic.partition(".")
        if kind == "spot" and spot_venue:
            col, line, stand_in = _leg(market, generic, spot_venue, "spot")
            out.spot[name] = col
            out.lines.append(line)
            if stand_in:
                out.stand_ins.append(line)
        elif kind in ("perp", "funding") and perp_venues:
            target = out.perp if kind == "perp" else out.funding
            for venue in perp_venues:
                col, line, stand_in = _leg(market, generic, venue, "perp")
                target[venue] = col
                out.lines.append(line)
                if stand_in:
                    out.stand_ins.append(line)
        else:
            if kind == "spot":
                out.spot[name] = generic
            elif kind == "perp":
                out.perp[""] = generic
            elif kind == "funding":
                out.funding[""] = generic
            else:
                out.other.append(generic)
            if generic in market.columns:
                out.lines.append(f"{generic}: {_label(market, generic)}")
    return out
