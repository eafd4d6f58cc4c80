"""Re-rooting a venue's REST URLs at another scheme and host (testnets, proxies, the sandbox)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["reroot_urls"]


def reroot_urls(urls: Any, base_url: str) -> Any:
    """Return ``urls`` (a URL or a nested dict of URLs) re-rooted at ``base_url``, paths kept.

    ``https://fapi.binance.com/fapi/v1`` with base ``http://127.0.0.1:8765/binance`` becomes
    ``http://127.0.0.1:8765/binance/fapi/v1``; ``https://api.{hostname}`` becomes the base.
    Anything that is not an ``http(s)://`` URL (a ccxt option, None) is returned unchanged.

    Args:
        urls: a ccxt ``urls['api']`` value: a URL string or a dict of them, nested.
        base_url: the scheme and host (and optional path prefix) to put in front of each path.
    """
    if isinstance(urls, dict):
        return {k: reroot_urls(v, base_url) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        return base_url.rstrip("/") + urlsplit(urls).path
    return urls
