"""The terminal view of a PortfolioSnapshot (rich): venues, positions, exposure, risk, alerts.

`render_snapshot` returns one renderable, so the live view (`rich.live.Live`) and tests (a
recording `Console`) draw exactly the same frame.
"""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from factory.positions import PortfolioSnapshot, Rollup

__all__ = ["render_snapshot"]

_STATUS_STYLE = {"ok": "green", "stale": "yellow", "error": "red", "missing": "red"}
#: a venue ban's end as the venue actor words it (actors/limits.py), shown first in the cell
_BANNED = re.compile(r"banned until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ERROR_WIDTH = 60


def _error_cell(error: str | None) -> str:
    """The venue's error cut to the column, with a ban's end time always in view."""
    if not error:
        return ""
    ban = _BANNED.search(error)
    if ban is not None:
        error = f"IP {ban.group(0)}; {error}"
    return error[:ERROR_WIDTH]


def _fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _value(snap: PortfolioSnapshot, path: str, value: float | None, fmt: str) -> str | Text:
    """A figure as text; a null one reads ``unknown`` with the venues it waits for."""
    if value is not None:
        return format(value, fmt)
    why = snap.unknown.get(path)
    if why is None:
        return "-"
    waits = f" (waiting for: {', '.join(why.waiting_for)})" if why.waiting_for else ""
    return Text(f"unknown{waits}", style="yellow")


def _rollup_value(group: Rollup, asset: str) -> str | Text:
    """A roll-up's net exposure of one underlying; null reads ``unknown`` (waiting for)."""
    if asset not in group.net_exposure:
        return "-"
    net = group.net_exposure[asset]
    if net is not None:
        return format(net, ",.6f")
    why = group.unknown.get(f"net_exposure.{asset}")
    waits = f" (waiting for: {', '.join(why.waiting_for)})" if why and why.waiting_for else ""
    return Text(f"unknown{waits}", style="yellow")


def _rollups(snap: PortfolioSnapshot) -> Table | None:
    """Net exposure per exchange, account and tag; None for a desk of one account each."""
    if not snap.by_tag and all(len(r.venues) < 2 for r in snap.by_exchange.values()):
        return None
    groups = [("exchange", snap.by_exchange), ("account", snap.by_account), ("tag", snap.by_tag)]
    assets = sorted({a for _, g in groups for r in g.values() for a in r.net_exposure})
    table = Table(title="Roll-ups")
    for col in ("group", "name", "venues", "complete"):
        table.add_column(col)
    for asset in assets:
        table.add_column(asset, justify="right")
    for kind, group in groups:
        for name, r in sorted(group.items()):
            done = (Text("yes", style="green") if r.complete
                    else Text(f"no: {r.reason or 'unknown'}"[:ERROR_WIDTH], style="yellow"))
            table.add_row(kind, name, str(len(r.venues)), done,
                          *(_rollup_value(r, a) for a in assets))
    return table


def render_snapshot(snap: PortfolioSnapshot, title: str = "basis-monitor") -> Group:
    """Build the frame for one snapshot."""
    venues = Table(title="Venues", expand=False)
    for col in ("venue", "status", "age s", "latency ms", "attempts", "positions", "error"):
        venues.add_column(col)
    for name, v in sorted(snap.venues.items()):
        venues.add_row(
            name, Text(v.status, style=_STATUS_STYLE.get(v.status, "")), f"{v.age_s:.1f}",
            f"{v.latency_s * 1000:.0f}", str(v.attempts), str(len(v.positions)),
            _error_cell(v.error),
        )
    for name in snap.missing:
        venues.add_row(name, Text("missing", style="red"), "-", "-", "-", "-", "")

    positions = Table(title="Positions")
    positions.add_column("key")
    positions.add_column("amount", justify="right")
    for key, amount in sorted(snap.positions.items()):
        positions.add_row(key, _fmt(amount))

    exposure = Table(title="Net exposure")
    exposure.add_column("underlying")
    exposure.add_column("net", justify="right")
    exposure.add_column("oldest leg s", justify="right")
    for asset, net in sorted(snap.net_exposure.items()):
        age = snap.exposure_age_s.get(asset)
        exposure.add_row(asset, _value(snap, f"net_exposure.{asset}", net, ",.6f"),
                         "-" if age is None else f"{age:.0f}")

    risk = Table(title="Risk")
    risk.add_column("what")
    risk.add_column("where")
    risk.add_column("value", justify="right")
    for venue, hf in sorted(snap.risk.health_factor.items()):
        path = f"risk.health_factor.{venue}"
        risk.add_row("health factor", venue, "no debt" if hf is None and path not in snap.unknown
                     else _value(snap, path, hf, ".4f"))
    for venue, ltv in sorted(snap.risk.ltv.items()):
        risk.add_row("LTV", venue, _value(snap, f"risk.ltv.{venue}", ltv, ".2%"))
    for venue, mr in sorted(snap.risk.margin_ratio.items()):
        risk.add_row("margin ratio", venue, _value(snap, f"risk.margin_ratio.{venue}", mr, ".2%"))
    for key, d in sorted(snap.risk.distance_to_liquidation.items()):
        risk.add_row("to liquidation", key,
                     _value(snap, f"risk.distance_to_liquidation.{key}", d, "+.2%"))

    transit = Table(title="In transit")
    for col in ("id", "asset", "amount", "from", "to", "age s"):
        transit.add_column(col)
    for v in snap.venues.values():
        for t in v.transfers:
            transit.add_row(t.id[:18], t.asset, _fmt(t.amount, 4), t.source[:14],
                            t.destination[:14], f"{t.age_s:.0f}")

    recon = snap.reconciliation
    if recon is None:
        recon_line = Text("reconciliation: no expected positions")
    else:
        counts = {s: sum(1 for i in recon.items if i.status == s) for s in ("ok", "mismatch",
                                                                            "unknown")}
        style = "green" if recon.ok else ("red" if counts["mismatch"] else "yellow")
        recon_line = Text(
            f"reconciliation: {counts['ok']} ok, {counts['mismatch']} mismatch, "
            f"{counts['unknown']} unknown", style=style,
        )
    alerts = Text("\n".join(f"[{a.severity}] {a.message}" for a in snap.alerts) or "alerts: none",
                  style="red" if snap.alerts else "green")
    head = Text(
        f"{title}  {snap.timestamp:%Y-%m-%d %H:%M:%S} UTC  mode={snap.execution_mode}  "
        f"complete={snap.complete}", style="bold",
    )
    parts: list[RenderableType] = [head, venues, positions, exposure]
    rolled = _rollups(snap)
    if rolled is not None:
        parts.append(rolled)
    parts.append(risk)
    if transit.row_count:
        parts.append(transit)
    return Group(*parts, recon_line, alerts)
