"""ccxt failures translated once into the typed errors of factory/errors.py.

The decision uses, in order: the HTTP status (418 ban, 429, 5xx, 404), the venue's own error
code from the response body (lists in the venue config, ``options.error_codes``), then the ccxt
exception type; never the message text. Messages are built from the venue, the endpoint, the
HTTP status and at most a short excerpt of the answer that the caller has scrubbed
(`factory.errors.Scrubber.excerpt`; the venue code travels in ``VenueError.code``): ccxt's
messages can carry request URLs and headers, so none of their text is kept.

=============================================  ===========================================
what happened                                  typed error
=============================================  ===========================================
answer larger than max_response_bytes          ResponseTooLargeError (read stopped at the cap)
HTTP 418, a status in ``ip_ban_s`` (bybit 403)  RateLimitedError(banned=True)
HTTP 429, rate-limit code, DDoSProtection      RateLimitedError(retry_after_s)
clock-skew code (timestamp window)            ClockSkewError
auth code, ccxt AuthenticationError/InvalidNonce  AuthenticationError
permission code, ccxt PermissionDenied         PermissionDeniedError
HTTP 5xx, unavailable code, OnMaintenance      VenueUnavailableError
ccxt RequestTimeout, asyncio timeout           VenueTimeoutError
no answer (connection refused/reset, DNS)      VenueNetworkError
HTTP 404 (wrong base URL or path)              BadRequestError
ccxt BadResponse, unparsable answer            BadResponseError
other ccxt ExchangeError / BadRequest          BadRequestError
=============================================  ===========================================
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from factory.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ClockSkewError,
    PermissionDeniedError,
    RateLimitedError,
    ResponseTooLargeError,
    VenueError,
    VenueNetworkError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from factory.interfaces.cex.ccxt_import import base_errors
from factory.interfaces.cex.options import ErrorCodes, RetryAfterHeader
from factory.interfaces.http_cap import BodyTooLarge

__all__ = ["retry_after_s", "translate_error", "venue_code"]

ccxt = base_errors()  # ccxt's exception classes, without ccxt's ~110 exchanges

PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError)


def venue_code(body: str | None, codes: ErrorCodes) -> str | None:
    """The venue's error code in a response body (None when absent or a success code)."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get(codes.field) if isinstance(data, dict) else None
    if value is None or str(value) in ("", "0", "200"):
        return None
    return str(value)


def retry_after_s(
    headers: Mapping[str, str] | None,
    specs: list[RetryAfterHeader],
    clock: Callable[[], float] = time.time,
) -> float | None:
    """Seconds to wait announced by the first of ``specs`` present in ``headers``."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    for spec in specs:
        raw = lower.get(spec.name.lower())
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        return max(0.0, value / 1000.0 - clock()) if spec.unit == "epoch_ms" else max(0.0, value)
    return None


def translate_error(
    venue: str,
    where: str,
    exc: BaseException,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    codes: ErrorCodes | None = None,
    retry_headers: list[RetryAfterHeader] | None = None,
    fallback_retry_s: float | None = None,
    clock: Callable[[], float] = time.time,
    excerpt: str = "",
) -> VenueError:
    """Return the typed error for a failure of ``where`` (``GET /fapi/v3/account``).

    Args:
        venue: venue id, first word of the message.
        where: the endpoint (or the ccxt call when no request was involved).
        exc: what ccxt (or aiohttp, or the parser) raised.
        status: HTTP status of the answer, None when none arrived.
        headers: response headers (Retry-After and the like).
        code: the venue's error code from the body.
        codes: the venue's code lists.
        retry_headers: which headers announce a retry time.
        fallback_retry_s: wait to report on a rate limit when the venue announced none.
        clock: epoch seconds, for epoch-based retry headers.
        excerpt: a short excerpt of the answer, already scrubbed of secrets ("" for none).
    """
    if isinstance(exc, VenueError):
        return exc
    if isinstance(exc, BodyTooLarge):
        return ResponseTooLargeError(
            venue, f"{where}: answer larger than max_response_bytes={exc.limit_bytes}, "
            "reading stopped", limit_bytes=exc.limit_bytes,
        )
    codes = codes or ErrorCodes()
    http = f" (HTTP {status})" if status is not None else ""
    said = f": {excerpt}" if excerpt else ""

    def make(cls: type[VenueError], what: str, **kw: Any) -> VenueError:
        return cls(venue, f"{where}: {what}{http}{said}", code=code, **kw)

    ban_s = codes.ip_ban_s.get(str(status)) if status is not None else None

    def rate_limited() -> VenueError:
        banned = status == 418 or ban_s is not None
        wait = retry_after_s(headers, retry_headers or [], clock)
        if wait is None:
            wait = ban_s if ban_s is not None else fallback_retry_s
        return make(RateLimitedError, "IP banned" if banned else "rate limited",
                    retry_after_s=wait, banned=banned)

    if status in (418, 429) or ban_s is not None or code in set(codes.rate_limited):
        return rate_limited()
    # the venue's own code before ccxt's type: ccxt reads binance -2015 (revoked key) after a
    # first good request as a temporary ban (DDoSProtection); the venue config says credentials
    if code is not None and code in codes.clock_skew:
        return make(ClockSkewError, "request timestamp outside the venue's window (clock skew)")
    if code is not None and code in codes.authentication:
        return make(AuthenticationError, "credentials rejected")
    if code is not None and code in codes.permission:
        return make(PermissionDeniedError, "permission denied for this key")
    if (status is not None and status >= 500) or (code is not None and code in codes.unavailable):
        return make(VenueUnavailableError, "venue unavailable")
    if isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
        return rate_limited()
    if isinstance(exc, (ccxt.PermissionDenied, ccxt.AccountSuspended)):
        return make(PermissionDeniedError, "permission denied for this key")
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.InvalidNonce)):
        return make(AuthenticationError, "credentials rejected")
    if isinstance(exc, (ccxt.RequestTimeout, asyncio.TimeoutError)):
        return make(VenueTimeoutError, "no answer in time")
    if status == 404:
        return make(BadRequestError, "no such endpoint (check api_base_url)")
    if isinstance(exc, (ccxt.BadResponse, *PARSE_ERRORS)):
        return make(BadResponseError, "unreadable answer")
    if isinstance(exc, ccxt.OnMaintenance):
        return make(VenueUnavailableError, "venue under maintenance")
    if isinstance(exc, (ccxt.NetworkError, aiohttp.ClientError, OSError)):
        if status is None:
            return make(VenueNetworkError, "connection failed")
        return make(VenueUnavailableError, "venue unavailable")
    if isinstance(exc, ccxt.OperationFailed):
        return make(VenueUnavailableError, "operation failed")
    if isinstance(exc, ccxt.BaseError):
        return make(BadRequestError, "request rejected")
    return make(BadResponseError, f"unexpected {type(exc).__name__}")
