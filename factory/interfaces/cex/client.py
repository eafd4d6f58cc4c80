"""The ccxt async client of one CEX interface: re-rooted URLs, credentials, hooks, translation.

`build_client` makes the venue's ``ccxt.async_support`` class (loaded alone,
`factory.interfaces.cex.ccxt_import`) with ccxt's throttle off and the
venue's ``options.ccxt`` settings, points every URL in ``urls['api']`` at the base-URL override
(keeping each URL's path), and routes every HTTP request through a `Wire`: the hooks run around
it, the answer's status and headers are noted, and any failure is translated once into a typed
error (`factory.interfaces.cex.errors`) whose text holds at most a short excerpt of the answer,
scrubbed of the credentials and of the base URL's secrets.

The client's aiohttp session reads every answer through `factory.interfaces.http_cap`: the read
stops at the venue's ``max_response_bytes`` and the request fails with `ResponseTooLargeError`.
"""

from __future__ import annotations

import contextvars
import copy
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from factory.config import VenueConfig
from factory.errors import BadResponseError, Scrubber, VenueError
from factory.interfaces.cex.ccxt_import import exchange_class
from factory.interfaces.cex.errors import translate_error, venue_code
from factory.interfaces.cex.hooks import EndpointResolver, RequestHooks
from factory.interfaces.cex.options import CexOptions
from factory.interfaces.http_cap import capped_response_class
from factory.urls import reroot_urls  # public here too: the client re-roots with it

__all__ = ["Transport", "Wire", "build_client", "client_class", "reroot_urls"]

Transport = Callable[[str, str, Mapping[str, str] | None, str | None], Awaitable[Any]]
"""An in-process stand-in for HTTP: ``(method, url, headers, body) -> decoded JSON``."""


@dataclass
class _Seen:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


_SEEN: contextvars.ContextVar[_Seen | None] = contextvars.ContextVar("cex_seen", default=None)


class Wire:
    """Everything around one HTTP exchange of a venue's client.

    Args:
        venue: venue id.
        options: the venue's CEX options (error codes, retry headers).
        resolver: URL -> `Endpoint`.
        hooks: returns the current `RequestHooks` (they can be set after the client exists).
        transport: an in-process stand-in for HTTP (unit tests), or None.
        clock: epoch seconds.

    Attributes:
        scrub: removes the credentials and base-URL secrets from excerpts of answers
            (`build_client` sets it from the credentials it is given).
        max_response_bytes: the largest answer read (`build_client`: the venue config's).
    """

    def __init__(
        self,
        venue: str,
        options: CexOptions,
        resolver: EndpointResolver,
        hooks: Callable[[], RequestHooks],
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.venue = venue
        self.options = options
        self.resolver = resolver
        self.hooks = hooks
        self.transport = transport
        self.clock = clock
        self.scrub = Scrubber()
        self.max_response_bytes: int | None = None

    def __repr__(self) -> str:
        return f"Wire(venue={self.venue!r})"

    def saw(self, status: int, headers: Mapping[str, str], body: str | None) -> None:
        """Note an answer's status, headers and body (called from ccxt's response path)."""
        seen = _SEEN.get()
        if seen is not None:
            seen.status, seen.headers, seen.body = status, dict(headers or {}), body

    async def exchange(
        self,
        fetch: Callable[..., Awaitable[Any]],
        url: str,
        method: str,
        headers: Mapping[str, str] | None,
        body: str | None,
    ) -> Any:
        """Run one request: before-hook, HTTP (or transport), after-hook, translation."""
        endpoint = self.resolver(method, url)
        where = f"{endpoint.method} {endpoint.path}"
        hooks = self.hooks()
        if hooks.before is not None:
            await hooks.before(endpoint)
        seen = _Seen()
        token = _SEEN.set(seen)
        failure: VenueError | None = None
        try:
            if self.transport is not None:
                result = await self.transport(method, url, headers, body)
                seen.status = 200
            else:
                result = await fetch(url, method, headers, body)
        except VenueError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated once, here
            failure = translate_error(
                self.venue, where, exc, status=seen.status, headers=seen.headers,
                code=venue_code(seen.body, self.options.error_codes),
                codes=self.options.error_codes, retry_headers=self.options.retry_after_headers,
                fallback_retry_s=self.resolver.longest_window_s(endpoint), clock=self.clock,
                excerpt=self.scrub.excerpt(seen.body),
            )
        finally:
            _SEEN.reset(token)
            if hooks.after is not None:
                await hooks.after(endpoint, seen.status, seen.headers)
        if failure is not None:
            # raised outside the handler: no __context__ to ccxt's exception (its text has URLs)
            raise failure
        if not isinstance(result, (dict, list)):
            excerpt = self.scrub.excerpt(seen.body)
            raise BadResponseError(
                self.venue, f"{where}: answer is not JSON (HTTP {seen.status})"
                + (f": {excerpt}" if excerpt else "")
            )
        return result


_CLASSES: dict[str, type] = {}


def client_class(ccxt_id: str) -> type:
    """The venue's ccxt async class with its HTTP exchange routed through a `Wire`."""
    if ccxt_id not in _CLASSES:
        base = exchange_class(ccxt_id)

        class Client(base):  # type: ignore[misc, valid-type]
            basis_wire: Wire | None = None
            session: Any  # ccxt's aiohttp session, None until opened

            async def fetch(self, url, method="GET", headers=None, body=None):
                if self.basis_wire is None:
                    return await super().fetch(url, method, headers, body)
                return await self.basis_wire.exchange(super().fetch, url, method, headers, body)

            def open(self, lazy=False):
                fresh = self.own_session and self.session is None
                super().open(lazy)
                if fresh and self.basis_wire is not None and self.basis_wire.max_response_bytes:
                    # the same connector and settings as ccxt's session, with a capped read
                    plain, self.session = self.session, aiohttp.ClientSession(
                        connector=self.tcp_connector, trust_env=self.aiohttp_trust_env,
                        response_class=capped_response_class(self.basis_wire.max_response_bytes),
                    )
                    plain.detach()  # leaves the shared connector open; the session never ran

            def on_rest_response(self, code, reason, url, method, response_headers,
                                 response_body, request_headers, request_body):
                if self.basis_wire is not None:
                    self.basis_wire.saw(code, response_headers, response_body)
                return super().on_rest_response(code, reason, url, method, response_headers,
                                                response_body, request_headers, request_body)

        Client.__name__ = f"Basis{base.__name__}"
        _CLASSES[ccxt_id] = Client
    return _CLASSES[ccxt_id]


def build_client(
    config: VenueConfig,
    options: CexOptions,
    credentials: Mapping[str, str],
    wire: Wire,
    base_url: str | None,
) -> Any:
    """Make the venue's ccxt client.

    Args:
        config: the venue config (``ccxt_id``, ``timeout_s``).
        options: its CEX options (``ccxt`` constructor settings).
        credentials: ``apiKey``, ``secret`` (and ``password``) for ccxt.
        wire: the request glue (hooks, translation).
        base_url: re-root every API URL here (None: the venue's own URLs).
    """
    settings = copy.deepcopy(options.ccxt)
    settings.update(credentials)
    settings.update({"enableRateLimit": False, "timeout": int(config.timeout_s * 1000)})
    client = client_class(config.ccxt_id or config.venue)(settings)
    wire.scrub = Scrubber(credentials.values(), [base_url])
    wire.max_response_bytes = config.max_response_bytes
    client.basis_wire = wire
    if base_url:
        client.urls["api"] = reroot_urls(client.urls["api"], base_url)
    if wire.transport is not None or (base_url or "").startswith("http://"):
        client.timeout_on_exit = 0  # ccxt's grace sleep on close is for TLS transports
    return client
