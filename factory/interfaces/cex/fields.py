"""Reading required fields of a venue's raw JSON, each failure naming venue, endpoint and field.

The strict CEX mapping (`factory.interfaces.cex.mapping`) reads every amount, side and margin
figure through a `FieldReader`: a missing field, an empty one (unless the venue documents it as
possibly empty), a non-number, a non-finite number, or a bare JSON number where the venue sends
decimal strings is a `BadResponseError` such as
``okx: GET /api/v5/account/positions: data[0].pos: missing``. The tolerances of the
cross-checks between redundant fields live here, explicit and documented.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal, overload

from factory.errors import BadResponseError
from factory.interfaces.cex.options import SumCheck

__all__ = [
    "NOTIONAL_REL_TOL",
    "PNL_TOL",
    "SUM_TOL",
    "FieldReader",
    "close_enough",
    "dig",
    "field_path",
]

#: ``sum(parts)`` vs ``total`` of a `SumCheck`: absolute, relative to the largest magnitude.
#: Venues print 8 decimals, so honest sums agree far inside this; a flipped part moves the sum
#: by twice its size.
SUM_TOL = (1e-6, 1e-6)
#: Unrealized PnL vs ``(mark - entry) x quantity``: relative to the larger of the two, plus an
#: absolute part relative to the notional (prices are rounded to the tick).
PNL_TOL = (0.01, 1e-6)
#: A signed notional vs ``quantity x mark``, relative.
NOTIONAL_REL_TOL = 0.01


def dig(data: Any, path: Iterable[str | int]) -> Any:
    """Follow keys / indexes into nested JSON; None when a step is missing."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and -len(data) <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def field_path(path: Iterable[str | int]) -> str:
    """``["data", 0, "pos"]`` -> ``data[0].pos``, as errors name a field."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "answer"


class FieldReader:
    """Reads required fields of one endpoint's answer; every failure names venue/endpoint/field."""

    def __init__(self, venue: str, endpoint: str, decimal_strings: bool = False):
        self.venue = venue
        self.endpoint = endpoint
        self.decimal_strings = decimal_strings

    def fail(self, where: Iterable[str | int], problem: str) -> BadResponseError:
        """The error for ``problem`` at the field ``where`` of this endpoint's answer."""
        return BadResponseError(self.venue, f"{self.endpoint}: {field_path(where)}: {problem}")

    def container(self, raw: Any, path: list[str | int], kind: type) -> Any:
        """The payload container at ``path``; a missing or mistyped one is 'no payload'."""
        node = dig(raw, path)
        if not isinstance(node, kind):
            raise self.fail(path, f"no payload (expected a {kind.__name__})")
        return node

    @overload
    def number(
        self, row: Any, path: list[str | int], name: str, *, optional: Literal[False] = False
    ) -> float: ...

    @overload
    def number(
        self, row: Any, path: list[str | int], name: str, *, optional: bool
    ) -> float | None: ...

    def number(
        self, row: Any, path: list[str | int], name: str, *, optional: bool = False
    ) -> float | None:
        """The number in ``row[name]``; ``""``/null read as None only when ``optional``."""
        where = [*path, name]
        if not isinstance(row, dict):
            raise self.fail(path, "not an object")
        if name not in row:
            raise self.fail(where, "missing")
        value = row[name]
        if value is None or value == "":
            if optional:
                return None
            raise self.fail(where, "empty")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(where, "not a number")
        if self.decimal_strings and not isinstance(value, str):
            raise self.fail(where, "not a decimal string (the venue sends numbers as strings)")
        try:
            out = float(value)
        except (ValueError, OverflowError):
            raise self.fail(where, "not a number") from None
        if not math.isfinite(out):
            raise self.fail(where, "not a finite number")
        return out

    def text(self, row: Any, path: list[str | int], name: str) -> str:
        """The string in ``row[name]`` (may be ``""`` only where the caller accepts it)."""
        if not isinstance(row, dict):
            raise self.fail(path, "not an object")
        if name not in row:
            raise self.fail([*path, name], "missing")
        value = row[name]
        if not isinstance(value, str):
            raise self.fail([*path, name], "not a string")
        return value

    def sums(self, row: dict, path: list[str | int], checks: Iterable[SumCheck]) -> None:
        """Every `SumCheck` whose fields are all present must hold within `SUM_TOL`."""
        for check in checks:
            names = [*check.parts, check.total]
            if not all(row.get(n) not in (None, "") for n in names):
                continue
            parts = [self.number(row, path, n) for n in check.parts]
            total = self.number(row, path, check.total)
            size = max(abs(total), *(abs(p) for p in parts))
            if abs(sum(parts) - total) > SUM_TOL[0] + SUM_TOL[1] * size:
                raise self.fail([*path, check.total],
                                f"does not equal {' + '.join(check.parts)} (contradiction)")


def close_enough(a: float, b: float, rel: float, abs_: float) -> bool:
    """``|a - b| <= abs_ + rel x max(|a|, |b|)``."""
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))
