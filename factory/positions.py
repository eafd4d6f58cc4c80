"""Domain models: position keys, positions and snapshots (see ARCHITECTURE.md, Contracts).

A `PositionKey` is a validated ``venue:type:symbol`` string. It is a ``str`` subclass so that
snapshots stay plain JSON-friendly dicts while every key in them has been checked once.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from factory.models import FrozenModel

__all__ = [
    "AccountInfo",
    "Alert",
    "ExecutionMode",
    "PortfolioSnapshot",
    "Position",
    "PositionKey",
    "PositionType",
    "ReconciliationItem",
    "ReconciliationResult",
    "RiskSummary",
    "Rollup",
    "Transfer",
    "Unknown",
    "VenueSnapshot",
    "VenueStatus",
    "utc",
]

ExecutionMode = Literal["live", "backtest"]
VenueStatus = Literal["ok", "stale", "error", "missing"]


class PositionType(StrEnum):
    """The five position types of the canonical key."""

    BaseToken = "BaseToken"
    Perp = "Perp"
    aToken = "aToken"
    debtToken = "debtToken"
    LST = "LST"


#: a venue id, or an account of one: ``binance``, ``binance.sub1`` (factory.accounts)
_VENUE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)?$")
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9.]+$")
_PERP_RE = re.compile(r"^[A-Z0-9]+(USDT|USDC|USD)$")


def _parse_key(value: object) -> tuple[str, PositionType, str]:
    """Validate a key's text and return its parts (see `PositionKey`)."""
    if not isinstance(value, str):
        raise ValueError(  # noqa: TRY004 - pydantic reports a ValueError as a validation error
            f"position key must be a string, got {type(value).__name__}"
        )
    parts = value.split(":")
    if len(parts) != 3:
        raise ValueError(f"position key {value!r} must have exactly three parts venue:type:symbol")
    venue, ptype, symbol = parts
    if not _VENUE_RE.match(venue):
        raise ValueError(
            f"position key {value!r}: venue {venue!r} must be lower-case [a-z0-9_], or "
            "exchange.account for an account (binance.sub1)"
        )
    if ptype not in _TYPES:
        allowed = ", ".join(PositionType.__members__)
        raise ValueError(f"position key {value!r}: type {ptype!r} is not one of {allowed}")
    if not _SYMBOL_RE.match(symbol):
        raise ValueError(
            f"position key {value!r}: symbol {symbol!r} must be venue-neutral "
            "(letters and digits only, e.g. BTCUSDT, not BTC-USDT-SWAP or BTC/USDT)"
        )
    if ptype == "Perp" and not _PERP_RE.match(symbol):
        raise ValueError(
            f"position key {value!r}: a Perp symbol is BASE+QUOTE in capitals, e.g. BTCUSDT"
        )
    if ptype == "aToken" and not (symbol.startswith("a") and len(symbol) > 1):
        raise ValueError(f"position key {value!r}: an aToken symbol is 'a'+reserve, e.g. aWETH")
    if ptype == "debtToken" and not (symbol.startswith("debt") and len(symbol) > 4):
        raise ValueError(
            f"position key {value!r}: a debtToken symbol is 'debt'+reserve, e.g. debtWETH"
        )
    return venue, _TYPES[ptype], symbol


_TYPES = {t.value: t for t in PositionType}
_KEY_CACHE_SIZE = 100_000
_KEYS: dict[str, PositionKey] = {}
_PARTS: dict[str, tuple[str, PositionType, str]] = {}


class PositionKey(str):
    """A canonical position key ``venue:type:symbol``, e.g. ``okx:Perp:BTCUSDT``.

    Raises:
        ValueError: the key does not have exactly three parts, an unknown type, a venue-specific
            spelling (``BTC-USDT-SWAP``, ``BTC/USDT``) or an AAVE token without its prefix.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> PositionKey:  # noqa: PYI034 - the cache holds PositionKeys
        if type(value) is PositionKey:
            return value
        cached = _KEYS.get(value) if isinstance(value, str) else None
        if cached is not None:
            return cached
        parts = _parse_key(value)
        key = str.__new__(cls, value)
        if len(_KEYS) < _KEY_CACHE_SIZE:  # keys are few and reused: validate each once
            _KEYS[value] = key
            _PARTS[value] = parts
        return key

    @classmethod
    def of(cls, venue: str, ptype: str | PositionType, symbol: str) -> PositionKey:
        """Build a key from its parts."""
        return cls(f"{venue}:{ptype}:{symbol}")

    def _parts(self) -> tuple[str, PositionType, str]:
        parts = _PARTS.get(self)
        return parts if parts is not None else _parse_key(str(self))

    @property
    def venue(self) -> str:
        return self._parts()[0]

    @property
    def type(self) -> PositionType:
        return self._parts()[1]

    @property
    def symbol(self) -> str:
        return self._parts()[2]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


def utc(ts: datetime | str | float | None = None) -> datetime:
    """Return an aware UTC datetime from a datetime, ISO string or epoch seconds (now if None)."""
    if ts is None:
        return datetime.now(UTC)
    if isinstance(ts, datetime):
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if isinstance(ts, (int, float)):
        try:
            return datetime.fromtimestamp(float(ts), tz=UTC)
        except (OverflowError, OSError):  # OSError: EOVERFLOW from the platform's gmtime
            raise ValueError(f"timestamp {ts!r} is out of range") from None
    if isinstance(ts, str):
        return utc(datetime.fromisoformat(ts.replace("Z", "+00:00")))  # noqa: FURB162 - "…-01Z" too
    # pandas Timestamp and friends
    to_py = getattr(ts, "to_pydatetime", None)
    if to_py is not None:
        return utc(to_py())
    raise TypeError(f"cannot read a timestamp from {type(ts).__name__}")


class _Model(FrozenModel):
    @classmethod
    def trusted(cls, **values: Any):
        """Build from values that are already valid, skipping validation (hot paths only:
        the simulated ledger and the aggregation of already validated snapshots).

        Fields not given take their declared defaults (a fresh copy for mutable ones).
        """
        static, factories = _defaults(cls)
        data = dict(static)
        for name, factory in factories:
            if name not in values:
                data[name] = factory()
        data.update(values)
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", data)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


_DEFAULTS: dict[type, tuple[dict[str, Any], list[tuple[str, Any]]]] = {}


def _defaults(cls: type[BaseModel]) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """A model's plain defaults and its default factories, computed once per model."""
    got = _DEFAULTS.get(cls)
    if got is None:
        fields = cls.model_fields.items()
        got = ({n: f.default for n, f in fields if f.default_factory is None},
               [(n, f.default_factory) for n, f in fields if f.default_factory is not None])
        _DEFAULTS[cls] = got
    return got


def _finite(name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


class Position(_Model):
    """One position on one venue, in native units of its symbol.

    ``amount`` is signed: a short perp is negative; an aToken/debtToken is the underlying amount
    including accrued interest. The optional fields carry what the venue gives.
    """

    key: PositionKey
    amount: float
    entry_price: float | None = None
    mark_price: float | None = None
    unrealized_pnl: float | None = None
    liquidation_price: float | None = None
    margin: float | None = None
    leverage: float | None = None
    notional: float | None = None
    rate: float | None = Field(default=None, description="LST rate in its underlying (1e18 units)")

    @field_validator(
        "amount", "entry_price", "mark_price", "unrealized_pnl", "liquidation_price", "margin",
        "leverage", "notional", "rate",
    )
    @classmethod
    def _check_finite(cls, v, info):
        return _finite(info.field_name, v)


class AccountInfo(_Model):
    """Venue-level account figures, when the venue reports them.

    CEX: ``margin_balance`` (wallet + unrealized PnL of the perp account) and
    ``maintenance_margin`` in the quote currency. AAVE: collateral/debt in the base currency (USD),
    ``health_factor`` (None when there is no debt), ``ltv`` and ``liquidation_threshold`` as
    fractions (0.80, not 8000 bps).
    """

    quote: str = "USD"
    margin_balance: float | None = None
    maintenance_margin: float | None = None
    initial_margin: float | None = None
    total_collateral: float | None = None
    total_debt: float | None = None
    available_borrows: float | None = None
    health_factor: float | None = None
    ltv: float | None = None
    liquidation_threshold: float | None = None


class Transfer(_Model):
    """Money in transit: sent but not yet credited/confirmed."""

    id: str
    asset: str
    amount: float
    source: str
    destination: str
    kind: Literal["chain", "deposit", "withdrawal"]
    venue: str
    started_at: datetime
    age_s: float = 0.0
    tx_hash: str | None = None


class VenueSnapshot(_Model):
    """What one venue reported at one time.

    ``timestamp`` is when the venue says the data is from (server time, or the block timestamp
    with ``block_number`` on chain); ``fetched_at`` is when we received it.
    """

    venue: str
    execution_mode: ExecutionMode
    timestamp: datetime
    fetched_at: datetime
    block_number: int | None = None
    latency_s: float = 0.0
    attempts: int = 1
    status: VenueStatus = "ok"
    error: str | None = None
    age_s: float = 0.0
    positions: dict[PositionKey, Position] = Field(default_factory=dict)
    account: AccountInfo | None = None
    transfers: list[Transfer] = Field(default_factory=list)
    transfers_unknown: str | None = Field(
        default=None,
        description="why the transfers in transit are not fully known (None: every source read)",
    )
    rates: dict[str, float] = Field(
        default_factory=dict,
        description="LST rates this venue read, per token symbol (underlying per token), "
        "whether or not the desk holds the token here",
    )

    @model_validator(mode="after")
    def _keys_match(self) -> VenueSnapshot:
        for key, pos in self.positions.items():
            if key != pos.key:
                raise ValueError(f"position stored under {key!r} has key {pos.key!r}")
            if key.venue != self.venue:
                raise ValueError(f"position {key!r} does not belong to venue {self.venue!r}")
        return self

    def amounts(self) -> dict[str, float]:
        """Return the flat ``{key: amount}`` view."""
        return {k: p.amount for k, p in self.positions.items()}


class Unknown(_Model):
    """Why a figure of a `PortfolioSnapshot` is null.

    Attributes:
        reason: what is unknown, e.g. ``"okx missing (AuthenticationError: ...)"``.
        waiting_for: the venues whose answer would make the figure known again.
    """

    reason: str
    waiting_for: list[str] = Field(default_factory=list)


class RiskSummary(_Model):
    """Risk figures derived from the venue snapshots.

    A null value is unknown when the portfolio's ``unknown`` names it (``risk.ltv.aave_v3``);
    a null health factor that ``unknown`` does not name means the account has no debt.
    """

    health_factor: dict[str, float | None] = Field(default_factory=dict)
    ltv: dict[str, float | None] = Field(default_factory=dict)
    margin_ratio: dict[str, float | None] = Field(default_factory=dict)
    distance_to_liquidation: dict[PositionKey, float | None] = Field(default_factory=dict)


class ReconciliationItem(_Model):
    """Expected vs real for one key."""

    key: PositionKey
    expected: float
    real: float | None
    diff: float | None
    tolerance: float
    status: Literal["ok", "mismatch", "unknown"]


class ReconciliationResult(_Model):
    """Expected vs real positions for every key either side knows."""

    items: list[ReconciliationItem] = Field(default_factory=list)

    @property
    def mismatches(self) -> list[ReconciliationItem]:
        return [i for i in self.items if i.status == "mismatch"]

    @property
    def ok(self) -> bool:
        return not any(i.status != "ok" for i in self.items)


class Alert(_Model):
    """A threshold crossed in a snapshot (health factor, margin, delta, staleness, mismatch)."""

    kind: Literal["health_factor", "margin_ratio", "net_delta", "staleness", "reconciliation",
                  "missing_venue", "unknown"]
    severity: Literal["warning", "critical"] = "warning"
    venue: str | None = None
    key: str | None = None
    value: float | None = None
    threshold: float | None = None
    message: str


class Rollup(_Model):
    """Net exposure of one group of venues (an exchange, an account or a tag).

    Built like the desk total over the group's venues only: stale venues count with their
    last good positions (``exposure_age_s``), a missing venue expected to hold a leg of an
    underlying makes that underlying null (why in ``unknown["net_exposure.<U>"]``).
    ``complete`` is True only when every venue of the group is fresh, none is missing and no
    figure of the group is unknown; otherwise ``reason`` names the venues that are not.
    """

    venues: list[str] = Field(default_factory=list)
    net_exposure: dict[str, float | None] = Field(default_factory=dict)
    exposure_age_s: dict[str, float] = Field(default_factory=dict)
    unknown: dict[str, Unknown] = Field(default_factory=dict)
    complete: bool = False
    reason: str | None = None


class PortfolioSnapshot(_Model):
    """One consistent view over every enabled venue.

    ``complete`` is True only when every venue is fresh (status ``ok``), nothing is missing, every
    venue's transfers in transit are known and no figure is unknown. A stale venue keeps its last
    good positions (counted in ``positions``, their age in ``exposure_age_s``); a missing one
    contributes nothing and is listed in ``missing``: unknown is never read as flat.

    Every figure that needs an unknown input (net exposure, USD value, LTV, margin ratio,
    distance to liquidation, health factor) is null, and ``unknown`` says why under the figure's
    path, e.g. ``unknown["net_exposure.ETH"] = Unknown(reason="okx missing (...)",
    waiting_for=["okx"])``. Unknown transfers in transit are listed under
    ``transfers_in_transit.<venue>``.

    ``by_exchange``, ``by_account`` and ``by_tag`` roll the same venues up per exchange
    (``binance`` holds ``binance`` and ``binance.sub1``), per account (one venue id each) and
    per account tag, beside the desk total (`Rollup`).
    """

    timestamp: datetime
    execution_mode: ExecutionMode
    venues: dict[str, VenueSnapshot] = Field(default_factory=dict)
    positions: dict[PositionKey, float] = Field(default_factory=dict)
    net_exposure: dict[str, float | None] = Field(default_factory=dict)
    exposure_age_s: dict[str, float] = Field(
        default_factory=dict,
        description="per underlying, the age of the oldest stale leg counted in net_exposure",
    )
    usd_value: dict[str, float | None] = Field(default_factory=dict)
    risk: RiskSummary = Field(default_factory=RiskSummary)
    unknown: dict[str, Unknown] = Field(default_factory=dict)
    reconciliation: ReconciliationResult | None = None
    missing: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    complete: bool = False
    latency_s: float = 0.0
    by_exchange: dict[str, Rollup] = Field(default_factory=dict)
    by_account: dict[str, Rollup] = Field(default_factory=dict)
    by_tag: dict[str, Rollup] = Field(default_factory=dict)
