"""The CEX venue knowledge the live backend reads from ``options`` in configs/venues/<cex>.yaml.

Everything venue-specific the backend needs is data here, so `factory.interfaces.cex_live`
has no per-venue branches::

    options:
      ccxt: {options: {...}, has: {...}}        # ccxt constructor settings
      wallets:                                    # one fetch_balance per wallet
        - {name: spot, params: {type: spot}}
        - {name: futures, params: {type: swap},   # read raw fields instead of ccxt's total
           amounts: {items: [assets], asset: asset, amount: walletBalance}}
      account: {wallet: futures, path: [], quote: USDT, margin_balance: totalMarginBalance,
                maintenance_margin: totalMaintMargin, initial_margin: totalInitialMargin}
      positions: {}                               # fetch_positions params
      funding: {params: {}, sign: 1}              # sign: -1 when the venue reports payments made
      error_codes: {field: code, authentication: [...], permission: [...],
                    rate_limited: [...], unavailable: [...], ip_ban_s: {403: 600}}
      retry_after_headers: [{name: Retry-After, unit: s}]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from factory.config import VenueConfig
from factory.errors import ConfigError

__all__ = [
    "AccountSpec",
    "CexOptions",
    "ErrorCodes",
    "FundingSpec",
    "RawAmounts",
    "RetryAfterHeader",
    "WalletSpec",
    "cex_options",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RawAmounts(_Frozen):
    """Where a wallet's per-asset amounts sit in the raw response (instead of ccxt's total).

    ``items`` is the key/index path from the response root to the list of entries.
    """

    items: list[str | int]
    asset: str
    amount: str


class WalletSpec(_Frozen):
    """One wallet: the ``fetch_balance`` params that read it."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    amounts: RawAmounts | None = None


class AccountSpec(_Frozen):
    """Which raw fields of which wallet's response hold the account figures."""

    wallet: str
    path: list[str | int] = Field(default_factory=list)
    quote: str = "USD"
    margin_balance: str | None = None
    maintenance_margin: str | None = None
    initial_margin: str | None = None


class FundingSpec(_Frozen):
    """``fetch_funding_history`` params and the sign turning amounts into 'received'."""

    params: dict[str, Any] = Field(default_factory=dict)
    sign: Literal[1, -1] = 1


class ErrorCodes(_Frozen):
    """The venue's own error codes, by the typed error they mean (compared as strings)."""

    field: str = "code"
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

    @field_validator("authentication", "permission", "rate_limited", "unavailable", mode="before")
    @classmethod
    def _strings(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v


class RetryAfterHeader(_Frozen):
    """A response header announcing when to retry: seconds, or an epoch in milliseconds."""

    name: str
    unit: Literal["s", "epoch_ms"] = "s"


class CexOptions(_Frozen):
    """A CEX venue's backend settings (see the module docstring)."""

    ccxt: dict[str, Any] = Field(default_factory=dict)
    wallets: list[WalletSpec] = Field(min_length=1)
    account: AccountSpec | None = None
    positions: dict[str, Any] = Field(default_factory=dict)
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
