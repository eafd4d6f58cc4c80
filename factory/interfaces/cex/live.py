"""CEXLiveBackend: one exchange account read through the real ccxt async client.

One client per backend, built on the first call (constructing the backend needs no
credentials and no network). Every venue-specific detail comes from the venue config: the ccxt
id and settings, the wallets to read, where the account figures sit, the error codes, the
endpoint weights the hooks report. Every failure leaves as a typed error of factory/errors.py,
translated once (`factory.interfaces.cex.errors`).

A snapshot is: markets (first call only) -> the first wallet (one signed request, so bad
credentials fail before anything else is sent) -> server time, the other wallets and the perp
positions (the raw endpoint named in ``options.positions.call``) concurrently. Its ``timestamp``
is the venue's server time. Amounts are read from the raw answers by the strict mapping
(`factory.interfaces.cex.mapping`): a missing field fails the snapshot, it never shrinks it.

Clock skew: when the venue rejects a request timestamp as outside its window
(`ClockSkewError`, binance -1021, bybit 10002, okx 50102), the backend resyncs ccxt's clock
offset from the venue's server time (``load_time_difference``) and retries the snapshot once;
only a second rejection leaves, as `ClockSkewError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from factory.config import VenueConfig
from factory.errors import BadResponseError, ClockSkewError, VenueError
from factory.interfaces.cex.ccxt_import import base_errors
from factory.interfaces.cex.client import Transport, Wire, build_client
from factory.interfaces.cex.errors import PARSE_ERRORS, translate_error
from factory.interfaces.cex.hooks import EndpointResolver, RequestHooks
from factory.interfaces.cex.mapping import (
    UNREADABLE,
    FundingPayment,
    account_info,
    balance_positions,
    funding_payments,
    perp_positions,
    transfers_in_transit,
    wallet_amounts,
)
from factory.interfaces.cex.options import cex_options
from factory.positions import Transfer, VenueSnapshot, utc

__all__ = ["MIN_SERVER_TIME_MS", "CEXLiveBackend"]

ccxt = base_errors()  # ccxt's exception classes, without ccxt's ~110 exchanges

#: A server time before this (2017-07-14) is not a venue's clock: an epoch default or garbage.
MIN_SERVER_TIME_MS = 1_500_000_000_000


class CEXLiveBackend:
    """Live positions of one CEX account (implements `PositionBackend`).

    Args:
        venue_config: the venue's config (``kind: cex``).
        hooks: request hooks (rate limiter); may be replaced later through ``hooks``.
        environ: where credentials and ``BASIS_<VENUE>_API_BASE_URL`` are read (default
            ``os.environ``), read on the first call.
        clock: epoch seconds (fetched_at, latency, transfer ages).
        transport: in-process stand-in for HTTP (unit tests with canned payloads).

    Raises:
        ConfigError: the venue's ``options`` are not a valid CEX description.
    """

    def __init__(
        self,
        venue_config: VenueConfig,
        hooks: RequestHooks | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        transport: Transport | None = None,
    ):
        self.venue = venue_config.venue
        self.config = venue_config
        self.options = cex_options(venue_config)
        self.hooks = hooks or RequestHooks()
        self._environ = environ
        self._clock = clock
        self._transport = transport
        self._client: Any = None

    def __repr__(self) -> str:
        return f"CEXLiveBackend(venue={self.venue!r})"

    # -- client -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """The effective base-URL override (environment first, then config)."""
        env = None if self._environ is None else dict(self._environ)
        return self.config.base_url(env)

    @property
    def client(self) -> Any:
        """The ccxt client, built on first use.

        Raises:
            MissingCredentialError: naming the environment variable to set.
        """
        if self._client is None:
            env = None if self._environ is None else dict(self._environ)
            creds = self.config.credentials
            settings = {
                "apiKey": creds.read(self.venue, "api_key_env", env).get_secret_value(),
                "secret": creds.read(self.venue, "api_secret_env", env).get_secret_value(),
            }
            if creds.passphrase_env:
                passphrase = creds.read(self.venue, "passphrase_env", env)
                settings["password"] = passphrase.get_secret_value()
            base = self.base_url
            wire = Wire(self.venue, self.options, EndpointResolver(self.config.rate_limits, base),
                        lambda: self.hooks, self._transport, self._clock)
            self._client = build_client(self.config, self.options, settings, wire, base)
        return self._client

    async def prepare(self) -> None:
        """Build the client and load the markets, so the first snapshot reads positions only."""
        await self._call(self.client.load_markets)

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Await a ccxt call; failures outside an HTTP exchange are translated here."""
        try:
            return await fn(*args)
        except VenueError:
            raise
        except (ccxt.BaseError, *PARSE_ERRORS) as exc:
            failure = translate_error(self.venue, f"{getattr(fn, '__name__', 'ccxt')}()", exc,
                                      codes=self.options.error_codes)
        raise failure  # outside the handler: no __context__ to ccxt's exception text

    def _market(self, symbol: str) -> Mapping[str, Any] | None:
        markets = self.client.markets or {}
        return markets.get(symbol)

    def _market_by_id(self, ident: str) -> Mapping[str, Any] | None:
        """The market a position row names: of the positions' market type, else any contract.

        None when the venue lists no contract under that id (the mapping rejects the row).
        """
        found = (self.client.markets_by_id or {}).get(ident) or []
        kind = self.options.positions.market_type
        for market in found:
            if market.get("type") == kind:
                return market
        return next((m for m in found if m.get("contract")), None)

    def _code(self, asset: str) -> str:
        return self.client.safe_currency_code(asset)

    # -- PositionBackend --------------------------------------------------------------------

    async def fetch_snapshot(self, timestamp: datetime) -> VenueSnapshot:
        """Balances, perp positions and account figures now, in canonical keys.

        ``timestamp`` is the time asked for; a live venue answers with its current state and
        the snapshot carries the venue's server time. A timestamp-window rejection resyncs the
        clock offset and retries once.

        Raises:
            ClockSkewError: the venue rejected the timestamp again after the resync.
            BadResponseError: an answer without its payload, or with a field missing,
                unparseable or contradicting another (naming venue, endpoint and field).
        """
        started = self._clock()
        try:
            return await self._snapshot(started)
        except ClockSkewError:
            await self.resync_clock()
            return await self._snapshot(started)

    async def resync_clock(self) -> None:
        """Set ccxt's clock offset from the venue's server time (one public request)."""
        await self._call(self.client.load_time_difference, dict(self.options.time))

    async def _snapshot(self, started: float) -> VenueSnapshot:
        client = self.client
        wallets = self.options.wallets
        spec = self.options.positions
        await self._call(client.load_markets)
        first = await self._call(client.fetch_balance, dict(wallets[0].params))
        results = await asyncio.gather(
            self._call(client.fetch_time, dict(self.options.time)),
            self._call(getattr(client, spec.call), dict(spec.params)),
            *(self._call(client.fetch_balance, dict(w.params)) for w in wallets[1:]),
            return_exceptions=True,
        )
        answers = []
        for r in results:
            if isinstance(r, BaseException):
                raise r
            answers.append(r)
        server_ms, positions, *others = answers
        try:
            server_time = utc(server_ms / 1000.0)
        except UNREADABLE:
            server_time = None
        if (not isinstance(server_ms, (int, float)) or isinstance(server_ms, bool)
                or server_ms < MIN_SERVER_TIME_MS or server_time is None):
            raise BadResponseError(self.venue, "fetch_time(): no server time in the answer")
        for w, b in zip(wallets, (first, *others)):
            if not isinstance(b, dict):
                raise BadResponseError(self.venue, f"{w.endpoint}: unreadable answer")
        raws = {w.name: b.get("info") for w, b in zip(wallets, (first, *others))}
        strings = self.options.decimal_strings
        out = balance_positions(self.venue, (
            wallet_amounts(self.venue, w, raws[w.name], self._code, decimal_strings=strings)
            for w in wallets
        ))
        out.update(perp_positions(self.venue, spec, positions, self._market_by_id,
                                  decimal_strings=strings))
        account = None
        if self.options.account:
            acc = self.options.account
            endpoint = next(w.endpoint for w in wallets if w.name == acc.wallet)
            account = account_info(self.venue, acc, raws[acc.wallet], endpoint,
                                   decimal_strings=strings)
        now = self._clock()
        return VenueSnapshot(
            venue=self.venue, execution_mode="live", timestamp=server_time,
            fetched_at=utc(now), latency_s=now - started, positions=out, account=account,
        )

    async def fetch_funding_history(
        self, since: datetime | str | float | None = None
    ) -> list[FundingPayment]:
        """Funding payments on linear perps since ``since`` (the venue's default window if None)."""
        client = self.client
        await self._call(client.load_markets)
        since_ms = None if since is None else int(utc(since).timestamp() * 1000)
        spec = self.options.funding
        rows = await self._call(client.fetch_funding_history, None, since_ms, None,
                                dict(spec.params))
        return funding_payments(self.venue, rows, self._market, spec.sign)

    async def fetch_transfers_in_transit(self) -> list[Transfer]:
        """Deposits and withdrawals the venue has not finished (money in transit)."""
        client = self.client
        await self._call(client.load_markets)
        results = await asyncio.gather(
            self._call(client.fetch_deposits, None, None, None, dict(self.options.deposits)),
            self._call(client.fetch_withdrawals, None, None, None, dict(self.options.withdrawals)),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        deposits, withdrawals = results
        return transfers_in_transit(self.venue, deposits, withdrawals, self._clock(),
                                    self.options.in_transit_statuses)

    async def close(self) -> None:
        """Close the ccxt client (its HTTP session)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()
