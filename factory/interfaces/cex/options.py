"""The CEX venue knowledge the live backend reads from ``options`` in configs/venues/<cex>.yaml.

Everything venue-specific the backend needs is data here, so `factory.interfaces.cex.live`
and `factory.interfaces.cex.mapping` have no per-venue branches. Amounts, sides and margin
figures are read from the venue's raw JSON through the field names below, never from ccxt's
unified defaults (see "Strict venue mapping" in docs/specs/07B_EXECUTION_INTERFACES.md)::

    options:
      ccxt: {options: {...}, has: {...}}        # ccxt constructor settings
      wallets:                                    # one fetch_balance per wallet, read raw
        - {name: spot, params: {type: spot}, rows: [balances], asset: asset,
           amounts: [free, locked], nonnegative: true}
        - {name: futures, params: {type: swap}, rows: [assets], asset: asset,
           amounts: [walletBalance],
           checks: [{parts: [walletBalance, unrealizedProfit], total: marginBalance}]}
      account: {wallet: futures, path: [], quote: USDT, margin_balance: totalMarginBalance,
                maintenance_margin: totalMaintMargin, initial_margin: totalInitialMargin,
                nonnegative: [...], optional: [...], checks: [...]}
      positions:                                  # one raw ccxt call, rows read by field name
        {call: fapiPrivateV3GetPositionRisk, params: {}, rows: [], market: symbol,
         size: positionAmt, side: positionSide, sides: {BOTH: size, LONG: long, SHORT: short},
         signed_size: true, entry_price: entryPrice, mark_price: markPrice, ...}
      decimal_strings: true                       # every decimal the venue sends is a JSON string
      funding: {params: {}, sign: 1}              # sign: -1 when the venue reports payments made
      error_codes: {field: code, clock_skew: [...], authentication: [...], permission: [...],
                    rate_limited: [...], unavailable: [...], ip_ban_s: {403: 600}}
      retry_after_headers: [{name: Retry-After, unit: s}]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from factory.config import VenueConfig
from factory.errors import ConfigError
from factory.models import FrozenModel

__all__ = [
    "AccountSpec",
    "CexOptions",
    "ErrorCodes",
    "FundingSpec",
    "MarketKind",
    "PositionsSpec",
    "RetryAfterHeader",
    "SumCheck",
    "WalletSpec",
    "cex_options",
]


class SumCheck(FrozenModel):
    """A redundancy the venue sends: ``sum(parts) == total`` (within `cex_mapping.SUM_TOL`).

    Checked on a row when every field is present; a mismatch means a field was misread or
    mis-signed and fails the snapshot.
    """

    parts: list[str] = Field(min_length=1)
    total: str


class WalletSpec(FrozenModel):
    """One wallet: the ``fetch_balance`` params and where its per-asset amounts sit raw.

    ``rows`` is the key/index path from the raw answer to the list of per-asset entries (it must
    be there and be a list; ``endpoint`` names the request in errors); each entry's ``asset`` names the asset and the ``amounts`` fields
    (each required, each a number) add up to its balance.
    """

    name: str
    endpoint: str
    params: dict[str, Any] = Field(default_factory=dict)
    rows: list[str | int]
    asset: str
    amounts: list[str] = Field(min_length=1)
    nonnegative: bool = False
    checks: list[SumCheck] = Field(default_factory=list)


class AccountSpec(FrozenModel):
    """Which raw fields of which wallet's answer hold the account figures.

    Each named field must be present and numeric; a field in ``optional`` may be ``""`` (the
    venue's "not applicable in this account mode"), which reads as unknown (None), never 0.
    """

    wallet: str
    path: list[str | int] = Field(default_factory=list)
    quote: str = "USD"
    margin_balance: str
    maintenance_margin: str
    initial_margin: str
    nonnegative: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    checks: list[SumCheck] = Field(default_factory=list)


Direction = Literal["size", "long", "short", "flat"]


class MarketKind(FrozenModel):
    """Which raw fields of the venue's instrument say what a market is.

    The kind is the values of ``fields`` joined by ``/`` (okx ``SWAP/linear``). A position row
    maps only when its instrument's kind is one of ``perpetual`` (a linear perpetual) and is left
    out only when it is one of ``other`` (inverse, dated); any other kind (a field missing
    included) fails the answer. ccxt's own classification is not trusted alone: it reads a
    market without its type as something else.
    """

    fields: list[str] = Field(min_length=1)
    perpetual: list[str] = Field(min_length=1)
    other: list[str] = Field(default_factory=list)


class PositionsSpec(FrozenModel):
    """The raw positions request and the field names of its rows.

    ``call`` is the ccxt implicit API method (the venue's own endpoint), ``rows`` the path from
    its answer to the list of positions. ``sides`` maps each value of the ``side`` field to where
    the direction comes from: ``size`` (the size field is signed: binance one-way, okx net),
    ``long`` / ``short`` (hedge legs, bybit Buy/Sell), ``flat`` (only with a size of exactly 0).
    With ``signed_size`` the size is signed in every mode and must agree with a long/short side
    (binance hedge mode); otherwise a long/short size must not be negative. ``market_kind`` says
    which instruments are linear perpetuals (`MarketKind`). The base quantity is
    ``|size| x`` the market's contract size. Fields listed in ``optional`` may be ``""`` for
    "none" (no liquidation price); a liquidation price of 0 also means none.
    ``signed_notional`` names a signed notional the venue sends, cross-checked against the
    quantity; ``leverage: null`` derives leverage from notional / margin. ``page_size``: the
    request reads one page of that many rows; a full page fails the answer, since positions
    may follow on the next page and a book without them is not the book.
    """

    call: str
    endpoint: str
    params: dict[str, Any] = Field(default_factory=dict)
    rows: list[str | int] = Field(default_factory=list)
    market_type: str = "swap"
    market_kind: MarketKind
    market: str
    size: str
    side: str
    sides: dict[str, Direction] = Field(min_length=1)
    signed_size: bool = False
    entry_price: str
    mark_price: str
    unrealized_pnl: str
    liquidation_price: str
    margin: str
    leverage: str | None = None
    signed_notional: str | None = None
    optional: list[str] = Field(default_factory=list)
    page_size: int | None = Field(default=None, ge=1)


class FundingSpec(FrozenModel):
    """``fetch_funding_history`` params and the sign turning amounts into 'received'."""

    params: dict[str, Any] = Field(default_factory=dict)
    sign: Literal[1, -1] = 1


class ErrorCodes(FrozenModel):
    """The venue's own error codes, by the typed error they mean (compared as strings)."""

    field: str = "code"
    clock_skew: list[str] = Field(default_factory=list)
    authentication: list[str] = Field(default_factory=list)
    permission: list[str] = Field(default_factory=list)
    rate_limited: list[str] = Field(default_factory=list)
    unavailable: list[str] = Field(default_factory=list)
    #: HTTP status -> seconds the venue bans the IP for when it answers that status with no
    #: retry header (bybit 403 "access too frequent": "wait for at least 10 minutes")
    ip_ban_s: dict[str, float] = Field(default_factory=dict)

    @field_validator("ip_ban_s", mode="before")
    @classmethod
    def _status_keys(cls, v: Any) -> Any:
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v

    @field_validator(
        "clock_skew", "authentication", "permission", "rate_limited", "unavailable", mode="before"
    )
    @classmethod
    def _strings(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v


class RetryAfterHeader(FrozenModel):
    """A response header announcing when to retry: seconds, or an epoch in milliseconds."""

    name: str
    unit: Literal["s", "epoch_ms"] = "s"


class CexOptions(FrozenModel):
    """A CEX venue's backend settings (see the module docstring)."""

    ccxt: dict[str, Any] = Field(default_factory=dict)
    wallets: list[WalletSpec] = Field(min_length=1)
    account: AccountSpec | None = None
    positions: PositionsSpec
    decimal_strings: bool = False
    time: dict[str, Any] = Field(default_factory=dict)
    funding: FundingSpec = Field(default_factory=FundingSpec)
    deposits: dict[str, Any] = Field(default_factory=dict)
    withdrawals: dict[str, Any] = Field(default_factory=dict)
    in_transit_statuses: list[str] = Field(default_factory=lambda: ["pending", "processing"])
    error_codes: ErrorCodes = Field(default_factory=ErrorCodes)
    retry_after_headers: list[RetryAfterHeader] = Field(
        default_factory=lambda: [RetryAfterHeader(name="Retry-After")]
    )

    @field_validator("account")
    @classmethod
    def _known_wallet(cls, v: AccountSpec | None, info: Any) -> AccountSpec | None:
        names = {w.name for w in info.data.get("wallets") or []}
        if v is not None and names and v.wallet not in names:
            raise ValueError(
                f"account.wallet {v.wallet!r} is not one of the wallets {sorted(names)}"
            )
        return v


def cex_options(config: VenueConfig) -> CexOptions:
    """Read a CEX venue's ``options`` into `CexOptions`.

    Raises:
        ConfigError: naming the venue, the field under ``options`` and what was expected.
    """
    try:
        return CexOptions.model_validate(config.options)
    except ValidationError as e:
        raise ConfigError([
            f"configs/venues/{config.venue}.yaml: options.{'.'.join(str(p) for p in err['loc'])}: "
            f"{err['msg']}"
            for err in e.errors()
        ]) from None
