"""Errors are translated once, by HTTP status, venue code and ccxt type, never by message text."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from factory.config import venue_defaults
from factory.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ClockSkewError,
    PermissionDeniedError,
    RateLimitedError,
    VenueNetworkError,
    VenueTimeoutError,
    VenueUnavailableError,
    is_retryable,
)
from factory.interfaces.cex.errors import retry_after_s, translate_error, venue_code
from factory.interfaces.cex.options import RetryAfterHeader, cex_options

SECRET_TEXT = "GET https://api.binance.com/api/v3/account?signature=deadbeef X-MBX-APIKEY: my-key"


def codes(venue: str):
    return cex_options(venue_defaults()[venue]).error_codes


@pytest.mark.parametrize("exc, status, code, venue, expected, retryable", [
    # rate limits and bans, by status first
    (ccxt.DDoSProtection(SECRET_TEXT), 429, "-1003", "binance", RateLimitedError, True),
    (ccxt.DDoSProtection(SECRET_TEXT), 418, "-1003", "binance", RateLimitedError, True),
    (ccxt.RateLimitExceeded(SECRET_TEXT), 200, "10006", "bybit", RateLimitedError, True),
    (ccxt.RateLimitExceeded(SECRET_TEXT), 403, None, "bybit", RateLimitedError, True),
    (ccxt.RateLimitExceeded(SECRET_TEXT), 429, "50011", "okx", RateLimitedError, True),
    # credentials: venue codes decide even where ccxt says BadRequest (binance -1022 on /sapi)
    (ccxt.BadRequest(SECRET_TEXT), 400, "-1022", "binance", AuthenticationError, False),
    # a request timestamp outside the venue's window is clock skew, not bad credentials
    (ccxt.InvalidNonce(SECRET_TEXT), 400, "-1021", "binance", ClockSkewError, False),
    (ccxt.AuthenticationError(SECRET_TEXT), 401, "-2015", "binance", AuthenticationError, False),
    (ccxt.AuthenticationError(SECRET_TEXT), 200, "10004", "bybit", AuthenticationError, False),
    (ccxt.InvalidNonce(SECRET_TEXT), 200, "10002", "bybit", ClockSkewError, False),
    (ccxt.AuthenticationError(SECRET_TEXT), 401, "50102", "okx", ClockSkewError, False),
    (ccxt.AuthenticationError(SECRET_TEXT), 401, "50113", "okx", AuthenticationError, False),
    (ccxt.AuthenticationError(SECRET_TEXT), 401, "50105", "okx", AuthenticationError, False),
    (ccxt.PermissionDenied(SECRET_TEXT), 200, "10005", "bybit", PermissionDeniedError, False),
    (ccxt.PermissionDenied(SECRET_TEXT), 403, None, "binance", PermissionDeniedError, False),
    # the venue is down or slow
    (ccxt.ExchangeNotAvailable(SECRET_TEXT), 503, "-1008", "binance", VenueUnavailableError, True),
    (ccxt.ExchangeError(SECRET_TEXT), 502, "10016", "bybit", VenueUnavailableError, True),
    (ccxt.OnMaintenance(SECRET_TEXT), 503, "50001", "okx", VenueUnavailableError, True),
    (ccxt.OperationFailed(SECRET_TEXT), 200, "-1000", "binance", VenueUnavailableError, True),
    (ccxt.RequestTimeout(SECRET_TEXT), None, None, "okx", VenueTimeoutError, True),
    (TimeoutError(), None, None, "okx", VenueTimeoutError, True),
    (ccxt.ExchangeNotAvailable(SECRET_TEXT), None, None, "bybit", VenueNetworkError, True),
    # our side or theirs is wrong: retrying cannot help
    (ccxt.ExchangeNotAvailable(SECRET_TEXT), 404, None, "binance", BadRequestError, False),
    (ccxt.BadSymbol(SECRET_TEXT), None, None, "binance", BadRequestError, False),
    (ccxt.ExchangeError(SECRET_TEXT), 200, "10001", "bybit", BadRequestError, False),
    (ccxt.BadResponse(SECRET_TEXT), 200, None, "okx", BadResponseError, False),
    (TypeError("'NoneType' is not subscriptable"), None, None, "okx", BadResponseError, False),
])
def test_translation_table(exc, status, code, venue, expected, retryable):
    err = translate_error(venue, "GET /x", exc, status=status, code=code, codes=codes(venue))
    assert type(err) is expected
    assert is_retryable(err) is retryable
    assert err.venue == venue
    assert str(err).startswith(f"{venue}: GET /x")


def test_messages_never_carry_ccxt_text_urls_or_keys():
    err = translate_error("binance", "GET /api/v3/account", ccxt.AuthenticationError(SECRET_TEXT),
                          status=401, code="-2015", codes=codes("binance"))
    text = str(err) + repr(err)
    for leaked in ("signature", "deadbeef", "my-key", "X-MBX-APIKEY", "https://"):
        assert leaked not in text
    assert err.code == "-2015"


def test_ban_is_flagged_and_carries_retry_after():
    err = translate_error("binance", "GET /x", ccxt.DDoSProtection("x"), status=418,
                          headers={"Retry-After": "120"},
                          retry_headers=[RetryAfterHeader(name="Retry-After")])
    assert isinstance(err, RateLimitedError) and err.banned and err.retry_after_s == 120.0


def test_rate_limit_without_a_venue_hint_falls_back_to_the_pool_window():
    err = translate_error("okx", "GET /x", ccxt.RateLimitExceeded("x"), status=429,
                          fallback_retry_s=2.0)
    assert isinstance(err, RateLimitedError) and not err.banned and err.retry_after_s == 2.0


@pytest.mark.parametrize("headers, spec, expected", [
    ({"Retry-After": "7"}, RetryAfterHeader(name="Retry-After"), 7.0),
    ({"retry-after": "3"}, RetryAfterHeader(name="Retry-After"), 3.0),
    ({"X-Bapi-Limit-Reset-Timestamp": "1000002500"},
     RetryAfterHeader(name="X-Bapi-Limit-Reset-Timestamp", unit="epoch_ms"), 2.5),
    ({"X-Bapi-Limit-Reset-Timestamp": "999000000"},
     RetryAfterHeader(name="X-Bapi-Limit-Reset-Timestamp", unit="epoch_ms"), 0.0),
    ({}, RetryAfterHeader(name="Retry-After"), None),
    ({"Retry-After": "soon"}, RetryAfterHeader(name="Retry-After"), None),
])
def test_retry_after_headers(headers, spec, expected):
    assert retry_after_s(headers, [spec], clock=lambda: 1_000_000.0) == expected


@pytest.mark.parametrize("body, venue, expected", [
    ('{"code":-1022,"msg":"Signature for this request is not valid."}', "binance", "-1022"),
    ('{"retCode":10003,"retMsg":"API key is invalid."}', "bybit", "10003"),
    ('{"retCode":0,"retMsg":"OK"}', "bybit", None),
    ('{"code":"0","data":[]}', "okx", None),
    ('{"code":"50113","msg":"Invalid signature."}', "okx", "50113"),
    ("<html>oops", "okx", None),
    ("", "binance", None),
])
def test_venue_code_is_read_from_the_configured_field(body, venue, expected):
    assert venue_code(body, codes(venue)) == expected


def test_bybit_403_ip_limit_is_a_ban_of_the_documented_ten_minutes():
    err = translate_error("bybit", "GET /v5/position/list", ccxt.RateLimitExceeded("x"),
                          status=403, codes=codes("bybit"), fallback_retry_s=5.0)
    assert isinstance(err, RateLimitedError) and err.banned and err.retry_after_s == 600.0
