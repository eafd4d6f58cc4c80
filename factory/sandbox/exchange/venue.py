"""What one emulated exchange is: its routes, its signature check, its error shapes.

A venue module subclasses `VenueEmulator` and registers itself with `register_venue`; the
server dispatches ``/<venue>/<path>`` to it and the CEX contract tests iterate over
`EMULATOR_VENUES`, so a new venue joins them by being registered (no opt-in fixture).

Handlers get an `EmuRequest` and the venue's `VenueAccount` and return a JSON-able body (HTTP
200) or a `Reply` (any status, headers, raw text).
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from factory.sandbox.exchange.limiter import PoolUsage
from factory.sandbox.exchange.model import EmulatorCredentials, VenueAccount

#: Pairs every emulated venue lists even when no account holds them.
DEFAULT_PAIRS = ("BTCUSDT", "ETHUSDT")
#: Prices the emulated venues quote for assets no account sets a mark for.
DEFAULT_PRICES = {"BTC": 60000.0, "ETH": 3000.0, "USDT": 1.0, "USDC": 1.0}
DAY_MS = 86_400_000


def ms(dt: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the venues' time unit)."""
    return int(dt.timestamp() * 1000)


def split_symbol(symbol: str) -> tuple[str, str]:
    """``BTCUSDT`` -> (``BTC``, ``USDT``); the emulated quotes are USDT and USDC."""
    for quote in ("USDT", "USDC"):
        if symbol.endswith(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"exchange emulator: cannot split symbol {symbol!r}")


def pairs_of(account: VenueAccount) -> list[str]:
    """The pairs a venue lists: the defaults plus every pair the account trades or was paid on."""
    seen = dict.fromkeys(DEFAULT_PAIRS)
    seen.update(dict.fromkeys(p.symbol for p in account.perps))
    seen.update(dict.fromkeys(f.symbol for f in account.funding))
    return list(seen)

__all__ = [
    "EMULATOR_VENUES",
    "EmuRequest",
    "Reply",
    "Route",
    "VenueEmulator",
    "hmac_sha256",
    "num",
    "register_venue",
]


@dataclass(frozen=True)
class EmuRequest:
    """One request as the venue sees it (path without the emulator's venue prefix)."""

    method: str
    path: str
    query: Mapping[str, str]
    raw_query: str
    headers: Mapping[str, str]
    body: str
    now: float  # venue server time, seconds

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)


@dataclass
class Reply:
    """A complete answer: status, JSON body (or raw ``text``) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None

    def render(self) -> str:
        return self.text if self.text is not None else json.dumps(self.body)


#: A route handler: called with the emulator subclass that declares the route, the request and
#: the account it is for.
Handler = Callable[[Any, EmuRequest, VenueAccount], Any]


@dataclass(frozen=True)
class Route:
    """A served endpoint: its handler and whether it needs a signature."""

    handler: Handler
    signed: bool = False


class VenueEmulator(abc.ABC):
    """One exchange's wire format.

    Class attributes:
        name: venue id (``binance``), also the URL prefix.
        wallets: wallet names an account may hold on this venue.
        routes: ``(method, path) -> Route``.
        default_credentials: the sandbox key used when a scenario gives none.
    """

    name: ClassVar[str]
    wallets: ClassVar[tuple[str, ...]]
    routes: ClassVar[dict[tuple[str, str], Route]]
    default_credentials: ClassVar[EmulatorCredentials]

    # -- requests ---------------------------------------------------------------------------

    @abc.abstractmethod
    def api_key(self, req: EmuRequest) -> str:
        """Return the API key the request carries ('' if none)."""

    @abc.abstractmethod
    def authenticate(self, req: EmuRequest, creds: EmulatorCredentials) -> Reply | None:
        """Check key, signature and timestamp; return the venue's rejection or None."""

    # -- the venue's error answers ----------------------------------------------------------

    @abc.abstractmethod
    def rate_limited(self, req: EmuRequest, retry_after_s: float, scope: str) -> Reply:
        """Answer a request over a limit (``scope`` is the violated pool's ``ip``/``uid``)."""

    def banned(self, req: EmuRequest, retry_after_s: float) -> Reply:
        """Answer a request from a banned caller (venues without bans answer a 429)."""
        return self.rate_limited(req, retry_after_s, "ip")

    @abc.abstractmethod
    def server_error(self, req: EmuRequest, status: int) -> Reply:
        """Answer an internal error / unavailable."""

    @abc.abstractmethod
    def not_found(self, req: EmuRequest) -> Reply:
        """Answer an unknown path."""

    def usage_headers(self, req: EmuRequest, usage: tuple[PoolUsage, ...]) -> dict[str, str]:
        """Headers reporting rate-limit usage after a charged request (none by default)."""
        return {}

    # -- helpers ------------------------------------------------------------------------------

    def check_wallets(self, account: VenueAccount) -> list[str]:
        """Return problems with an account's wallet names for this venue."""
        return [
            f"{self.name}: wallet {w!r} is not one of {', '.join(self.wallets)}"
            for w in account.wallets
            if w not in self.wallets
        ]


EMULATOR_VENUES: dict[str, type[VenueEmulator]] = {}


def register_venue(cls: type[VenueEmulator]) -> type[VenueEmulator]:
    """Class decorator: serve ``cls`` under ``/<cls.name>``; a name registers once."""
    existing = EMULATOR_VENUES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"emulator venue {cls.name!r} is already registered to {existing}")
    EMULATOR_VENUES[cls.name] = cls
    return cls


def hmac_sha256(secret: str, payload: str) -> bytes:
    """HMAC-SHA256 digest of ``payload`` under ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()


def num(value: float, places: int = 8) -> str:
    """Format a number the way exchanges do: a fixed-point decimal string."""
    return f"{(value if value != 0 else 0.0):.{places}f}"
