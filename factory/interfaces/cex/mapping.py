"""Strict mapping from a venue's raw JSON to canonical positions (no I/O, no ccxt calls).

Every field read for an amount, a side, a contract size, a balance or an account margin figure
is named in the venue's ``options`` (`factory.interfaces.cex.options`) and must be present and
parse; otherwise the answer raises `BadResponseError` naming venue, endpoint and field
(``binance: GET /fapi/v3/account: assets[0].walletBalance: missing``). Never a default side, a
default contract size, a dropped row, an empty book from an envelope without its payload, or a
zero standing in for an unknown.

- wallet rows -> ``venue:BaseToken:SYM``, summed over the venue's wallets (`wallet_amounts`,
  `balance_positions`);
- position rows of linear perps -> ``venue:Perp:BASEQUOTE`` with the signed base quantity
  (``|size| x`` the market's contract size, the sign from the venue's explicit fields) and what
  the venue gives (entry, mark, unrealized PnL, liquidation price, initial margin, leverage,
  notional at mark) (`perp_positions`);
- account fields -> `AccountInfo` (`account_info`);
- funding incomes -> `FundingPayment` (amount > 0 received);
- deposits / withdrawals not final -> `Transfer`.

Redundant fields are cross-checked where the venue gives a second source, so a flipped sign or
a misread field is caught: the venue's own sums (`SumCheck`), unrealized PnL against
``(mark - entry) x quantity``, a signed notional against ``quantity x mark`` (tolerances in
`factory.interfaces.cex.fields`), the liquidation price on the mark's far side for the
position's direction, positive prices, non-negative margins and balances where declared.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from factory.errors import BadResponseError, BasisError
from factory.interfaces.cex.fields import (
    NOTIONAL_REL_TOL,
    PNL_TOL,
    SUM_TOL,
    FieldReader,
    close_enough,
    dig,
)
from factory.interfaces.cex.options import AccountSpec, PositionsSpec, WalletSpec
from factory.models import FrozenModel
from factory.positions import AccountInfo, Position, PositionKey, Transfer, utc

__all__ = [
    "NOTIONAL_REL_TOL",
    "PNL_TOL",
    "SUM_TOL",
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


class FundingPayment(FrozenModel):
    """One funding payment on a perp; ``amount`` > 0 means the account received it."""

    venue: str
    key: PositionKey
    asset: str
    amount: float
    timestamp: datetime
    id: str | None = None


def _num(value: Any) -> float | None:
    """A number from a venue field; None when absent or not numeric (lenient: funding, transfers).

    Raises:
        ValueError: the field is NaN or infinite (or too large for a float).
    """
    if value is None or value == "" or isinstance(value, bool):
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
    venue: str, spec: WalletSpec, raw: Any, code: Callable[[str], str] = str,
    *, decimal_strings: bool = False,
) -> dict[str, float]:
    """Per-asset amounts of one wallet from its raw answer.

    Args:
        venue: venue id, for errors.
        spec: the wallet's spec (rows path, asset and amount fields, checks).
        raw: the raw answer of the wallet's request (ccxt's ``balance['info']``).
        code: maps a venue asset id to its unified code (ccxt's ``safe_currency_code``).
        decimal_strings: the venue sends every decimal as a JSON string; a bare number is wrong.

    Raises:
        BadResponseError: no payload, or a row with a missing, unparseable or contradictory field.
    """
    read = FieldReader(venue, spec.endpoint, decimal_strings)
    rows = read.container(raw, spec.rows, list)
    out: dict[str, float] = {}
    for i, row in enumerate(rows):
        path = [*spec.rows, i]
        asset = read.text(row, path, spec.asset)
        if not asset:
            raise read.fail([*path, spec.asset], "empty")
        amount = 0.0
        for name in spec.amounts:
            value = read.number(row, path, name)
            if spec.nonnegative and value < 0:
                raise read.fail([*path, name], "negative balance")
            amount += value
        read.sums(row, path, spec.checks)
        unified = code(asset)
        out[unified] = out.get(unified, 0.0) + amount
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
    """The Perp key of a linear swap market (None for any other market: funding rows)."""
    if not market or not market.get("swap") or not market.get("linear"):
        return None
    return PositionKey.of(venue, "Perp", f"{market['base']}{market['quote']}")


@_typed
def perp_positions(
    venue: str,
    spec: PositionsSpec,
    raw: Any,
    market: Callable[[str], Mapping[str, Any] | None],
    *,
    decimal_strings: bool = False,
) -> dict[PositionKey, Position]:
    """Linear perp positions from the raw positions answer.

    A row is left out only when its size is exactly 0 or its market is explicitly not a linear
    perpetual (inverse, dated, option); every other row maps or fails the answer.

    Args:
        venue: venue id.
        spec: the venue's positions spec (field names, side values).
        raw: the raw answer of ``spec.call``.
        market: venue instrument id -> ccxt market of ``spec.market_type``; None when the
            venue lists no such market.
        decimal_strings: the venue sends every decimal as a JSON string; a bare number is wrong.

    Raises:
        BadResponseError: no payload, an unknown market or side, a missing or unparseable field,
            or fields that contradict each other.
    """
    read = FieldReader(venue, spec.endpoint, decimal_strings)
    rows = read.container(raw, spec.rows, list)
    if spec.page_size is not None and len(rows) >= spec.page_size:
        raise read.fail(spec.rows, "a full page: more positions may follow")
    out: dict[PositionKey, Position] = {}
    for i, row in enumerate(rows):
        path = [*spec.rows, i]
        pos = _perp_row(read, spec, row, path, market)
        if pos is not None:
            out[pos.key] = _merge(out[pos.key], pos) if pos.key in out else pos
    return out


def _perp_row(
    read: FieldReader, spec: PositionsSpec, row: Any, path: list[str | int],
    market: Callable[[str], Mapping[str, Any] | None],
) -> Position | None:
    """One position row, or None for a flat row or a market that is not a linear perp."""
    ident = read.text(row, path, spec.market)
    size = read.number(row, path, spec.size)
    side = read.text(row, path, spec.side)
    if side not in spec.sides:
        raise read.fail([*path, spec.side], "unknown side")
    direction = spec.sides[side]
    if size == 0:
        return None  # the venue says flat (binance lists every symbol it has, flat ones too)
    mkt = market(ident) if ident else None
    if mkt is None:
        raise read.fail([*path, spec.market], "unknown market")
    parts = [dig(mkt, ["info", f]) for f in spec.market_kind.fields]
    kind = "/".join(parts) if all(isinstance(p, str) for p in parts) else None
    if kind in spec.market_kind.other:
        return None  # the venue says another kind of contract (inverse, dated)
    if kind not in spec.market_kind.perpetual or mkt.get("linear") is not True:
        raise read.fail([*path, spec.market],
                        f"market's {'/'.join(spec.market_kind.fields)} is not a known kind")
    base, quote = mkt.get("base"), mkt.get("quote")
    spelled = ident.replace("-", "").replace("_", "")
    if not (isinstance(base, str) and isinstance(quote, str) and base and quote
            and spelled.startswith(base + quote)):
        raise read.fail([*path, spec.market], "market's base and quote do not spell its id")
    if direction == "flat":
        raise read.fail([*path, spec.side], f"says flat but {spec.size} is not 0 (contradiction)")
    if direction == "size":
        sign = 1.0 if size > 0 else -1.0
    else:
        sign = 1.0 if direction == "long" else -1.0
        if (size < 0 and not spec.signed_size) or (spec.signed_size and size * sign < 0):
            raise read.fail([*path, spec.size], f"sign contradicts {spec.side} (contradiction)")
    contract = _num(mkt.get("contractSize"))
    if contract is None or contract <= 0:
        raise read.fail([*path, spec.market], "market has no contract size")
    qty = sign * abs(size) * contract
    optional = set(spec.optional)

    def field(name: str, *, low: float | None = None, strict: bool = False) -> float | None:
        value = read.number(row, path, name, optional=name in optional)
        if value is not None and low is not None and (value < low or (strict and value == low)):
            raise read.fail([*path, name], "out of range (sign)")
        return value

    def needed(name: str, *, low: float | None = None, strict: bool = False) -> float:
        value = field(name, low=low, strict=strict)
        if value is None:
            raise read.fail([*path, name], "empty")
        return value

    entry = needed(spec.entry_price, low=0.0, strict=True)
    mark = needed(spec.mark_price, low=0.0, strict=True)
    upnl = field(spec.unrealized_pnl)
    liq = field(spec.liquidation_price, low=0.0)
    margin = field(spec.margin, low=0.0)
    leverage = field(spec.leverage, low=0.0, strict=True) if spec.leverage else None
    notional = abs(qty) * mark
    if liq == 0:
        liq = None  # the venue's "no liquidation price"
    if liq is not None and (liq - mark) * sign > 0:
        raise read.fail([*path, spec.liquidation_price],
                        "on the wrong side of the mark for the position's side (contradiction)")
    if upnl is not None and not close_enough(upnl, (mark - entry) * qty, PNL_TOL[0],
                                       PNL_TOL[1] * notional):
        raise read.fail([*path, spec.unrealized_pnl],
                        "does not match (mark - entry) x quantity (contradiction)")
    if spec.signed_notional:
        signed = needed(spec.signed_notional)
        if not close_enough(signed, qty * mark, NOTIONAL_REL_TOL, 0.0):
            raise read.fail([*path, spec.signed_notional],
                            "does not match quantity x mark (contradiction)")
    if leverage is None and margin:
        leverage = notional / margin
    key = PositionKey.of(read.venue, "Perp", f"{base}{quote}")
    return Position(
        key=key, amount=qty, entry_price=entry, mark_price=mark, unrealized_pnl=upnl,
        liquidation_price=liq, margin=margin, leverage=leverage, notional=notional,
    )


def _merge(a: Position, b: Position) -> Position:
    """Two legs of one symbol (hedge mode): quantities and money add, prices of the larger leg.

    A sum with an unknown leg is unknown (None), never the known leg alone.
    """

    def add(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x + y

    big = a if abs(a.amount) >= abs(b.amount) else b
    return big.model_copy(update={
        "amount": a.amount + b.amount, "unrealized_pnl": add(a.unrealized_pnl, b.unrealized_pnl),
        "margin": add(a.margin, b.margin), "notional": add(a.notional, b.notional),
    })


@_typed
def account_info(
    venue: str, spec: AccountSpec, raw: Any, endpoint: str = "account",
    *, decimal_strings: bool = False,
) -> AccountInfo:
    """Account figures from the raw answer of the spec's wallet (``endpoint`` names it in errors).

    Raises:
        BadResponseError: no payload, or a figure missing, unparseable, negative where it
            cannot be, or contradicting the venue's own sum.
    """
    read = FieldReader(venue, endpoint, decimal_strings)
    root = read.container(raw, spec.path, dict)
    optional, nonneg = set(spec.optional), set(spec.nonnegative)

    def field(name: str) -> float | None:
        value = read.number(root, spec.path, name, optional=name in optional)
        if value is not None and name in nonneg and value < 0:
            raise read.fail([*spec.path, name], "negative")
        return value

    read.sums(root, spec.path, spec.checks)
    return AccountInfo(
        quote=spec.quote, margin_balance=field(spec.margin_balance),
        maintenance_margin=field(spec.maintenance_margin),
        initial_margin=field(spec.initial_margin),
    )


def _row_id(row: Mapping[str, Any], index: int) -> str:
    """The venue's id of a parsed row, else its position in the parsed list."""
    ident = row.get("id")
    return repr(ident) if isinstance(ident, str) and ident else f"row {index}"


@_typed
def funding_payments(
    venue: str,
    rows: Iterable[Mapping[str, Any]],
    market: Callable[[str], Mapping[str, Any] | None],
    sign: int = 1,
) -> list[FundingPayment]:
    """Funding payments on linear perps, oldest first; ``sign`` makes amounts 'received'.

    Rows of markets that are not linear perps (or no longer listed) are left out; a row without
    its instrument, or a linear perp's row without its amount or time, fails the answer.
    """
    out = []
    for i, r in enumerate(rows):
        if not r.get("symbol"):
            raise BadResponseError(venue, f"funding {_row_id(r, i)}: no instrument")
        key = _perp_key(venue, market(r["symbol"]))
        if key is None:
            continue
        amount, ts = _num(r.get("amount")), r.get("timestamp")
        if amount is None or ts is None:
            raise BadResponseError(venue, f"funding {_row_id(r, i)}: no amount or time")
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
    withdrawal from the venue to its address. A row without a status fails the answer (it may
    be in transit), and so does an unfinished one without its amount or time.
    """
    wanted = set(statuses)
    out = []
    legs: tuple[tuple[Literal["deposit", "withdrawal"], Iterable[Mapping[str, Any]]], ...] = (
        ("deposit", deposits), ("withdrawal", withdrawals))
    for kind, rows in legs:
        for i, t in enumerate(rows):
            if not t.get("status"):
                raise BadResponseError(venue, f"{kind} {_row_id(t, i)}: no status")
            if t["status"] not in wanted:
                continue
            amount, ts = _num(t.get("amount")), t.get("timestamp")
            if amount is None or ts is None:
                raise BadResponseError(venue, f"{kind} {_row_id(t, i)}: no amount or time")
            if amount == 0:
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
