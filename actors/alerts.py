"""Pure alert rules over a PortfolioSnapshot, thresholds from the mode config.

| kind | fires when |
|---|---|
| health_factor | an AAVE health factor is below ``min_health_factor`` (critical below 1.05) |
| margin_ratio | a CEX margin ratio is below ``min_margin_ratio`` |
| net_delta | abs(net exposure of the strategy's underlying) > ``delta_tolerance`` x gross exposure |
| staleness | a venue is stale for longer than ``max_staleness_s`` |
| missing_venue | a venue has never answered (the message names its last error) |
| reconciliation | a key mismatches beyond its tolerance |
| unknown | a figure is null because an input is unknown (names what it waits for) |

A null figure raises no threshold alert (no "beyond tolerance" on an exposure nobody knows):
it raises one ``unknown`` alert naming the figure, the reason and the venues it waits for.
"""

from __future__ import annotations

from collections.abc import Mapping

from factory.assets import underlying_of
from factory.config import ModeConfig
from factory.positions import Alert, PortfolioSnapshot, PositionType

__all__ = ["evaluate_alerts"]


def _gross(snapshot: PortfolioSnapshot, underlying: str) -> float:
    gross = 0.0
    for key, amount in snapshot.positions.items():
        if underlying_of(key) == underlying and key.type != PositionType.Perp:
            gross += abs(amount)
    return gross


def evaluate_alerts(
    snapshot: PortfolioSnapshot, config: ModeConfig, reasons: Mapping[str, str] | None = None
) -> list[Alert]:
    """Return the alerts a snapshot raises under the mode's thresholds.

    ``reasons``: why each missing venue has not reported (its last error), named in its alert.
    """
    th = config.thresholds
    alerts: list[Alert] = []
    for venue, hf in snapshot.risk.health_factor.items():
        if hf is not None and hf < th.min_health_factor:
            alerts.append(Alert(
                kind="health_factor", venue=venue, value=hf, threshold=th.min_health_factor,
                severity="critical" if hf < 1.05 else "warning",
                message=f"{venue} health factor {hf:.3f} below {th.min_health_factor:g}",
            ))
    for venue, ratio in snapshot.risk.margin_ratio.items():
        if ratio is not None and ratio < th.min_margin_ratio:
            alerts.append(Alert(
                kind="margin_ratio", venue=venue, value=ratio, threshold=th.min_margin_ratio,
                message=f"{venue} margin ratio {ratio:.3f} below {th.min_margin_ratio:g}",
            ))
    underlying = config.strategy.underlying if config.strategy else None
    net = snapshot.net_exposure.get(underlying) if underlying else None
    if underlying and net is not None:
        gross = _gross(snapshot, underlying)
        limit = th.delta_tolerance * gross
        if gross > 0 and abs(net) > limit:
            alerts.append(Alert(
                kind="net_delta", value=net, threshold=limit,
                message=f"net {underlying} exposure {net:+.6g} beyond tolerance {limit:.6g}",
            ))
    for venue, snap in snapshot.venues.items():
        if snap.status == "stale" and snap.age_s > th.max_staleness_s:
            alerts.append(Alert(
                kind="staleness", venue=venue, value=snap.age_s, threshold=th.max_staleness_s,
                severity="critical",
                message=f"{venue} stale for {snap.age_s:.0f} s ({snap.error})",
            ))
    for path, why in sorted(snapshot.unknown.items()):
        waits = f" (waiting for: {', '.join(why.waiting_for)})" if why.waiting_for else ""
        alerts.append(Alert(
            kind="unknown", key=path, venue=why.waiting_for[0] if why.waiting_for else None,
            message=f"{path} unknown: {why.reason}{waits}",
        ))
    for venue in snapshot.missing:
        reason = (reasons or {}).get(venue)
        message = f"{venue} has not reported" + (f": {reason}" if reason else "")
        alerts.append(Alert(kind="missing_venue", venue=venue, severity="critical",
                            message=message))
    if snapshot.reconciliation is not None:
        for item in snapshot.reconciliation.mismatches:
            alerts.append(Alert(
                kind="reconciliation", key=item.key, value=item.diff, threshold=item.tolerance,
                message=f"{item.key} expected {item.expected:.8g}, venue reports {item.real:.8g}",
            ))
    return alerts
