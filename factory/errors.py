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
        │   ├── RpcUnreachableError      chain node not reachable
        │   └── ResponseTooLargeError    the answer passed the venue's max_response_bytes (read stopped)
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
the venue id, the endpoint, the HTTP status, the venue's own error code and at most a short
excerpt of the answer passed through a `Scrubber` (every configured secret value, and every part
of a URL that may carry one, replaced by ``***``); a URL is printed only through `redact_url`.
Every message is bounded (`MAX_MESSAGE_CHARS`), and an adapter never chains the library's
exception (its text holds request URLs): the typed error is raised outside the handler, or with
a scrubbed cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "EXCERPT_CHARS",
    "MAX_MESSAGE_CHARS",
    "REDACTED",
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
    "ResponseTooLargeError",
    "RetryableVenueError",
    "RpcUnreachableError",
    "Scrubber",
    "VenueError",
    "VenueNetworkError",
    "VenueTimeoutError",
    "VenueUnavailableError",
    "WrongChainError",
    "is_retryable",
    "redact_url",
]

REDACTED = "***"
#: the longest excerpt of a venue's answer an error message keeps
EXCERPT_CHARS = 200
#: the longest message a `VenueError` keeps (longer ones are cut, marked with an ellipsis)
MAX_MESSAGE_CHARS = 1000
#: shorter values are not replaced on their own (a 2-letter path part like ``v3`` is no secret)
MIN_SECRET_CHARS = 4
#: a URL path segment or query value this long may be a key (``/v3/<key>``, ``?apikey=...``)
MIN_URL_PART_CHARS = 6


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
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
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


class ResponseTooLargeError(RetryableVenueError):
    """The venue's answer passed the venue's ``max_response_bytes``; the read stopped there.

    Retryable: an oversized answer (a proxy's error page, a runaway endpoint) is usually not
    repeated, and another attempt costs at most the cap again.

    Attributes:
        limit_bytes: the cap that was reached.
    """

    def __init__(self, venue: str, message: str, *, limit_bytes: int,
                 code: str | int | None = None):
        super().__init__(venue, message, code=code)
        self.limit_bytes = limit_bytes


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


def redact_url(url: str) -> str:
    """Return ``url`` as ``scheme://host[:port]`` plus ``/***`` when it has a path.

    Userinfo, path, query and fragment may all carry a key (``https://host/v3/<key>``,
    ``https://user:pass@host``), so none of them is printed.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    tail = f"/{REDACTED}" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def _url_parts(url: str) -> set[str]:
    """The parts of ``url`` that may carry a secret, as written and percent-decoded."""
    out = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        out.add(userinfo + "@")
        out.add(userinfo)
        out.update(p for p in userinfo.split(":", 1) if len(p) >= MIN_SECRET_CHARS)
    path = parts.path.strip("/")
    if path:
        out.add(path)
        out.update(seg for seg in path.split("/") if len(seg) >= MIN_URL_PART_CHARS)
    if parts.query:
        out.add(parts.query)
        for pair in parts.query.split("&"):
            value = pair.split("=", 1)[-1]
            if len(value) >= MIN_URL_PART_CHARS:
                out.add(value)
    if parts.fragment:
        out.add(parts.fragment)
    return out | {unquote(p) for p in out} | {quote(unquote(p), safe="") for p in out}


class Scrubber:
    """Replaces every configured secret value in a text with ``***``; cuts excerpts of answers.

    Args:
        secrets: secret values (API key, secret, passphrase); values shorter than
            `MIN_SECRET_CHARS` are ignored.
        urls: URLs that may carry secrets (an RPC URL with a key in its path or userinfo, a
            base-URL override): the URL, its userinfo, its path and query, and each path segment
            or query value of `MIN_URL_PART_CHARS` or more are replaced.

    Its repr shows how many values it holds, never the values.
    """

    def __init__(self, secrets: Iterable[str | None] = (), urls: Iterable[str | None] = ()):
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}
        for url in urls:
            if url:
                values |= {p for p in _url_parts(url) if len(p) >= MIN_SECRET_CHARS}
        self._values = sorted(values, key=len, reverse=True)  # the longest form first
        self._longest = len(self._values[0]) if self._values else 0

    def __repr__(self) -> str:
        return f"Scrubber({len(self._values)} values)"

    def __reduce__(self):
        # its values are secrets: they never travel (into a Ray object, a file); a copy without
        # them would scrub nothing, so refuse loudly
        raise TypeError("a Scrubber holds secrets and is not picklable")

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret value replaced by ``***``."""
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def excerpt(self, body: str | bytes | None, limit: int = EXCERPT_CHARS) -> str:
        """A short, printable, scrubbed excerpt of a venue's answer ("" for an empty one).

        Whitespace runs become one space and other control characters ``?``. The text is
        scrubbed before it is cut, and a head taken from a longer answer loses its last
        ``longest secret`` characters, so a secret straddling a cut is never half printed.
        """
        if not body:
            return ""
        head = body[: 4 * (limit + self._longest) + 64]
        text = head.decode("utf-8", "replace") if isinstance(head, bytes) else str(head)
        text = self(text)
        cut = len(head) < len(body)
        if cut and self._longest:
            text = text[: -self._longest]
        text = " ".join(text.split())
        text = "".join(c if c.isprintable() else "?" for c in text)
        return text[:limit] + ("…" if cut or len(text) > limit else "")


def is_retryable(exc: BaseException) -> bool:
    """Return True when another attempt may succeed; decided by type only."""
    return isinstance(exc, RetryableVenueError)
