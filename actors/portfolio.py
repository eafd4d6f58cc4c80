"""Pure portfolio arithmetic over venue snapshots: flat positions, net exposure, USD value, risk.

No I/O, no Ray: the monitor and the backtest call these functions with snapshots.

Net exposure per underlying (DOMAIN.md): spot + LSTs at their rate + AAVE supply + signed perps
- AAVE debt. A perfectly hedged book nets to ~0.

Unknown is not zero: a figure that needs an unknown input (an LST rate no venue read, a perp's
PnL or notional, a debt, a margin balance, a mark price) is ``None``, and the reason is written
to the ``unknown`` mapping the caller passes, under the figure's path (``net_exposure.ETH``,
``usd_value.<key>``, ``risk.ltv.<venue>``, ``risk.margin_ratio.<venue>``,
``risk.health_factor.<venue>``, ``risk.distance_to_liquidation.<key>``). A figure is never
computed from the known part of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from factory.assets import RATE_TOKENS, reserve_symbol, underlying_of
from factory.positions import (
    AccountInfo,
    Position,
    PositionKey,
    PositionType,
    RiskSummary,
    Unknown,
    VenueSnapshot,
)

__all__ = [
    "Exposure",
    "distance_to_liquidation",
    "exposure",
    "flat_positions",
    "lst_rates",
    "margin_ratio",
    "net_exposure",
    "risk_summary",
    "usd_values",
]

Unknowns = dict[str, Unknown]


def flat_positions(snapshots: Iterable[VenueSnapshot]) -> dict[PositionKey, float]:
    """Return ``{key: amount}`` over every snapshot that carries positions."""
    out: dict[PositionKey, float] = {}
    for snap in snapshots:
        for key, pos in snap.positions.items():
            out[key] = out.get(key, 0.0) + pos.amount
    return out


_KIND: dict[str, tuple[PositionType, str]] = {}


def _kind(key: PositionKey) -> tuple[PositionType, str]:
    """(type, token held) of a key, cached: keys are few and reused every snapshot."""
    got = _KIND.get(key)
    if got is None:
        got = (key.type, reserve_symbol(key))
        if len(_KIND) < 100_000:
            _KIND[key] = got
    return got


def lst_rates(snapshots: Iterable[VenueSnapshot]) -> dict[str, float]:
    """Return the latest known rate per LST token (``weETH`` -> eETH per weETH).

    A rate comes from a venue's ``rates`` (read whether or not the desk holds the token there) or
    from a position of that token that carries one; it then applies to every position of the
    token (wallet, aToken, LST).
    """
    rates: dict[str, float] = {}
    for snap in snapshots:
        if snap.rates:
            rates.update(snap.rates)
        for key, pos in snap.positions.items():
            if pos.rate is not None:
                rates[_kind(key)[1]] = pos.rate
    return rates


def _leg(pos: Position, key: PositionKey, rates: Mapping[str, float]) -> float | None:
    """Signed amount of the underlying one position holds; None when its rate is unknown."""
    ptype, token = _kind(key)
    amount = pos.amount
    if amount != 0.0:
        rate = pos.rate if pos.rate is not None else rates.get(token)
        if rate is not None:
            amount *= rate
        elif token in RATE_TOKENS:
            return None
    return -amount if ptype is PositionType.debtToken else amount


class Exposure(NamedTuple):
    """Net exposure per underlying, the age of its oldest stale leg, and why some are null."""

    net: dict[str, float | None]
    age_s: dict[str, float]
    unknown: Unknowns


def exposure(
    snapshots: Iterable[VenueSnapshot],
    waiting: Mapping[str, Unknown] | None = None,
    rate_readers: Callable[[str], list[str]] | None = None,
    rates: Mapping[str, float] | None = None,
) -> Exposure:
    """Return the net exposure per underlying (BTC, ETH, USD...) in units of that underlying.

    Perps contribute their signed base quantity only: their USD leg is margin, already counted in
    the quote balances. LSTs count at their rate wherever they are held (an aweETH supply at the
    weETH rate the etherfi venue read); a rate token held with no known rate makes its
    underlying ``None``. Stale legs count, and ``age_s`` gives the oldest one per underlying.

    Args:
        snapshots: the fresh and stale venue snapshots.
        waiting: per underlying, why a leg of it is missing (a venue expected to hold one has
            not answered); those underlyings are ``None`` with that reason.
        rate_readers: the venues configured to read a token's rate (named in ``waiting_for``
            when that rate is unknown); called only then.
        rates: the LST rates to value the legs at (default: those these snapshots read); a
            roll-up over some venues passes the rates every venue read.
    """
    snaps = list(snapshots)
    rates = lst_rates(snaps) if rates is None else rates
    sums: dict[str, float] = {}
    age: dict[str, float] = {}
    no_rate: dict[str, list[str]] = {}
    for snap in snaps:
        stale = snap.status != "ok"
        for key, pos in snap.positions.items():
            u = underlying_of(key)
            value = _leg(pos, key, rates)
            if value is None:
                tokens = no_rate.setdefault(u, [])
                if _kind(key)[1] not in tokens:
                    tokens.append(_kind(key)[1])
                continue
            sums[u] = sums.get(u, 0.0) + value
            if stale and snap.age_s > age.get(u, -1.0):
                age[u] = snap.age_s
    net: dict[str, float | None] = dict(sums)
    unknown: Unknowns = {}
    for u, tokens in no_rate.items():
        net[u] = None
        readers = sorted({v for t in tokens for v in (rate_readers(t) if rate_readers else [])})
        unknown[f"net_exposure.{u}"] = Unknown(
            reason=f"{', '.join(sorted(tokens))} rate unknown: no venue read it",
            waiting_for=readers,
        )
    for u, why in (waiting or {}).items():
        net[u] = None
        had = unknown.get(f"net_exposure.{u}")
        unknown[f"net_exposure.{u}"] = why if had is None else Unknown(
            reason=f"{why.reason}; {had.reason}",
            waiting_for=sorted({*why.waiting_for, *had.waiting_for}),
        )
    return Exposure(net, age, unknown)


def net_exposure(snapshots: Iterable[VenueSnapshot]) -> dict[str, float | None]:
    """Return the net exposure per underlying (see `exposure`; ``None`` where unknown)."""
    return exposure(snapshots).net


def usd_values(
    snapshots: Iterable[VenueSnapshot],
    prices_usd: Mapping[str, float],
    unknown: Unknowns | None = None,
) -> dict[PositionKey, float | None]:
    """Return the USD value per key from per-underlying USD prices.

    Perps are valued at their unrealized PnL (their notional is exposure, not value). A perp
    without a PnL, a key without a price or a rate token without a rate is ``None`` (reason in
    ``unknown`` under ``usd_value.<key>``).
    """
    snaps = list(snapshots)
    rates = lst_rates(snaps)
    out: dict[PositionKey, float | None] = {}
    reasons = unknown if unknown is not None else {}
    for snap in snaps:
        for key, pos in snap.positions.items():
            if key.type == PositionType.Perp:
                out[key] = pos.unrealized_pnl
                if pos.unrealized_pnl is None:
                    reasons[f"usd_value.{key}"] = Unknown(
                        reason=f"{snap.venue} did not report the unrealized PnL of {key}",
                        waiting_for=[snap.venue],
                    )
                continue
            u = underlying_of(key)
            price = prices_usd.get(u)
            leg = _leg(pos, key, rates)
            if price is None or leg is None:
                out[key] = None
                what = f"no USD price for {u}" if price is None else f"{_kind(key)[1]} rate unknown"
                reasons[f"usd_value.{key}"] = Unknown(reason=what)
                continue
            out[key] = leg * price
    return out


def _margin(snap: VenueSnapshot) -> tuple[float | None, str | None]:
    """(margin ratio, why unknown); (None, None) when the venue holds no perp or reports no
    account at all (a backend without margin figures)."""
    if snap.account is None:
        return None, None
    notional = 0.0
    has_perp = False
    for key, pos in snap.positions.items():
        if key.type != PositionType.Perp or pos.amount == 0.0:
            continue
        has_perp = True
        if pos.notional is not None:
            notional += abs(pos.notional)
        elif pos.mark_price is not None:
            notional += abs(pos.amount) * pos.mark_price
        else:
            return None, f"{key}: notional unknown (no notional and no mark price)"
    if not has_perp:
        return None, None
    balance = snap.account.margin_balance
    if balance is None:
        return None, f"{snap.venue} did not report its margin balance"
    if notional == 0.0:
        return None, f"{snap.venue}: perp notional reads as zero"
    return balance / notional, None


def margin_ratio(snap: VenueSnapshot) -> float | None:
    """Return margin balance / perp notional for a CEX snapshot (None without perps or when an
    input is unknown; `risk_summary` records why)."""
    return _margin(snap)[0]


def _distances(
    snap: VenueSnapshot, reasons: Unknowns
) -> dict[PositionKey, float | None]:
    out: dict[PositionKey, float | None] = {}
    for key, pos in snap.positions.items():
        if key.type != PositionType.Perp or not pos.liquidation_price:
            continue  # no per-position liquidation price: account-level margin
        if pos.mark_price:
            out[key] = (pos.liquidation_price - pos.mark_price) / pos.mark_price
        else:
            out[key] = None
            reasons[f"risk.distance_to_liquidation.{key}"] = Unknown(
                reason=f"{key}: mark price unknown", waiting_for=[snap.venue]
            )
    return out


def distance_to_liquidation(snap: VenueSnapshot) -> dict[PositionKey, float | None]:
    """Return, per perp leg, the relative mark move that reaches its liquidation price.

    ``(liq - mark) / mark`` signed: positive for a short (price must rise), negative for a long.
    A leg with a liquidation price and no mark price is ``None``; a leg without a liquidation
    price has no entry (its venue margins the account as a whole).
    """
    return _distances(snap, {})


def _aave(venue: str, acct: AccountInfo, hf: dict, ltv: dict, reasons: Unknowns) -> None:
    """Health factor and LTV of one lending account (null with a reason when an input is
    unknown; a null health factor without a reason means no debt)."""
    debt, collateral = acct.total_debt, acct.total_collateral
    hf[venue] = acct.health_factor
    if acct.health_factor is None and debt != 0.0:
        reasons[f"risk.health_factor.{venue}"] = Unknown(
            reason=f"{venue}: health factor not reported"
            + (" and debt unknown" if debt is None else f" with debt {debt:g}"),
            waiting_for=[venue],
        )
    if collateral is None or debt is None:
        ltv[venue] = None
        what = "collateral" if collateral is None else "debt"
        reasons[f"risk.ltv.{venue}"] = Unknown(
            reason=f"{venue}: {what} unknown", waiting_for=[venue]
        )
    elif collateral:
        ltv[venue] = debt / collateral
    elif debt:
        ltv[venue] = None
        reasons[f"risk.ltv.{venue}"] = Unknown(
            reason=f"{venue}: debt {debt:g} against zero collateral", waiting_for=[venue]
        )


def risk_summary(
    snapshots: Iterable[VenueSnapshot], unknown: Unknowns | None = None
) -> RiskSummary:
    """Collect health factors and LTV (AAVE), margin ratios and distances (CEX).

    Args:
        snapshots: the fresh and stale venue snapshots.
        unknown: receives, per null figure, why it is unknown (see the module docstring).
    """
    reasons = unknown if unknown is not None else {}
    hf: dict[str, float | None] = {}
    ltv: dict[str, float | None] = {}
    mr: dict[str, float | None] = {}
    dist: dict[PositionKey, float | None] = {}
    for snap in snapshots:
        acct = snap.account
        if acct is not None and (acct.total_collateral is not None or acct.health_factor
                                 or acct.total_debt is not None):
            _aave(snap.venue, acct, hf, ltv, reasons)
        ratio, why = _margin(snap)
        if ratio is not None or why is not None:
            mr[snap.venue] = ratio
            if why is not None:
                reasons[f"risk.margin_ratio.{snap.venue}"] = Unknown(
                    reason=why, waiting_for=[snap.venue]
                )
        dist.update(_distances(snap, reasons))
    return RiskSummary.trusted(
        health_factor=hf, ltv=ltv, margin_ratio=mr, distance_to_liquidation=dist
    )
