"""SharedBudgetActor: the thin Ray shell over `actors.budget.SharedBudget`.

One per (exchange, egress group), named ``budget:<exchange>:<group>`` with the options of
`actors.options.budget_actor_options`; got or created by `actors.ray_calls.shared_budget_actor`
from the spawn entry point, and reached by the venue instances through
`actors.ray_calls.ActorBudgetLink`.
"""

from __future__ import annotations

from typing import Any

from actors.budget import LeaseGrant, LeaseRequest, SharedBudget
from factory.config import RateLimitPool

__all__ = ["SharedBudgetActor"]


class SharedBudgetActor:
    """Thin Ray shell over `SharedBudget` (one per exchange and egress group)."""

    def __init__(self, exchange: str, group: str, pools: list[RateLimitPool],
                 scale: float = 1.0):
        self.budget = SharedBudget(exchange, group, pools, scale=scale)

    def lease(self, request: LeaseRequest) -> LeaseGrant:
        return self.budget.lease(request)

    def status(self) -> dict[str, Any]:
        return self.budget.status()

    def __repr__(self) -> str:
        return f"SharedBudgetActor({self.budget.exchange}:{self.budget.group})"
