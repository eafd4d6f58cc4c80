"""Pure portfolio arithmetic over venue snapshots: flat positions, net exposure, USD value, risk.

No I/O, no Ray: the monitor and the backtest call these functions with snapshots.

Net exposure per underlying (DOMAIN.md): spot + LSTs at their rate + AAVE supply + signed perps
- AAVE debt. A perfectly hedged book nets to ~0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from factory.assets import reserve_symbol, underlying_of
from factory.positions import (
    PositionKey,
    PositionType,
    RiskSummary,
    VenueSnapshot,
)

__all__ = [
    "distance_to_liquidation",
    "flat_positions",
    "lst_rates",
    "margin_ratio",
    "net_exposure",
    "risk_summary",
    "usd_values",
]


def flat_positions(snapshots: Iterable[VenueSnapshot]) -> dict[PositionKey, float]:
    """Return ``{key: amount}`` over every snapshot that carries positions."""
    out: dict[PositionKey, float] = {}
    for snap in snapshots:
        for key, pos in snap.positions.items():
            out[key] = out.get(key, 0.0) + pos.amount
    return out


def lst_rates(snapshots: Iterable[VenueSnapshot]) -> dict[str, float]:
    """Return the latest known rate per LST token (``weETH`` -> eETH per weETH) from any LST
    position that carries one, so AAVE and wallet holdings of that token count at its rate."""
    rates: dict[str, float] = {}
    for snap in snapshots:
        for key, pos in snap.positions.items():
            if pos.rate is not None and _kind(key)[0] is PositionType.LST:
                rates[key.symbol] = pos.rate
    return rates


_KIND: dict[str, tuple[PositionType, str]] = {}


def _kind(key: PositionKey) -> tuple[PositionType, str]:
    """(type, token held) of a key, cached: keys are few and reused every snapshot."""
    got = _KIND.get(key)
    if got is None:
        got = (key.type, reserve_symbol(key))
        if len(_KIND) < 100_000:
            _KIND[key] = got
    return got


def _signed_underlying_amount(pos, key: PositionKey, rates: Mapping[str, float]) -> float:
    ptype, token = _kind(key)
    amount = pos.amount
    if ptype is PositionType.LST:
        rate = pos.rate if pos.rate is not None else rates.get(token, 1.0)
        return amount * rate
    if rates:
        amount *= rates.get(token, 1.0)
    if ptype is PositionType.debtToken:
        return -amount
    return amount


def net_exposure(snapshots: Iterable[VenueSnapshot]) -> dict[str, float]:
    """Return the net exposure per underlying (BTC, ETH, USD...) in units of that underlying.

    Perps contribute their signed base quantity only: their USD leg is margin, already counted in
    the quote balances. LSTs count at their rate, wherever they are held (an aweETH supply at the
    weETH rate reported by the etherfi venue); 1.0 when no venue gave a rate.
    """
    snaps = list(snapshots)
    rates = lst_rates(snaps)
    out: dict[str, float] = {}
    for snap in snaps:
        for key, pos in snap.positions.items():
            u = underlying_of(key)
            out[u] = out.get(u, 0.0) + _signed_underlying_amount(pos, key, rates)
    return out


def usd_values(
    snapshots: Iterable[VenueSnapshot], prices_usd: Mapping[str, float]
) -> dict[PositionKey, float]:
    """Return the USD value per key from per-underlying USD prices (keys without a price skip).

    Perps are valued at their unrealized PnL (their notional is exposure, not value).
    """
    snaps = list(snapshots)
    rates = lst_rates(snaps)
    out: dict[PositionKey, float] = {}
    for snap in snaps:
        for key, pos in snap.positions.items():
            if key.type == PositionType.Perp:
                out[key] = pos.unrealized_pnl or 0.0
                continue
            u = underlying_of(key)
            price = prices_usd.get(u)
            if price is None:
                continue
            out[key] = _signed_underlying_amount(pos, key, rates) * price
    return out


def margin_ratio(snap: VenueSnapshot) -> float | None:
    """Return margin balance / perp notional for a CEX snapshot (None without perps or margin)."""
    if snap.account is None or snap.account.margin_balance is None:
        return None
    notional = 0.0
    for key, pos in snap.positions.items():
        if key.type != PositionType.Perp:
            continue
        if pos.notional is not None:
            notional += abs(pos.notional)
        elif pos.mark_price is not None:
            notional += abs(pos.amount) * pos.mark_price
    if notional == 0:
        return None
    return snap.account.margin_balance / notional


def distance_to_liquidation(snap: VenueSnapshot) -> dict[PositionKey, float]:
    """Return, per perp leg, the relative mark move that reaches its liquidation price.

    ``(liq - mark) / mark`` signed: positive for a short (price must rise), negative for a long.
    """
    out: dict[PositionKey, float] = {}
    for key, pos in snap.positions.items():
        if key.type != PositionType.Perp:
            continue
        if pos.liquidation_price and pos.mark_price:
            out[key] = (pos.liquidation_price - pos.mark_price) / pos.mark_price
    return out


def risk_summary(snapshots: Iterable[VenueSnapshot]) -> RiskSummary:
    """Collect health factors and LTV (AAVE), margin ratios and distances (CEX)."""
    hf: dict[str, float | None] = {}
    ltv: dict[str, float] = {}
    mr: dict[str, float] = {}
    dist: dict[PositionKey, float] = {}
    for snap in snapshots:
        acct = snap.account
        if acct is not None and (acct.total_collateral is not None or acct.health_factor):
            hf[snap.venue] = acct.health_factor
            if acct.total_collateral:
                ltv[snap.venue] = (acct.total_debt or 0.0) / acct.total_collateral
        ratio = margin_ratio(snap)
        if ratio is not None:
            mr[snap.venue] = ratio
        dist.update(distance_to_liquidation(snap))
    return RiskSummary(health_factor=hf, ltv=ltv, margin_ratio=mr, distance_to_liquidation=dist)


