"""ExchangeEmulator: one aiohttp server on 127.0.0.1 serving every registered venue.

Each venue lives under its own path prefix: ``http://127.0.0.1:PORT/binance/api/v3/account``
is binance's ``/api/v3/account``. Point a venue's ``api_base_url`` (or
``BASIS_<VENUE>_API_BASE_URL``) at ``emulator.base_url(venue)``; the CEX backend re-roots every
ccxt URL there, keeping each URL's path.

Every request goes through the same pipeline: fault (latency / hang) -> ban and rate limits
(the emulator's own pools and weights, `factory.sandbox.exchange.weights`) -> fault (429, 5xx)
-> route -> signature (fault: clock skew) -> handler
-> fault (malformed JSON) -> usage headers, and is recorded with its time, weight and status.

An exchange holds several accounts, one per API key (`factory.sandbox.exchange.book`): a
scenario names them by venue id (``binance``, ``binance.sub1``) and a signed request reads the
book of the account its key belongs to.

The Python API (`set_account`, `inject`, `requests`...) is thread-safe, so tests can drive an
emulator served from a background thread (`serve_in_thread`); other processes use the JSON
admin API under ``/__admin`` (see `factory.sandbox.exchange.admin`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from factory.accounts import exchange_of
from factory.config import RateLimits, VenueConfig, env_name, venue_defaults
from factory.errors import ConfigError
from factory.sandbox.exchange.admin import add_admin_routes
from factory.sandbox.exchange.book import AccountBook
from factory.sandbox.exchange.limiter import Charge, VenueLimiter
from factory.sandbox.exchange.model import (
    EmulatorCredentials,
    Fault,
    RequestRecord,
    Scenario,
    VenueAccount,
    load_scenario,
)
from factory.sandbox.exchange.venue import EMULATOR_VENUES, EmuRequest, Reply, VenueEmulator
from factory.sandbox.exchange.weights import EMULATOR_LIMITS

__all__ = ["ExchangeEmulator"]

JSON = "application/json"


class ExchangeEmulator:
    """A local exchange speaking binance, bybit and okx (every registered venue).

    Args:
        scenario: accounts to start with (YAML path, dict or `Scenario`).
        limits: pools, weights and ban policy to enforce per venue (default: the emulator's own
            table, `factory.sandbox.exchange.weights`, never the client's venue config). Pass
            a scaled copy (`scaled_limits`) to shrink limits in a test.
        clock: server time in epoch seconds (injected; default ``time.time``).
        host: interface to listen on.
        port: TCP port (0: any free port).
        venues: venue ids to serve (default: every registered one).
    """

    def __init__(
        self,
        scenario: str | Path | dict | Scenario | None = None,
        limits: dict[str, RateLimits] | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        venues: Iterable[str] | None = None,
    ):
        names = list(venues) if venues is not None else list(EMULATOR_VENUES)
        unknown = [n for n in names if n not in EMULATOR_VENUES]
        if unknown:
            raise ConfigError(f"exchange emulator: no emulator for venue(s) {', '.join(unknown)}")
        self.clock = clock
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._venues: dict[str, VenueEmulator] = {n: EMULATOR_VENUES[n]() for n in names}
        given = limits or {}
        self._limiters: dict[str, VenueLimiter] = {
            n: VenueLimiter(given.get(n) or EMULATOR_LIMITS.get(n) or RateLimits()) for n in names
        }
        self._book = AccountBook(self._venues)
        self._faults: dict[str, list[list[Any]]] = {n: [] for n in names}
        self._offset_s: dict[str, float] = dict.fromkeys(names, 0.0)
        self._log: list[RequestRecord] = []
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.load(scenario)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Root URL of the running server, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def base_url(self, venue: str) -> str:
        """The ``api_base_url`` to give a venue's config to reach it here."""
        self._venue(venue)
        return f"{self.url}/{venue}"

    def app(self) -> web.Application:
        """The aiohttp application (admin routes plus the venues' catch-all)."""
        app = web.Application()
        add_admin_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def start(self) -> Self:
        """Start serving; ``port`` is the real port afterwards."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, shutdown_timeout=0.5)
        await site.start()
        server = site._server
        sockets = server.sockets if isinstance(server, asyncio.Server) else []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop serving; hanging requests are released first."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- accounts, faults, clock --------------------------------------------------------------

    def load(self, scenario: str | Path | dict | Scenario | None) -> None:
        """Replace the accounts of every exchange the scenario names.

        A scenario names all the accounts of an exchange it names (``binance`` and
        ``binance.sub1``...): the exchange's other accounts are dropped.
        """
        accounts = load_scenario(scenario).venues
        with self._lock:
            for venue in accounts:
                self._book.exchange(venue)
            self._book.drop_others({exchange_of(v) for v in accounts})
            for venue, account in accounts.items():
                self.set_account(venue, account)

    def set_account(self, venue: str, account: VenueAccount | dict) -> None:
        """Replace (or add) one account: ``binance``, or another account ``binance.sub1``.

        Raises:
            ConfigError: unknown venue, a wallet the venue does not have, or an API key
                another account of the exchange uses.
        """
        acct = VenueAccount.model_validate(account)
        with self._lock:
            self._book.put(venue, acct)

    def account(self, venue: str) -> VenueAccount:
        with self._lock:
            return self._book.get(venue)

    def accounts(self) -> list[str]:
        """The venue ids of every account: each exchange's default, then the others."""
        with self._lock:
            return self._book.venues()

    def credentials(self, venue: str) -> EmulatorCredentials:
        """The key, secret (and passphrase) this account accepts."""
        with self._lock:
            return self._book.credentials(venue)

    def env(self, venue: str, config: VenueConfig | None = None) -> dict[str, str]:
        """Environment variables that make a live interface reach this account here.

        Returns ``BASIS_<EXCHANGE>_API_BASE_URL`` plus the credential variables the venue config
        names (``BASIS_OKX_API_PASSPHRASE``; an account ``binance.sub1`` reads
        ``BASIS_BINANCE_SUB1_API_KEY``...).
        """
        exchange = exchange_of(venue)
        cfg = config or venue_defaults()[exchange].for_account(venue)
        creds = self.credentials(venue)
        out = {env_name(exchange, "API_BASE_URL"): self.base_url(exchange)}
        for field, value in (("api_key_env", creds.api_key), ("api_secret_env", creds.secret),
                             ("passphrase_env", creds.passphrase)):
            name = getattr(cfg.credentials, field)
            if name and value is not None:
                out[name] = value
        return out

    def set_limits(self, venue: str, limits: RateLimits) -> None:
        """Enforce other pools and weights for a venue (counts start afresh)."""
        self._venue(venue)
        with self._lock:
            self._limiters[venue] = VenueLimiter(limits)

    def inject(self, venue: str, fault: Fault | dict) -> None:
        """Add a fault to a venue's answers (applied in order of injection)."""
        self._venue(venue)
        f = fault if isinstance(fault, Fault) else Fault.model_validate(fault)
        with self._lock:
            self._faults[venue].append([f, f.count])

    def faults(self, venue: str) -> list[Fault]:
        self._venue(venue)
        with self._lock:
            return [f for f, _ in self._faults[venue]]

    def clear_faults(self, venue: str | None = None) -> None:
        with self._lock:
            for v in [venue] if venue else list(self._faults):
                self._faults[self._venue(v).name].clear()

    def set_clock_offset(self, venue: str, offset_s: float) -> None:
        """Skew one venue's server clock (a negative offset makes clients' timestamps late)."""
        self._venue(venue)
        with self._lock:
            self._offset_s[venue] = float(offset_s)

    def now(self, venue: str) -> float:
        """The venue's server time in epoch seconds."""
        with self._lock:
            return self.clock() + self._offset_s[venue]

    # -- audit --------------------------------------------------------------------------------

    def requests(self, venue: str | None = None) -> list[RequestRecord]:
        """Every request received (of one venue), oldest first."""
        with self._lock:
            return [r for r in self._log if venue in (None, r.venue)]

    def violations(self, venue: str) -> int:
        """Rate-limit violations of a venue (429s and 418s it answered)."""
        self._venue(venue)
        with self._lock:
            return self._limiters[venue].violations

    def ban(self, venue: str, seconds: float) -> None:
        """Ban the (one) client IP from a venue for ``seconds`` from now: every request 418s."""
        with self._lock:
            limiter = self._limiters[self._venue(venue).name]
            limiter.ban(self.now(venue), seconds)

    def statuses(self, venue: str) -> dict[int, int]:
        """How many answers of each HTTP status a venue gave (from the request log)."""
        out: dict[int, int] = {}
        for r in self.requests(venue):
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def banned_until(self, venue: str) -> float:
        with self._lock:
            return self._limiters[self._venue(venue).name].banned_until

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def reset(self) -> None:
        """Forget requests, rate-limit counts, bans, faults and clock skew (accounts stay)."""
        with self._lock:
            self._log.clear()
            for n in self._venues:
                self._limiters[n].reset()
                self._faults[n].clear()
                self._offset_s[n] = 0.0

    def venues(self) -> list[str]:
        return list(self._venues)

    # -- request pipeline ---------------------------------------------------------------------

    def _venue(self, venue: str) -> VenueEmulator:
        emu = self._venues.get(venue)
        if emu is None:
            raise ConfigError(f"exchange emulator: venue {venue!r} is not served "
                              f"(served: {', '.join(self._venues)})")
        return emu

    def _take_fault(self, venue: str, path: str) -> Fault | None:
        for entry in self._faults[venue]:
            fault, left = entry
            if not path.startswith(fault.path_prefix):
                continue
            if left is not None:
                entry[1] = left - 1
                if entry[1] <= 0:
                    self._faults[venue].remove(entry)
            return fault
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        _, _, rest = request.path.partition("/")
        name, _, tail = rest.partition("/")
        emu = self._venues.get(name)
        if emu is None:
            return web.json_response({"error": f"unknown venue {name!r}"}, status=404)
        body = await request.text()
        with self._lock:
            req = EmuRequest(
                method=request.method, path="/" + tail, query=dict(request.query),
                raw_query=request.rel_url.raw_query_string, headers=request.headers,
                body=body, now=self.clock() + self._offset_s[name],
            )
            fault = self._take_fault(name, req.path)
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "hang":
            self._record(emu, req, Reply(0), 0.0, "fault:hang")
            assert self._stopping is not None
            try:
                await asyncio.wait_for(self._stopping.wait(), fault.delay_s or 3600.0)
            except TimeoutError:
                pass
            return web.Response(status=504, text="")
        with self._lock:
            reply = self._handle(emu, req, fault)
        headers = dict(reply.headers)
        content_type = headers.pop("Content-Type", JSON)
        return web.Response(status=reply.status, text=reply.render(), headers=headers,
                            content_type=content_type)

    def _handle(self, emu: VenueEmulator, req: EmuRequest, fault: Fault | None) -> Reply:
        limiter = self._limiters[emu.name]
        cost = limiter.endpoint(req.method, req.path)
        route = emu.routes.get((req.method, req.path))
        if route is not None and route.signed:  # the book of the account the key belongs to
            holder = self._book.for_key(emu.name, emu.api_key(req))
            account, creds = self._book.get(holder), self._book.credentials(holder)
        else:
            account, creds = self._book.public(emu.name), self._book.credentials(emu.name)
        kind = fault.kind if fault is not None else None
        outcome = f"fault:{kind}" if kind else "ok"
        if limiter.banned_until > req.now:  # a ban outlives every fault
            charge = Charge(ok=False, banned_until=limiter.banned_until,
                            retry_after_s=limiter.banned_until - req.now)
        elif kind == "rate_limit":
            assert fault is not None
            charge = limiter.refuse(req.now, retry_after_s=fault.retry_after_s or 1.0)
        else:
            charge = limiter.charge(cost, emu.api_key(req), req.now)
        weight = cost.weight if (charge.ok and cost is not None) else 0.0
        scope = fault.scope if (fault is not None and kind == "rate_limit") else None
        reply = None if charge.ok else self._refuse(emu, req, charge, scope)
        if reply is not None and outcome == "ok":
            outcome = "banned" if charge.banned_until else "rate_limited"
        if reply is None and kind == "server_error":
            assert fault is not None
            reply = emu.server_error(req, fault.status)
        if reply is None and route is None:
            reply, outcome = emu.not_found(req), "not_found"
        if reply is None and route is not None and route.signed:
            checked = req
            if kind == "clock_skew":
                assert fault is not None
                checked = dataclasses.replace(req, now=req.now + fault.offset_s)
            reply = emu.authenticate(checked, creds)
            if reply is not None:
                outcome = "unauthenticated"
        if reply is None and route is not None:
            result = route.handler(emu, req, account)
            reply = result if isinstance(result, Reply) else Reply(200, result)
        assert reply is not None
        if kind == "malformed_json" and reply.status == 200:
            text = reply.render()
            reply.text = text[: max(1, len(text) // 2)] + "\x00<html"
        reply.headers.update(emu.usage_headers(req, charge.usage))
        self._record(emu, req, reply, weight, outcome, signed=bool(route and route.signed))
        return reply

    def _refuse(
        self, emu: VenueEmulator, req: EmuRequest, charge: Charge, scope: str | None
    ) -> Reply:
        if charge.banned_until:
            return emu.banned(req, charge.retry_after_s)
        if scope is None:
            scope = charge.violated.scope if charge.violated is not None else "ip"
        return emu.rate_limited(req, charge.retry_after_s, scope)

    def _record(
        self, emu: VenueEmulator, req: EmuRequest, reply: Reply, weight: float, outcome: str,
        signed: bool | None = None,
    ) -> None:
        route = emu.routes.get((req.method, req.path))
        cost = self._limiters[emu.name].endpoint(req.method, req.path)
        with self._lock:
            self._log.append(RequestRecord(
                venue=emu.name, time=req.now, method=req.method, path=req.path,
                query=req.raw_query, endpoint=cost.name if cost else None, weight=weight,
                status=reply.status,
                signed=bool(route and route.signed) if signed is None else signed,
                outcome=outcome,
            ))
