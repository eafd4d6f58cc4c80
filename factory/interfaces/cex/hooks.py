"""Hook points of the CEX live backend: one call before every HTTP request, one after it.

The per-venue rate limiter (actors/limits.py) owns rate limiting, so ccxt's own throttle is off
and the backend calls

- ``await before(endpoint)`` before each request; it may wait, or raise a typed error
  (`RateLimitedError`, `VenueTimeoutError`) to cancel the request;
- ``await after(endpoint, status, headers)`` once the request is over, whatever its outcome
  (``status`` is None when no answer arrived), with the response headers (used-weight headers,
  ``Retry-After``).

``endpoint`` is an `Endpoint`: a ``str`` equal to the endpoint's name in the venue config
(``fapi_account``), or its path when the config does not list it, that also carries ``method``,
``path``, ``weight`` and ``pools`` from ``VenueConfig.rate_limits``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from factory.config import EndpointCost, RateLimits

__all__ = ["AfterResponse", "BeforeRequest", "Endpoint", "EndpointResolver", "RequestHooks"]


class Endpoint(str):
    """A REST endpoint as the hooks see it (a ``str``: the config name, else the path)."""

    method: str
    path: str
    weight: float
    pools: tuple[str, ...]
    configured: bool

    def __new__(
        cls,
        name: str,
        *,
        method: str,
        path: str,
        weight: float = 1.0,
        pools: tuple[str, ...] = (),
        configured: bool = False,
    ) -> Self:
        obj = str.__new__(cls, name)
        obj.method, obj.path, obj.weight = method, path, weight
        obj.pools, obj.configured = tuple(pools), configured
        return obj

    def __reduce__(self):  # pickles as its fields, not as a bare str
        return (_rebuild, (str(self), self.method, self.path, self.weight, self.pools,
                           self.configured))


def _rebuild(name, method, path, weight, pools, configured) -> Endpoint:
    return Endpoint(name, method=method, path=path, weight=weight, pools=pools,
                    configured=configured)


BeforeRequest = Callable[[Endpoint], Awaitable[None]]
AfterResponse = Callable[[Endpoint, "int | None", Mapping[str, str]], Awaitable[None]]


@dataclass
class RequestHooks:
    """The two optional hooks; either may be None."""

    before: BeforeRequest | None = None
    after: AfterResponse | None = None


class EndpointResolver:
    """Turns a request URL into its `Endpoint` using the venue config's endpoint table.

    Args:
        limits: the venue's ``rate_limits`` (endpoints by method and path).
        base_url: the re-rooting base URL, whose path prefix is not part of the venue path.
    """

    def __init__(self, limits: RateLimits, base_url: str | None = None):
        self._by_route: dict[tuple[str, str], EndpointCost] = {
            (e.method, e.path): e for e in limits.endpoints
        }
        self._windows = {p.name: p.window_s for p in limits.pools}
        self._prefix = urlsplit(base_url).path.rstrip("/") if base_url else ""

    def path_of(self, url: str) -> str:
        path = urlsplit(url).path
        if self._prefix and path.startswith(self._prefix + "/"):
            path = path[len(self._prefix):]
        return path or "/"

    def __call__(self, method: str, url: str) -> Endpoint:
        path = self.path_of(url)
        cost = self._by_route.get((method.upper(), path))
        if cost is None:
            return Endpoint(path, method=method.upper(), path=path)
        return Endpoint(cost.name, method=cost.method, path=path, weight=cost.weight,
                        pools=tuple(cost.pools), configured=True)

    def longest_window_s(self, endpoint: Endpoint) -> float | None:
        """The longest window among the endpoint's pools (a worst-case wait), None if unknown."""
        windows = [self._windows[p] for p in endpoint.pools if p in self._windows]
        return max(windows) if windows else None
