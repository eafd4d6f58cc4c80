"""Typed errors of basis-monitor, translated once at each adapter boundary.

The whole tree::

    BasisError
    ├── ConfigError                      bad config file, field or CLI argument (exit status 2)
    ├── MissingCredentialError           an environment variable that must be set is not
    ├── BackendNotAvailableError         the requested backend is not available in this build
    └── VenueError (venue)               anything a venue (CEX API, chain RPC) did wrong
        ├── RetryableVenueError          worth another attempt after a backoff
        │   ├── VenueNetworkError        connection refused/reset, DNS
        │   ├── VenueTimeoutError        no answer in time
        │   ├── VenueUnavailableError    5xx, maintenance, exchange overloaded
        │   ├── RateLimitedError         429/418 with the Retry-After the venue sent (retry_after_s)
        │   └── RpcUnreachableError      chain node not reachable
        └── FatalVenueError              retrying cannot help
            ├── AuthenticationError      bad key, bad signature
            ├── ClockSkewError           timestamp outside the venue's window even after a resync
            ├── PermissionDeniedError    key lacks the permission
            ├── BadRequestError          the venue rejected the request as malformed
            ├── BadResponseError         the venue answered something we cannot parse
            ├── CallRevertedError        an eth_call reverted
            ├── WrongChainError          the node serves another chain id
            └── ContractMissingError     no code at a configured contract address

`is_retryable(exc)` decides by type only. Messages never carry secrets: adapters build them from
the venue id, the endpoint and the venue's own error code.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BackendNotAvailableError",
    "BadRequestError",
    "BadResponseError",
    "BasisError",
    "CallRevertedError",
    "ClockSkewError",
    "ConfigError",
    "ContractMissingError",
    "FatalVenueError",
    "MissingCredentialError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryableVenueError",
    "RpcUnreachableError",
    "VenueError",
    "VenueNetworkError",
    "VenueTimeoutError",
    "VenueUnavailableError",
    "WrongChainError",
    "is_retryable",
]


class BasisError(Exception):
    """Base of every error raised on purpose by basis-monitor."""


class ConfigError(BasisError):
    """A config file, config dict or CLI argument is invalid.

    Attributes:
        problems: one human-readable line per problem, each naming the source and field.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class MissingCredentialError(BasisError):
    """A credential environment variable is not set."""

    def __init__(self, venue: str, variable: str):
        self.venue = venue
        self.variable = variable
        super().__init__(f"{venue}: missing credential, set the environment variable {variable}")


class BackendNotAvailableError(BasisError):
    """The requested execution backend is not available for this venue."""


class VenueError(BasisError):
    """A venue (exchange API or chain node) failed.

    Attributes:
        venue: venue id, e.g. ``binance``.
        code: the venue's own error code when it sent one.
    """

    retryable = False

    def __init__(self, venue: str, message: str, *, code: str | int | None = None):
        self.venue = venue
        self.code = code
        text = f"{venue}: {message}"
        if code is not None:
            text += f" (venue code {code})"
        super().__init__(text)

    def __reduce__(self):  # keep pickling (Ray) working with keyword-only fields
        return (_rebuild, (type(self), self.__dict__.copy(), str(self)))


def _rebuild(cls, state, text):
    err = cls.__new__(cls)
    Exception.__init__(err, text)
    err.__dict__.update(state)
    return err


class RetryableVenueError(VenueError):
    """A failure that another attempt, after a backoff, may not repeat."""

    retryable = True


class VenueNetworkError(RetryableVenueError):
    """Connection refused, reset or unresolvable."""


class VenueTimeoutError(RetryableVenueError):
    """The venue did not answer in time."""


class VenueUnavailableError(RetryableVenueError):
    """The venue answered 5xx, maintenance or overload."""


class RateLimitedError(RetryableVenueError):
    """The venue rate-limited us (429) or banned our IP for a while (418).

    Attributes:
        retry_after_s: seconds the venue asked us to wait, when it said.
        banned: True for an IP ban (binance 418): no call may go out until it expires.
    """

    def __init__(
        self,
        venue: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        banned: bool = False,
        code: str | int | None = None,
    ):
        super().__init__(venue, message, code=code)
        self.retry_after_s = retry_after_s
        self.banned = banned


class RpcUnreachableError(RetryableVenueError):
    """The chain node cannot be reached."""


class FatalVenueError(VenueError):
    """A failure that retrying cannot fix."""


class AuthenticationError(FatalVenueError):
    """Bad API key or bad signature."""


class ClockSkewError(FatalVenueError):
    """The venue rejected the request timestamp as outside its window, even after a resync.

    Binance -1021, bybit 10002, okx 50102. The CEX backend resyncs its clock offset from the
    venue's server time and retries once on the first one; this error leaves only when the retry
    failed too.
    """


class PermissionDeniedError(FatalVenueError):
    """The key is valid but lacks the permission."""


class BadRequestError(FatalVenueError):
    """The venue rejected the request as malformed."""


class BadResponseError(FatalVenueError):
    """The venue's answer could not be parsed into positions."""


class CallRevertedError(FatalVenueError):
    """An eth_call reverted."""


class WrongChainError(FatalVenueError):
    """The node serves another chain than the config expects."""


class ContractMissingError(FatalVenueError):
    """No contract code at a configured address."""


def is_retryable(exc: BaseException) -> bool:
    """Return True when another attempt may succeed; decided by type only."""
    return isinstance(exc, RetryableVenueError)
