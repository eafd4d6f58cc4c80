"""Serve an `ExchangeEmulator` from a background thread (its own event loop).

Ray actors and other processes need a server that keeps answering while the test's own loop is
blocked in ``ray.get``; this runs the emulator on a daemon thread for the ``with`` block.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from factory.sandbox.exchange.server import ExchangeEmulator

__all__ = ["serve_in_thread"]


@contextlib.contextmanager
def serve_in_thread(timeout_s: float = 10.0, **kwargs: Any) -> Iterator[ExchangeEmulator]:
    """Run an emulator on a daemon thread for the ``with`` block.

    Args:
        timeout_s: how long start and stop may take.
        **kwargs: `ExchangeEmulator` arguments (scenario, limits, clock, port...).

    Yields:
        the running emulator; its Python API is thread-safe.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="exchange-emulator", daemon=True)
    thread.start()
    emu = ExchangeEmulator(**kwargs)
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(timeout_s)
        yield emu
    finally:
        try:
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout_s)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout_s)
            loop.close()
