"""Venue health as an explicit state machine: ok -> degraded -> down, and back on success.

One method mutates it (`record`). A failure after ``failures_to_down`` consecutive failures
flips the venue to ``down``; any failure before that makes it ``degraded``; one success makes it
``ok`` again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HealthState", "HealthTracker"]

HealthState = Literal["ok", "degraded", "down"]


@dataclass
class HealthTracker:
    """Consecutive failures, last success, last error and the derived state."""

    failures_to_down: int = 3
    state: HealthState = "ok"
    consecutive_failures: int = 0
    last_success: float | None = None
    last_error: str | None = None
    last_error_type: str | None = None

    def record(self, now: float, error: BaseException | None = None) -> HealthState:
        """Record one probe's outcome (``error`` None = success) and return the new state."""
        if error is None:
            self.consecutive_failures = 0
            self.last_success = now
            self.state = "ok"
        else:
            self.consecutive_failures += 1
            self.last_error = str(error)
            self.last_error_type = type(error).__name__
            self.state = "down" if self.consecutive_failures >= self.failures_to_down else "degraded"
        return self.state

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "last_success": self.last_success,
            "last_error": self.last_error,
            "last_error_type": self.last_error_type,
        }
