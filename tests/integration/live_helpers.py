"""Helpers for live-engine integration tests: polling and an engine builder."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(fn: Callable[[], T], timeout_s: float = 30.0, interval_s: float = 0.1,
               what: str = "condition") -> T:
    """Call ``fn`` until it returns a truthy value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - retried until the timeout
            last = exc
        time.sleep(interval_s)
    raise AssertionError(f"{what} not reached within {timeout_s} s (last: {last!r})")
