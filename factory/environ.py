"""A scoped process environment: Ray's processes inherit it when they start, the caller's own
environment is restored afterwards (sandbox credentials never linger in the driver)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

__all__ = ["scoped_environ"]


@contextlib.contextmanager
def scoped_environ(extra: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the ``with`` block, then restore the previous values."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
