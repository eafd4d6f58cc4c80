"""A byte cap on every venue answer read over HTTP, enforced while the body streams in.

Both HTTP clients of the live backends (ccxt's aiohttp session for the CEXs, the JSON-RPC
session of `factory.interfaces.evm.rpc`) are built with `capped_response_class(max_bytes)` as
their aiohttp ``response_class``. Its ``read()`` (which ``text()`` and ``json()`` use) refuses an
answer whose ``Content-Length`` announces more than the cap before reading any of it, and
otherwise reads chunk by chunk and stops as soon as the total passes the cap: the connection is
closed and `BodyTooLarge` raised, so at most the cap plus one chunk is ever held. Adapters
translate `BodyTooLarge` into `factory.errors.ResponseTooLargeError` naming venue and endpoint.
"""

from __future__ import annotations

from functools import cache

import aiohttp

__all__ = ["BodyTooLarge", "CappedResponse", "capped_response_class"]


class BodyTooLarge(Exception):
    """An answer passed the byte cap; translated at the adapter boundary.

    Not an ``aiohttp.ClientError``, so clients that wrap those (ccxt) let it through untouched.

    Attributes:
        limit_bytes: the cap.
        declared_bytes: the answer's ``Content-Length`` when it announced one.
    """

    def __init__(self, limit_bytes: int, declared_bytes: int | None = None):
        self.limit_bytes = limit_bytes
        self.declared_bytes = declared_bytes
        said = f" (Content-Length {declared_bytes})" if declared_bytes is not None else ""
        super().__init__(f"answer larger than {limit_bytes} bytes{said}")


class CappedResponse(aiohttp.ClientResponse):
    """An aiohttp response whose body read stops at ``max_bytes``."""

    max_bytes: int = 8 * 1024 * 1024

    async def read(self) -> bytes:
        """Read the body, at most ``max_bytes`` of it.

        Raises:
            BodyTooLarge: announced or read beyond the cap (the connection is closed).
        """
        if self._body is None:
            limit = self.max_bytes
            declared = self.content_length
            if declared is not None and declared > limit:
                self.close()
                raise BodyTooLarge(limit, declared)
            buf = bytearray()
            try:
                async for chunk in self.content.iter_any():
                    buf += chunk
                    if len(buf) > limit:
                        raise BodyTooLarge(limit, declared)
            except BaseException:
                self.close()
                raise
            self._body = bytes(buf)
        return await super().read()


@cache
def capped_response_class(max_bytes: int) -> type[CappedResponse]:
    """The response class capping bodies at ``max_bytes`` (one class per cap)."""
    if max_bytes <= 0:
        raise ValueError("max_bytes must be > 0")
    return type(f"CappedResponse{max_bytes}", (CappedResponse,), {"max_bytes": max_bytes})
