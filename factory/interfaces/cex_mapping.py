"""Pure mapping from ccxt's unified structures to canonical positions (no I/O, no ccxt calls).

- wallet balances -> ``venue:BaseToken:SYM``, summed over the venue's wallets; a wallet whose
  ccxt total includes unrealized PnL is read from raw fields instead (see `WalletSpec.amounts`),
  because the Perp keys carry that PnL;
- linear perps -> ``venue:Perp:BASEQUOTE`` with the signed base quantity
  (contracts x contract size, short negative) and what the venue gives (entry, mark, unrealized
  PnL, liquidation price, initial margin, leverage, notional at mark);
- raw account fields -> `AccountInfo`;
- funding incomes -> `FundingPayment` (amount > 0 received);
- deposits / withdrawals not final -> `Transfer`.

An answer these functions cannot read (wrong types, missing fields, NaN or infinite numbers)
raises `BadResponseError` naming the venue and the function: never a bare KeyError/TypeError,
never a NaN amount, never a position silently read as zero.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from factory.errors import BadResponseError, BasisError
from factory.interfaces.cex_options import AccountSpec, WalletSpec
from factory.positions import AccountInfo, Position, PositionKey, Transfer, utc

__all__ = [
    "FundingPayment",
    "account_info",
    "balance_positions",
    "dig",
    "funding_payments",
    "perp_positions",
    "transfers_in_transit",
    "wallet_amounts",
]

log = logging.getLogger(__name__)

#: What reading a malformed answer raises in plain Python (pydantic's ValidationError included).
UNREADABLE = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError)


def _typed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a failure to read an answer into `BadResponseError` (venue: ``venue=`` or arg 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BasisError:
            raise
        except UNREADABLE as exc:
            venue = kwargs.get("venue") or (args[0] if args and isinstance(args[0], str) else "cex")
            raise BadResponseError(
                venue, f"{fn.__name__}(): unreadable answer ({type(exc).__name__})"
            ) from None

    return wrapper


class FundingPayment(BaseModel):
    """One funding payment on a perp; ``amount`` > 0 means the account received it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: str
    key: PositionKey
    asset: str
    amount: float
    timestamp: datetime
    id: str | None = None


def dig(data: Any, path: Iterable[str | int]) -> Any:
    """Follow keys / indexes into nested JSON; None when a step is missing."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and -len(data) <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def _num(value: Any) -> float | None:
    """A number from a venue field; None when absent or not numeric.

    Raises:
        ValueError: the field is NaN or infinite (or too large for a float).
    """
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except OverflowError:
        raise ValueError("number too large") from None
    except (TypeError, ValueError):
        return None
    if not math.isfinite(out):
        raise ValueError("not a finite number")
    return out


@_typed
def wallet_amounts(
    spec: WalletSpec, balance: Mapping[str, Any], code: Callable[[str], str] = str,
    *, venue: str = "cex",
) -> dict[str, float]:
    """Per-asset amounts of one wallet from a ccxt balance structure.

    Args:
        spec: the wallet's spec (raw field paths when ccxt's total is not the wallet balance).
        balance: what ``fetch_balance`` returned.
        code: maps a venue asset id to its unified code (ccxt's ``safe_currency_code``).
        venue: venue id, for the error on an unreadable answer.
    """
    if spec.amounts is None:
        totals = balance.get("total") or {}
        numbers = {k: _num(v) for k, v in totals.items()}
        return {k: v for k, v in numbers.items() if v is not None}
    out: dict[str, float] = {}
    for item in dig(balance.get("info"), spec.amounts.items) or []:
        asset, amount = item.get(spec.amounts.asset), _num(item.get(spec.amounts.amount))
        if asset and amount is not None:
            out[code(asset)] = out.get(code(asset), 0.0) + amount
    return out


@_typed
def balance_positions(
    venue: str, wallets: Iterable[Mapping[str, float]]
) -> dict[PositionKey, Position]:
    """``venue:BaseToken:SYM`` per asset, summed over wallets; zero balances are left out."""
    totals: dict[str, float] = {}
    for amounts in wallets:
        for asset, amount in amounts.items():
            totals[asset] = totals.get(asset, 0.0) + amount
    out: dict[PositionKey, Position] = {}
    for asset, amount in totals.items():
        if amount == 0:
            continue
        try:
            key = PositionKey.of(venue, "BaseToken", asset)
        except ValueError:
            log.warning("%s: asset %r has no canonical spelling; left out", venue, asset)
            continue
        out[key] = Position(key=key, amount=amount)
    return out


def _perp_key(venue: str, market: Mapping[str, Any] | None) -> PositionKey | None:
    if not market or not market.get("swap") or not market.get("linear"):
        return None
    return PositionKey.of(venue, "Perp", f"{market['base']}{market['quote']}")


@_typed
def perp_positions(
    venue: str,
    positions: Iterable[Mapping[str, Any]],
    market: Callable[[str], Mapping[str, Any] | None],
) -> dict[PositionKey, Position]:
    """Linear perp positions from ccxt position structures (others are left out).

    Args:
        venue: venue id.
        positions: what ``fetch_positions`` returned.
        market: unified symbol -> ccxt market (contract size, base, quote, type).
    """
    out: dict[PositionKey, Position] = {}
    for p in positions:
        mkt = market(p.get("symbol") or "")
        key = _perp_key(venue, mkt)
        contracts = _num(p.get("contracts")) or 0.0
        if key is None or contracts == 0:
            continue
        size = _num(p.get("contractSize")) or _num((mkt or {}).get("contractSize")) or 1.0
        qty = abs(contracts) * size * (-1.0 if p.get("side") == "short" else 1.0)
        mark = _num(p.get("markPrice"))
        notional = abs(qty) * mark if mark else _num(p.get("notional"))
        margin = _num(p.get("initialMargin"))
        leverage = _num(p.get("leverage"))
        if leverage is None and margin and notional:
            leverage = notional / margin
        pos = Position(
            key=key, amount=qty, entry_price=_num(p.get("entryPrice")), mark_price=mark,
            unrealized_pnl=_num(p.get("unrealizedPnl")),
            liquidation_price=_num(p.get("liquidationPrice")), margin=margin,
            leverage=leverage, notional=notional,
        )
        out[key] = _merge(out[key], pos) if key in out else pos
    return out


def _merge(a: Position, b: Position) -> Position:
    """Two legs of one symbol (hedge mode): quantities and money add, prices of the larger leg."""

    def add(x: float | None, y: float | None) -> float | None:
        return None if x is None and y is None else (x or 0.0) + (y or 0.0)

    big = a if abs(a.amount) >= abs(b.amount) else b
    return big.model_copy(update={
        "amount": a.amount + b.amount, "unrealized_pnl": add(a.unrealized_pnl, b.unrealized_pnl),
        "margin": add(a.margin, b.margin), "notional": add(a.notional, b.notional),
    })


@_typed
def account_info(spec: AccountSpec, raw: Any, *, venue: str = "cex") -> AccountInfo:
    """Account figures from the raw response of the spec's wallet (``venue`` for errors)."""
    root = dig(raw, spec.path)

    def field(name: str | None) -> float | None:
        return _num(root.get(name)) if (name and isinstance(root, dict)) else None

    return AccountInfo(
        quote=spec.quote, margin_balance=field(spec.margin_balance),
        maintenance_margin=field(spec.maintenance_margin),
        initial_margin=field(spec.initial_margin),
    )


@_typed
def funding_payments(
    venue: str,
    rows: Iterable[Mapping[str, Any]],
    market: Callable[[str], Mapping[str, Any] | None],
    sign: int = 1,
) -> list[FundingPayment]:
    """Funding payments on linear perps, oldest first; ``sign`` makes amounts 'received'."""
    out = []
    for r in rows:
        key = _perp_key(venue, market(r.get("symbol") or ""))
        amount, ts = _num(r.get("amount")), r.get("timestamp")
        if key is None or amount is None or ts is None:
            continue
        out.append(FundingPayment(venue=venue, key=key, asset=str(r.get("code") or ""),
                                  amount=sign * amount, timestamp=utc(ts / 1000.0),
                                  id=r.get("id")))
    return sorted(out, key=lambda f: f.timestamp)


@_typed
def transfers_in_transit(
    venue: str,
    deposits: Iterable[Mapping[str, Any]],
    withdrawals: Iterable[Mapping[str, Any]],
    now: float,
    statuses: Iterable[str] = ("pending", "processing"),
) -> list[Transfer]:
    """Deposits and withdrawals not yet credited (ccxt status in ``statuses``), oldest first.

    A deposit goes from its sending address (``external`` when unknown) to the venue; a
    withdrawal from the venue to its address.
    """
    wanted = set(statuses)
    out = []
    for kind, rows in (("deposit", deposits), ("withdrawal", withdrawals)):
        for t in rows:
            amount, ts = _num(t.get("amount")), t.get("timestamp")
            if t.get("status") not in wanted or not amount or ts is None:
                continue
            if kind == "deposit":
                address = t.get("addressFrom")
            else:
                address = t.get("addressTo") or t.get("address")
            started = utc(ts / 1000.0)
            out.append(Transfer(
                id=str(t.get("id") or t.get("txid") or f"{kind}-{ts}"),
                asset=str(t.get("currency") or ""), amount=abs(amount),
                source=(address or "external") if kind == "deposit" else venue,
                destination=venue if kind == "deposit" else (address or "external"),
                kind=kind, venue=venue, started_at=started,
                age_s=max(0.0, now - started.timestamp()), tx_hash=t.get("txid") or None,
            ))
    return sorted(out, key=lambda t: t.started_at)
