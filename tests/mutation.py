"""Mutation harness: every leaf of a venue answer, mutated, must give the same result or a typed error.

A *leaf* is a scalar inside a JSON-like answer (dicts and lists walked to the end). Each leaf is
mutated five ways: deleted (a dict key removed, a list item dropped), set to ``None``, set to
``""``, given a wrong type (a number or numeric string becomes a list, anything else a number)
and, for numbers and numeric strings, its sign flipped. The answer is then evaluated as the
product would (the caller's ``evaluate``) and the outcome classified:

- ``unchanged``: the result equals the unmutated answer's result;
- ``typed``: a typed error of the product was raised (the caller names the types);
- ``silent``: anything else, i.e. a different result presented as good, or an untyped crash.

Every harness run adds to one session tally that `tests/conftest.py` prints at the end as
``mutations: N, unchanged: A, typed errors: B, silent changes: 0``; a run with any silent change
fails its test with the leaf paths that changed silently.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "TALLY", "Outcome", "Tally", "leaves", "mutants", "run_mutations"]

KINDS = ("delete", "null", "empty", "wrong_type", "flip_sign")

Path = tuple[str | int, ...]


def leaves(obj: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Yield ``(path, value)`` for every scalar leaf under ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, (*path, i))
    else:
        yield path, obj


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            out = float(value)
        except ValueError:
            return None
        return out if math.isfinite(out) else None
    return None


def _flipped(value: Any) -> Any:
    """The value with its sign flipped, in its own spelling (None when not a non-zero number)."""
    num = _numeric(value)
    if num is None or num == 0:
        return None
    if isinstance(value, str):
        return value[1:] if value.startswith("-") else f"-{value}"
    return -value


def _wrong_type(value: Any) -> Any:
    if _numeric(value) is not None:
        return [value]
    if isinstance(value, (int, float)):  # bool, nan
        return "x"
    return 12345


def _apply(root: Any, path: Path, kind: str) -> Any | None:
    """A deep copy of ``root`` with the leaf at ``path`` mutated; None when the kind is a no-op."""
    parent_path, last = path[:-1], path[-1]
    out = copy.deepcopy(root)
    parent = out
    for step in parent_path:
        parent = parent[step]
    old = parent[last]
    if kind == "delete":
        del parent[last]
        return out
    new: Any
    if kind == "null":
        new = None
    elif kind == "empty":
        new = ""
    elif kind == "wrong_type":
        new = _wrong_type(old)
    else:
        new = _flipped(old)
        if new is None:
            return None
    if new == old and type(new) is type(old):
        return None
    parent[last] = new
    return out


def mutants(
    answer: Any, include: Callable[[Path], bool] | None = None
) -> Iterator[tuple[str, Any]]:
    """Yield ``(description, mutated answer)`` for every leaf (those ``include`` accepts)."""
    for path, _value in list(leaves(answer)):
        if not path or (include is not None and not include(path)):
            continue
        for kind in KINDS:
            mutated = _apply(answer, path, kind)
            if mutated is not None:
                yield f"{'.'.join(map(str, path))} [{kind}]", mutated


@dataclass
class Outcome:
    """What one harness run found."""

    name: str
    mutations: int = 0
    unchanged: int = 0
    typed: int = 0
    silent: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.name}: mutations: {self.mutations}, unchanged: {self.unchanged}, "
                f"typed errors: {self.typed}, silent changes: {len(self.silent)}")


@dataclass
class Tally:
    """The session's totals over every harness run (printed by tests/conftest.py)."""

    runs: list[Outcome] = field(default_factory=list)

    def totals(self) -> tuple[int, int, int, int]:
        return (sum(o.mutations for o in self.runs), sum(o.unchanged for o in self.runs),
                sum(o.typed for o in self.runs), sum(len(o.silent) for o in self.runs))

    def line(self) -> str:
        n, a, b, s = self.totals()
        return f"mutations: {n}, unchanged: {a}, typed errors: {b}, silent changes: {s}"


TALLY = Tally()


def run_mutations(
    name: str,
    answer: Any,
    evaluate: Callable[[Any], Any],
    typed: tuple[type[BaseException], ...],
    include: Callable[[Path], bool] | None = None,
    same: Callable[[Any, Any], bool] | None = None,
) -> Outcome:
    """Mutate every leaf of ``answer``, evaluate each mutant and classify the outcome.

    Args:
        name: what is mutated (``binance fetch_balance spot``), for the report.
        answer: the unmutated answer (not modified).
        evaluate: turns an answer into the product's result (raises a typed error on bad input).
        typed: the product's typed errors: raising one of these is a correct outcome.
        include: which leaf paths to mutate (default: all).
        same: result equality (default ``==``).

    Returns:
        The outcome, also added to the session tally.
    """
    baseline = evaluate(copy.deepcopy(answer))
    equal = same or (lambda a, b: a == b)
    out = Outcome(name)
    for desc, mutated in mutants(answer, include):
        out.mutations += 1
        try:
            result = evaluate(mutated)
        except typed:
            out.typed += 1
            continue
        except Exception as exc:  # noqa: BLE001 - an untyped crash is a silent failure here
            out.silent.append(f"{desc}: untyped {type(exc).__name__}: {exc}"[:300])
            continue
        if equal(result, baseline):
            out.unchanged += 1
        else:
            out.silent.append(f"{desc}: result changed")
    TALLY.runs.append(out)
    return out
