"""Retry policy: exponential backoff with full jitter, capped, bounded, never past a deadline.

Only `factory.errors.is_retryable` errors are retried (decided by type). A rate-limited error's
``retry_after_s`` is a floor for the next delay. Time and randomness are injected.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from factory.config import RetrySettings
from factory.errors import RateLimitedError, is_retryable

__all__ = ["RetryOutcome", "RetryPolicy"]

T = TypeVar("T")


@dataclass
class RetryOutcome:
    """How a call went: attempts made and seconds slept between them."""

    attempts: int = 0
    slept_s: float = 0.0
    retries: int = 0


class RetryPolicy:
    """Bounded retries with capped exponential backoff and full jitter.

    Args:
        settings: max attempts, base and cap of the delay.
        clock: monotonic seconds; ``sleep``: async sleep; ``rng``: random source.
    """

    def __init__(
        self,
        settings: RetrySettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()

    def delay(self, retry: int, exc: BaseException | None = None) -> float:
        """Return the delay before retry number ``retry`` (1-based)."""
        cap = min(self.settings.max_delay_s, self.settings.base_delay_s * (2 ** (retry - 1)))
        d = self.rng.uniform(0.0, cap)
        if isinstance(exc, RateLimitedError) and exc.retry_after_s is not None:
            d = max(d, exc.retry_after_s)
        return d

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        deadline: float | None = None,
        outcome: RetryOutcome | None = None,
    ) -> T:
        """Call ``fn`` until it succeeds, fails for good, runs out of attempts or of time.

        Raises:
            the last error when it is not retryable, attempts are exhausted, or the next delay
            would end past ``deadline`` (monotonic seconds).
        """
        out = outcome if outcome is not None else RetryOutcome()
        while True:
            out.attempts += 1
            try:
                return await fn()
            except Exception as exc:
                if not is_retryable(exc) or out.attempts >= self.settings.max_attempts:
                    raise
                d = self.delay(out.attempts, exc)
                if deadline is not None and self.clock() + d >= deadline:
                    raise
                out.retries += 1
                out.slept_s += d
                await self.sleep(d)
