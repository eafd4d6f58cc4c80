"""Venue-neutral accounts, scenarios, faults and request records of the exchange emulator.

An account is written once in neutral terms (wallet balances per asset, perp positions as a
signed base quantity with entry/mark/leverage, funding payments received, deposits and
withdrawals) and each venue module renders it in its own wire format (okx contracts of 0.01 BTC,
binance ``positionAmt``, bybit ``side`` + ``size``...).

A scenario is a YAML file or dict ``{venues: {binance: {...}, bybit: {...}}}``; see
configs/sandbox.yaml.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from factory.errors import ConfigError
from factory.models import FrozenModel
from factory.positions import utc
from factory.yamlfile import read_yaml

__all__ = [
    "EmulatorCredentials",
    "Fault",
    "FaultKind",
    "FundingEntry",
    "PerpPosition",
    "RequestRecord",
    "Scenario",
    "TransferEntry",
    "VenueAccount",
    "load_scenario",
]


class EmulatorCredentials(FrozenModel):
    """The key the emulator accepts for one venue (sandbox values, never real ones)."""

    api_key: str
    secret: str
    passphrase: str | None = None


class PerpPosition(FrozenModel):
    """A linear perp position: ``quantity`` is the signed base quantity (short < 0).

    Derived figures follow the usual linear-contract formulas; ``liquidation_price`` defaults to
    the isolated-margin estimate ``entry * (1 -+ 1/leverage +- mmr)``.
    """

    symbol: str = Field(pattern=r"^[A-Z0-9]+(USDT|USDC)$")
    quantity: float
    entry_price: float = Field(gt=0)
    mark_price: float = Field(gt=0)
    leverage: float = Field(default=5.0, gt=0)
    margin_mode: Literal["cross", "isolated"] = "cross"
    maintenance_margin_rate: float = Field(default=0.004, ge=0, lt=1)
    liquidation_price: float | None = None
    updated_at: datetime | None = None

    @property
    def base(self) -> str:
        return self.symbol[: -len(self.quote)]

    @property
    def quote(self) -> str:
        return "USDT" if self.symbol.endswith("USDT") else "USDC"

    @property
    def notional(self) -> float:
        return abs(self.quantity) * self.mark_price

    @property
    def unrealized_pnl(self) -> float:
        return self.quantity * (self.mark_price - self.entry_price)

    @property
    def initial_margin(self) -> float:
        return self.notional / self.leverage

    @property
    def maintenance_margin(self) -> float:
        return self.notional * self.maintenance_margin_rate

    @property
    def liquidation(self) -> float:
        if self.liquidation_price is not None:
            return self.liquidation_price
        step = 1.0 / self.leverage - self.maintenance_margin_rate
        factor = 1.0 + step if self.quantity < 0 else 1.0 - step
        return max(self.entry_price * factor, 0.0)


class _Timed(FrozenModel):
    """An event at ``time``, or ``age_s`` seconds before the emulator's clock when asked."""

    time: datetime | None = None
    age_s: float | None = Field(default=None, ge=0)

    @field_validator("time")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else utc(v)

    @model_validator(mode="after")
    def _one_time(self) -> _Timed:
        if (self.time is None) == (self.age_s is None):
            raise ValueError("give exactly one of time (absolute) or age_s (seconds ago)")
        return self

    def at(self, now: float) -> datetime:
        """The event time, given the emulator's clock ``now`` (epoch seconds)."""
        return self.time if self.time is not None else utc(now - (self.age_s or 0.0))


class FundingEntry(_Timed):
    """A funding payment on a perp: ``amount`` > 0 means the account received it."""

    symbol: str
    amount: float
    asset: str = "USDT"
    id: str | None = None
    rate: float | None = None


class TransferEntry(_Timed):
    """A deposit or withdrawal; ``pending`` ones are money in transit."""

    id: str
    asset: str
    amount: float = Field(gt=0)
    status: Literal["pending", "ok", "failed"] = "pending"
    address: str = "0x0000000000000000000000000000000000000001"
    txid: str = ""
    network: str = "ETH"


class VenueAccount(FrozenModel):
    """One exchange account in neutral terms.

    ``wallets`` maps a wallet name the venue knows (binance ``spot``/``futures``, bybit
    ``unified``, okx ``trading``/``funding``) to ``{asset: amount}``.
    """

    credentials: EmulatorCredentials | None = None
    wallets: dict[str, dict[str, float]] = Field(default_factory=dict)
    perps: list[PerpPosition] = Field(default_factory=list)
    funding: list[FundingEntry] = Field(default_factory=list)
    deposits: list[TransferEntry] = Field(default_factory=list)
    withdrawals: list[TransferEntry] = Field(default_factory=list)

    @field_validator("wallets")
    @classmethod
    def _finite(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for wallet, assets in v.items():
            for asset, amount in assets.items():
                if not math.isfinite(amount):
                    raise ValueError(f"{wallet}.{asset} must be a finite number")
        return v

    def wallet(self, name: str) -> dict[str, float]:
        return dict(self.wallets.get(name, {}))

    def expected_amounts(self, venue: str) -> dict[str, float]:
        """The canonical ``{key: amount}`` a correct live interface reports for this account.

        Wallet balances sum per asset into ``venue:BaseToken:SYM``; perps are
        ``venue:Perp:SYMBOL`` with the signed base quantity; zero amounts are left out. This is
        venue-neutral, so the CEX contract tests hold every registered venue to it.
        """
        out: dict[str, float] = {}
        for assets in self.wallets.values():
            for asset, amount in assets.items():
                key = f"{venue}:BaseToken:{asset}"
                out[key] = out.get(key, 0.0) + amount
        for p in self.perps:
            key = f"{venue}:Perp:{p.symbol}"
            out[key] = out.get(key, 0.0) + p.quantity
        return {k: v for k, v in out.items() if v != 0}

    def pending_transfers(self) -> dict[str, float]:
        """``{id: amount}`` of the deposits and withdrawals still in transit."""
        moving = [*self.deposits, *self.withdrawals]
        return {t.id: t.amount for t in moving if t.status == "pending"}


class Scenario(FrozenModel):
    """Accounts per venue id."""

    venues: dict[str, VenueAccount] = Field(default_factory=dict)


def load_scenario(source: str | Path | dict[str, Any] | Scenario | None) -> Scenario:
    """Read a scenario from a YAML file, a dict or a `Scenario` (None is empty).

    Raises:
        ConfigError: naming the source, the field and what was expected.
    """
    if source is None:
        return Scenario()
    if isinstance(source, Scenario):
        return source
    name = "<scenario dict>"
    raw: Any = source
    if isinstance(source, (str, Path)):
        name = str(source)
        raw = read_yaml(source) or {}
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        problems = [
            f"{name}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        ]
        raise ConfigError(problems) from None


FaultKind = Literal[
    "latency", "server_error", "hang", "malformed_json", "rate_limit", "clock_skew"
]


class Fault(FrozenModel):
    """A fault injected into one venue's answers.

    Args:
        kind: ``latency`` (answer after ``delay_s``), ``server_error`` (HTTP ``status``),
            ``hang`` (never answer; the connection stays open until the client gives up),
            ``malformed_json`` (HTTP 200 with a truncated body), ``rate_limit`` (the venue's
            429 answer, counted as a violation so repeated ones lead to a ban where the venue
            bans), ``clock_skew`` (signed requests are checked against a clock ``offset_s`` off
            while the time endpoint keeps the venue's own clock: a skew a client's resync from
            the server time cannot fix, answered with the venue's timestamp-window error).
        count: how many requests it affects (None: until cleared).
        path_prefix: only requests whose venue path starts with this.
        retry_after_s: for ``rate_limit``: the wait to announce where the venue announces one.
        scope: for ``rate_limit``: which limit is hit, ``uid`` (per key) or ``ip``; venues
            answer them differently (bybit: retCode 10006 vs HTTP 403).
    """

    kind: FaultKind
    delay_s: float = Field(default=0.0, ge=0)
    status: int = Field(default=503, ge=500, le=599)
    count: int | None = Field(default=None, ge=1)
    path_prefix: str = ""
    retry_after_s: float | None = Field(default=None, ge=0)
    scope: Literal["ip", "uid"] = "uid"
    offset_s: float = 0.0


class RequestRecord(FrozenModel):
    """One request the emulator received, for tests and demos to audit the traffic."""

    venue: str
    time: float
    method: str
    path: str
    query: str
    endpoint: str | None
    weight: float
    status: int
    signed: bool
    outcome: str = "ok"
