"""Rate budgets at desk scale: the smallest snapshot period per exchange, per design.

Reads ``tests/bench/exchange_limits.yaml`` (published REST limits and the cost of one account
snapshot, each figure with its source) and spreads ``--accounts`` accounts over the exchanges
(``account_weights`` of the YAML or ``--weights``; largest-remainder rounding). Plain Python,
no network, no clock: the figures are exact fractions and the output is deterministic.

A snapshot's requests go out together (one instant per account and round), so a window of
``window_b`` seconds admits ``floor(limit_b / cost_b)`` whole snapshots, and a token bucket
(``window: bucket``) ``limit_b / cost_b`` per ``window_b`` of refill. With ``m`` accounts
sharing a budget, spread evenly over the period, the smallest period is
``m * window_b / admitted_b``: any half-open window of that length then holds at most
``admitted_b`` snapshots, for fixed windows (any alignment) and rolling ones alike. Designs,
per exchange with ``n`` accounts:

- ``a_own_budget`` (today: one limiter per venue actor, each with the full pools, and the
  monitor fans out to every actor at the same instant): each account paces itself as if it
  were alone (``m = 1`` on every budget). At ``--period`` P the ``n`` synchronized snapshots
  put ``n * cost_b * ceil(window_b / P)`` on an ``ip`` budget (``cost_b * ceil(window_b /
  P)`` on a ``uid`` one) in the worst window; more than ``limit_b`` is a violation. A bucket
  is violated when one round exceeds its burst capacity or the rounds outpace its refill.
- ``b_shared_ip``: one budget owner per exchange and egress group leases weight to its
  accounts and spreads them evenly: ``m = n`` on ``ip`` budgets, 1 on ``uid`` ones.
- ``c_egress``: the accounts split over ``--egress`` k addresses (``m = ceil(n / k)`` on
  ``ip`` budgets), and the fewest addresses that meet ``--period`` (none helps when one
  account alone needs longer).
- ``d_master_key``: where the file has the master key's sub-account reads (``master_key``),
  every account is read through the master: ``m = n`` on every budget (its ``uid`` budgets
  are the master's); elsewhere design b's row (``via: own_keys``).

An exchange with an ``unknown`` figure (or an ``unknown`` scope) gets ``null`` and the reason,
and is left out of the totals. Prints one JSON object, or tables with ``--table``::

    PYTHONPATH=. .venv/bin/python tests/bench/sim_rate_budgets.py [--table] [--accounts 1000]
        [--exchanges binance_usdm,bybit] [--period 5] [--egress 2] [--weights a=3,b=1]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LIMITS_PATH",
    "Budget",
    "Exchange",
    "LimitsError",
    "allocate",
    "egress_needed",
    "load_limits",
    "main",
    "min_period",
    "simulate",
    "violations",
]

LIMITS_PATH = Path(__file__).with_name("exchange_limits.yaml")
SCOPES = ("ip", "uid")
WINDOWS = ("fixed", "rolling", "unspecified", "bucket")
READ_VIA = ("exchange_page", "project_config", "restatement", "ccxt")
VIOLATION_FIELDS = ("budget", "scope", "window_s", "demand", "limit", "over_by")


class LimitsError(ValueError):
    """The limits file or an argument is not what the simulation needs (one line: where, what)."""


@dataclass(frozen=True)
class Budget:
    """One published limit: ``limit`` units per ``window_s`` seconds, per IP or per account."""

    name: str
    scope: str
    limit: Fraction
    window_s: Fraction
    window: str
    burst: Fraction | None = None

    def admitted(self, cost: Fraction) -> Fraction:
        """Snapshots costing ``cost`` one window admits (whole ones; a bucket's refill rate)."""
        return self.limit / cost if self.window == "bucket" else Fraction(self.limit // cost)

    def period_s(self, cost: Fraction, sharing: int) -> Fraction:
        """Smallest period for ``sharing`` accounts spread evenly over this budget."""
        return sharing * self.window_s / self.admitted(cost)


@dataclass(frozen=True)
class Exchange:
    """An exchange's budgets and the cost of one snapshot on each (``unknown`` lists why not)."""

    key: str
    name: str
    budgets: tuple[Budget, ...]
    cost: Mapping[str, Fraction]
    unknown: tuple[str, ...] = ()
    master: Exchange | None = None


def _number(value: Any, where: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise LimitsError(f"{where}: expected a positive number or 'unknown', got {value!r}")
    return Fraction(str(value))


def _sourced(node: Mapping[str, Any], where: str) -> None:
    if not str(node.get("source", "")).startswith("https://"):
        raise LimitsError(f"{where}.source: expected the https URL of the exchange's docs")
    if node.get("read_via") not in READ_VIA:
        raise LimitsError(f"{where}.read_via: expected one of {', '.join(READ_VIA)}")


def _exchange(key: str, node: Mapping[str, Any]) -> Exchange:
    where = f"exchanges.{key}"
    unknown: list[str] = []
    budgets: list[Budget] = []
    for i, raw in enumerate(node.get("budgets") or []):
        at = f"{where}.budgets[{i}]"
        _sourced(raw, at)
        figures = {f: raw.get(f) for f in ("scope", "limit", "window_s")}
        missing = [f for f, v in figures.items() if v == "unknown"]
        if missing:
            if not str(raw.get("why", "")).strip():
                raise LimitsError(f"{at}: {', '.join(missing)} unknown without 'why'")
            unknown.append(f"{raw['name']}: {' '.join(str(raw['why']).split())}")
            continue
        if raw["scope"] not in SCOPES or raw.get("window") not in WINDOWS:
            raise LimitsError(f"{at}: scope must be ip|uid|unknown, window {'|'.join(WINDOWS)}")
        limit, window_s = (_number(raw[f], f"{at}.{f}") for f in ("limit", "window_s"))
        burst = None if raw.get("burst") is None else _number(raw["burst"], f"{at}.burst")
        budgets.append(
            Budget(str(raw["name"]), raw["scope"], limit, window_s, raw["window"], burst)
        )
    named = {b.name for b in budgets} | {u.split(":")[0] for u in unknown}
    cost: dict[str, Fraction] = {}
    for i, req in enumerate(node.get("snapshot") or []):
        at = f"{where}.snapshot[{i}]"
        _sourced(req, at)
        for budget, value in (req.get("cost") or {}).items():
            if budget not in named:
                raise LimitsError(f"{at}.cost.{budget}: no budget of that name")
            if value == "unknown":
                unknown.append(f"{req['endpoint']}: cost on {budget} unknown")
                continue
            cost[budget] = cost.get(budget, Fraction(0)) + _number(value, f"{at}.cost.{budget}")
    if not budgets and not unknown or not cost and not unknown:
        raise LimitsError(f"{where}: needs budgets and a snapshot")
    for b in budgets:
        if b.name in cost and (cost[b.name] > (b.burst or b.limit) or not b.admitted(cost[b.name])):
            raise LimitsError(f"{where}: one snapshot costs more than {b.name} admits at once")
    master = node.get("master_key")
    if master is not None:
        sub = {"budgets": master.get("budgets"), "snapshot": master.get("per_sub_account")}
        master = _exchange(f"{key}.master_key", sub)
    name = str(node.get("name", key))
    return Exchange(key, name, tuple(budgets), cost, tuple(unknown), master)


def load_limits(path: Path = LIMITS_PATH) -> tuple[dict[str, Exchange], dict[str, Fraction]]:
    """Read the limits file into exchanges and default account weights.

    Raises:
        LimitsError: a figure is neither a sourced positive number nor ``unknown`` with why.
    """
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise LimitsError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise LimitsError(f"{path}: not valid YAML{line}") from None
    if not isinstance(data, dict) or not isinstance(data.get("exchanges"), dict):
        raise LimitsError(f"{path}: expected a mapping with 'exchanges'")
    exchanges = {k: _exchange(k, v) for k, v in data["exchanges"].items()}
    weights = {
        k: _number(v, f"account_weights.{k}")
        for k, v in (data.get("account_weights") or {}).items()
    }
    stray = sorted(set(weights) - set(exchanges))
    if stray:
        raise LimitsError(f"account_weights.{stray[0]}: no exchange of that name")
    return exchanges, weights


def allocate(total: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """Split ``total`` accounts by ``weights`` (largest remainder; ties by name)."""
    norm = sum(weights.values(), Fraction(0))
    exact = {k: total * w / norm for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in exact.items()}
    rest = total - sum(out.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:rest]:
        out[key] += 1
    return out


def min_period(ex: Exchange, per_ip: int, per_uid: int = 1) -> tuple[Fraction, str]:
    """Smallest period with ``per_ip`` (``per_uid``) accounts on each ip (uid) budget."""
    best = (Fraction(0), "")
    for b in ex.budgets:
        if b.name in ex.cost:
            sharing = per_ip if b.scope == "ip" else per_uid
            best = max(best, (b.period_s(ex.cost[b.name], sharing), b.name))
    return best


def violations(ex: Exchange, accounts: int, period: Fraction) -> list[dict[str, Any]]:
    """Budgets overrun when ``accounts`` synchronized accounts, each pacing alone, snapshot."""
    found = []
    for b in ex.budgets:
        cost = ex.cost.get(b.name)
        if cost is None:
            continue
        round_cost = cost * (accounts if b.scope == "ip" else 1)
        if b.window == "bucket":
            load, cap = round_cost * b.window_s / period, b.limit
            if b.burst is not None and round_cost > b.burst:
                load, cap = round_cost, b.burst
        else:
            load, cap = round_cost * math.ceil(b.window_s / period), b.limit
        if load > cap:
            over = round(float(load / cap), 3)
            values = (b.name, b.scope, float(b.window_s), float(load), float(cap), over)
            found.append(dict(zip(VIOLATION_FIELDS, values, strict=True)))
    return found


def egress_needed(
    ex: Exchange, accounts: int, period: Fraction, per_uid: int = 1
) -> tuple[int | None, str]:
    """Fewest egress addresses for ``period`` (``None`` and why when no number suffices)."""
    per_account, binding = min_period(ex, 1, per_uid)
    if per_account > period:
        return None, f"{binding} needs {float(per_account):g} s whatever the number of addresses"
    k = 1
    for b in ex.budgets:
        if b.scope == "ip" and b.name in ex.cost:
            fit = math.floor(period / b.period_s(ex.cost[b.name], 1))
            k = max(k, math.ceil(accounts / fit))
    return k, ""


def _row(n: int, found: tuple[Fraction, str], **extra: Any) -> dict[str, Any]:
    return {"accounts": n, "min_period_s": round(float(found[0]), 4), "binding": found[1], **extra}


def simulate(
    exchanges: Mapping[str, Exchange], accounts: Mapping[str, int], period: Fraction, egress: int
) -> dict[str, Any]:
    """Per design and exchange: smallest period, binding budget, violations or addresses."""
    names = ("a_own_budget", "b_shared_ip", "c_egress", "d_master_key")
    designs: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, n in accounts.items():
        ex = exchanges[key]
        if ex.unknown or n == 0:
            why = "; ".join(ex.unknown) if ex.unknown else "no accounts"
            for rows in designs.values():
                rows[key] = {"accounts": n, "min_period_s": None, "reason": why}
            continue
        own, found = min_period(ex, 1), violations(ex, n, period)
        designs["a_own_budget"][key] = _row(
            n, own, ok_at_period=not found, violations_at_period=found,
            violations_at_own_period=violations(ex, n, own[0]),
        )  # fmt: skip
        shared = min_period(ex, n)
        designs["b_shared_ip"][key] = _row(n, shared, ok_at_period=shared[0] <= period)
        need, why = egress_needed(ex, n, period)
        reason = {"reason": why} if why else {}
        with_k = min_period(ex, math.ceil(n / egress))
        designs["c_egress"][key] = _row(n, with_k, egress=egress, egress_for_period=need, **reason)
        if ex.master is None or ex.master.unknown:
            designs["d_master_key"][key] = _row(
                n, shared, via="own_keys", ok_at_period=shared[0] <= period,
                egress_for_period=need, **reason,
            )  # fmt: skip
            continue
        # every sub-account read through the master key: all its budgets are shared
        via = min_period(ex.master, n, n)
        need, why = egress_needed(ex.master, n, period, per_uid=n)
        designs["d_master_key"][key] = _row(
            n, via, via="master_key", ok_at_period=via[0] <= period, egress_for_period=need,
            **({"reason": why} if why else {}),
        )  # fmt: skip
    return {
        "designs": {
            name: {"exchanges": rows, "totals": _totals(name, rows)}
            for name, rows in designs.items()
        }
    }


def _totals(design: str, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    known = {k: r for k, r in rows.items() if r["min_period_s"] is not None}
    slowest = max(known, key=lambda k: (known[k]["min_period_s"], k), default=None)
    out: dict[str, Any] = {
        "exchanges_counted": len(known),
        "accounts_counted": sum(r["accounts"] for r in known.values()),
        "left_out": sorted(set(rows) - set(known)),
        "desk_min_period_s": None if slowest is None else known[slowest]["min_period_s"],
        "slowest_exchange": slowest,
    }
    if design == "a_own_budget":
        out["exchanges_in_violation_at_period"] = sorted(
            k for k, r in known.items() if not r["ok_at_period"]
        )
    if design in ("c_egress", "d_master_key"):
        needs = [r["egress_for_period"] for r in known.values()]
        out["egress_addresses_for_period"] = None if None in needs else max(needs, default=0)
        out["unreachable_at_period"] = sorted(
            k for k, r in known.items() if r["egress_for_period"] is None
        )
    return out


def _weights(text: str, names: Sequence[str]) -> dict[str, Fraction]:
    out = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in names:
            raise LimitsError(f"--weights {key}: no exchange of that name")
        try:
            out[key] = _number(float(value), f"--weights {key}")
        except ValueError:
            raise LimitsError(f"--weights {key}: expected a positive number") from None
    return out


def _table(result: Mapping[str, Any]) -> str:
    lines = []
    for name, design in result["designs"].items():
        lines.append(f"\n{name}  (period {result['period_s']:g} s, egress {result['egress']})")
        lines.append(f"{'exchange':24}{'accts':>6}{'min period s':>14}  {'binding':25}extra")
        for key, r in design["exchanges"].items():
            period = "null" if r["min_period_s"] is None else f"{r['min_period_s']:g}"
            extra = r.get("reason", "")
            if name == "a_own_budget" and r["min_period_s"] is not None:
                found = r["violations_at_period"]
                extra = ", ".join(f"{v['budget']} x{v['over_by']:g}" for v in found) or "ok"
            if name in ("c_egress", "d_master_key") and r["min_period_s"] is not None:
                extra = f"addresses for period: {r['egress_for_period']} {r.get('reason', '')}"
                extra = f"{r['via']}; {extra}" if "via" in r else extra
            lines.append(
                f"{key:24}{r['accounts']:>6}{period:>14}  {r.get('binding', ''):25}{extra[:90]}"
            )
        lines.append("totals: " + json.dumps(design["totals"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulation; exit status 2 with one line on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--exchanges", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--period", type=float, default=5.0, help="seconds, for the checks")
    parser.add_argument("--egress", type=int, default=2, help="addresses per exchange in c")
    parser.add_argument("--weights", default="", help="key=weight,... (default: the YAML's)")
    parser.add_argument("--limits", type=Path, default=LIMITS_PATH)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.accounts < 0 or args.period <= 0 or args.egress < 1:
            raise LimitsError("--accounts must be >= 0, --period > 0 and --egress >= 1")
        exchanges, weights = load_limits(args.limits)
        if args.weights:
            weights = _weights(args.weights, list(exchanges))
        chosen = [k for k in args.exchanges.split(",") if k] or list(weights)
        bad = [k for k in chosen if k not in exchanges]
        if bad:
            raise LimitsError(
                f"--exchanges {bad[0]}: no exchange of that name (known: {', '.join(exchanges)})"
            )
        picked = {k: weights.get(k, Fraction(0)) for k in chosen}
        if not any(picked.values()):
            raise LimitsError("--exchanges: none of them has an account weight")
    except LimitsError as exc:
        print(f"sim_rate_budgets: {exc}", file=sys.stderr)
        return 2
    accounts = allocate(args.accounts, {k: w for k, w in picked.items() if w})
    accounts.update({k: 0 for k, w in picked.items() if not w})
    period = Fraction(str(args.period))
    result = {
        "accounts": args.accounts,
        "period_s": args.period,
        "egress": args.egress,
        "limits": str(args.limits),
        **simulate(exchanges, accounts, period, args.egress),
    }
    print(_table(result) if args.table else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
