"""Replay canned exchange answers to the CEX backend, in process (no network).

`CannedTransport` stands in for HTTP (`CEXLiveBackend(transport=...)`): ccxt still signs the
request and parses the answer, only the wire is replaced. Answers are keyed
``"METHOD /path"`` or ``"METHOD /path?key=value&..."``; a keyed query matches when all its
pairs are in the request (the most specific key wins). Unit tests serve canned payloads from
files this way, and recorded venue responses can be replayed through the real parsers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from factory.errors import VenueNetworkError

__all__ = ["CannedTransport", "load_canned"]


def load_canned(path: str | Path) -> dict[str, Any]:
    """Read a ``{"METHOD /path[?query]": answer}`` JSON file (keys starting ``_`` are notes)."""
    data = json.loads(Path(path).read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


class CannedTransport:
    """Serve canned JSON answers by method, path and query.

    Args:
        answers: ``{"GET /fapi/v3/account": {...}, ...}``.
        prefix: path prefix to strip from request URLs (a re-rooting base URL's path).
        venue: venue id, for the error raised on an unknown request.

    Attributes:
        calls: ``(method, path, query)`` of every request, in order.
    """

    def __init__(self, answers: Mapping[str, Any], prefix: str = "", venue: str = "replay"):
        self.venue = venue
        self.prefix = prefix.rstrip("/")
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self._routes: list[tuple[str, str, dict[str, str], Any]] = []
        for key, answer in answers.items():
            method, _, target = key.partition(" ")
            path, _, query = target.partition("?")
            self._routes.append((method.upper(), path, dict(parse_qsl(query)), answer))
        self._routes.sort(key=lambda r: -len(r[2]))

    def set(self, key: str, answer: Any) -> None:
        """Add or replace one answer."""
        method, _, target = key.partition(" ")
        path, _, query = target.partition("?")
        self._routes = [r for r in self._routes
                        if (r[0], r[1], r[2]) != (method.upper(), path, dict(parse_qsl(query)))]
        self._routes.append((method.upper(), path, dict(parse_qsl(query)), answer))
        self._routes.sort(key=lambda r: -len(r[2]))

    async def __call__(
        self, method: str, url: str, headers: Mapping[str, str] | None, body: str | None
    ) -> Any:
        parts = urlsplit(url)
        path = parts.path
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix):]
        query = dict(parse_qsl(parts.query))
        self.calls.append((method.upper(), path, query))
        for m, p, q, answer in self._routes:
            if m == method.upper() and p == path and all(query.get(k) == v for k, v in q.items()):
                return copy.deepcopy(answer)
        raise VenueNetworkError(self.venue, f"{method} {path}: no canned answer")
