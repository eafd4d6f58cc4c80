"""The HTTP transport of the chain venues: web3's provider with a capped, translated exchange.

`RpcTransport` is web3's ``AsyncHTTPProvider`` whose HTTP exchange is ours: one aiohttp session
per venue whose reads stop at the venue's ``max_response_bytes`` (`factory.interfaces.http_cap`),
no retries (the venue actor retries), and every transport failure raised as a typed error here,
outside any exception handler, so no aiohttp exception (whose text holds the URL) is chained::

    connection refused/reset, DNS, other aiohttp errors  -> RpcUnreachableError   (retryable)
    no answer within timeout_s                           -> VenueTimeoutError     (retryable)
    answer larger than max_response_bytes                -> ResponseTooLargeError (retryable)
    HTTP 429                                             -> RateLimitedError      (retryable)
    HTTP 5xx                                             -> VenueUnavailableError (retryable)
    HTTP 401/403                                         -> AuthenticationError
    other HTTP status but 200                            -> BadRequestError
    HTTP 200 whose body is not a JSON-RPC answer         -> BadResponseError

A message names the venue, the RPC method, the HTTP status and the content type, plus at most
`factory.errors.EXCERPT_CHARS` of the body scrubbed of the RPC URL's secrets (hosted RPC URLs
carry an API key in their path, or user:password). The URL itself is printed only through
`factory.errors.redact_url` (``str(transport)``), and never logged.
"""

from __future__ import annotations

import json
from typing import Any, cast

import aiohttp
from web3.providers.rpc import AsyncHTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from factory.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    RateLimitedError,
    ResponseTooLargeError,
    RpcUnreachableError,
    Scrubber,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
    redact_url,
)
from factory.interfaces.http_cap import BodyTooLarge, capped_response_class

__all__ = ["RpcTransport", "http_status_error"]


def http_status_error(venue: str, method: str, status: int, excerpt: str = "") -> VenueError:
    """The typed error for a node that answered ``status`` (not 200) to ``method``."""
    said = f": {excerpt}" if excerpt else ""
    if status == 429:
        return RateLimitedError(venue, f"{method}: rate limited{said}", code=status)
    if status >= 500:
        return VenueUnavailableError(venue, f"{method}: node unavailable{said}", code=status)
    if status in (401, 403):
        return AuthenticationError(
            venue, f"{method}: RPC refused the credentials{said}", code=status
        )
    return BadRequestError(venue, f"{method}: rejected{said}", code=status)


class RpcTransport(AsyncHTTPProvider):
    """JSON-RPC over one capped aiohttp session, failures typed (see the module docstring).

    Args:
        venue: venue id, first word of every error.
        url: the node's URL (may hold a key; never printed but through `redact_url`).
        timeout_s: per-request timeout.
        max_response_bytes: the largest answer read.
        scrub: removes the URL's secrets from excerpts (default: built from ``url``).
    """

    def __init__(
        self,
        venue: str,
        url: str,
        *,
        timeout_s: float,
        max_response_bytes: int,
        scrub: Scrubber | None = None,
    ):
        super().__init__(url, exception_retry_configuration=None)
        self.venue = venue
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.scrub = scrub or Scrubber(urls=[url])
        self._session: aiohttp.ClientSession | None = None

    def __str__(self) -> str:
        return f"RPC connection {redact_url(str(self.endpoint_uri))}"

    def __repr__(self) -> str:
        return f"RpcTransport(venue={self.venue!r}, url={redact_url(str(self.endpoint_uri))!r})"

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # one connection per request, as web3's own session: a node that went away is
                # seen at once, not through a kept-alive socket to whatever still answers on it
                connector=aiohttp.TCPConnector(force_close=True, enable_cleanup_closed=True),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                response_class=capped_response_class(self.max_response_bytes),
            )
        return self._session

    async def exchange(self, method: str, data: bytes) -> Any:
        """POST one JSON-RPC payload; return the decoded JSON answer.

        Raises:
            VenueError: the typed error of the table in the module docstring.
        """
        failure: VenueError | None = None
        status, content_type, raw = 0, "", b""
        try:
            async with self._session_now().post(
                str(self.endpoint_uri), data=data, headers=self.get_request_headers()
            ) as resp:
                status, content_type = resp.status, resp.content_type
                raw = await resp.read()
        except BodyTooLarge as exc:
            failure = ResponseTooLargeError(
                self.venue, f"{method}: answer larger than max_response_bytes="
                f"{exc.limit_bytes}, reading stopped", limit_bytes=exc.limit_bytes,
            )
        except TimeoutError:
            failure = VenueTimeoutError(self.venue, f"{method}: no answer in time")
        except (aiohttp.ClientError, OSError) as exc:
            failure = RpcUnreachableError(
                self.venue, f"{method}: RPC node unreachable ({type(exc).__name__})"
            )
        if failure is not None:
            raise failure  # outside the handler: aiohttp's exception is not chained
        if status != 200:
            raise http_status_error(self.venue, method, status, self.scrub.excerpt(raw))
        try:
            return json.loads(raw)
        except ValueError:
            pass
        raise BadResponseError(
            self.venue, f"{method}: answer is not JSON (HTTP {status}, {content_type or 'no type'})"
            + (f": {excerpt}" if (excerpt := self.scrub.excerpt(raw)) else ""),
        )

    async def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        answer = await self.exchange(method, self.encode_rpc_request(method, params))
        if not isinstance(answer, dict):
            raise BadResponseError(
                self.venue, f"{method}: answer is not a JSON-RPC object ({type(answer).__name__})"
            )
        return cast(RPCResponse, answer)

    async def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        # errors name the methods batched: "batch(eth_chainId, eth_blockNumber): ..."
        label = f"batch({', '.join(str(method) for method, _ in batch_requests)})"
        answer = await self.exchange(label, self.encode_batch_rpc_request(batch_requests))
        if isinstance(answer, dict):  # one error object for the whole batch
            return cast(RPCResponse, answer)
        if not isinstance(answer, list) or not all(isinstance(a, dict) for a in answer):
            raise BadResponseError(self.venue, f"{label}: answer is not a list of JSON-RPC objects")
        return sorted(answer, key=lambda a: a.get("id") if isinstance(a.get("id"), int) else 0)

    async def disconnect(self) -> None:
        """Close the HTTP session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
