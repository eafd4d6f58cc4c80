"""Roll-ups of a portfolio per exchange, per account and per tag (pure, no I/O, no Ray).

Each group is rolled up exactly like the desk total, over its own venues: stale venues count
with their last good positions, a missing venue expected to hold a leg of an underlying makes
that underlying unknown, and the group is ``complete`` only when every one of its venues is
fresh, none is missing and none of its figures is unknown. An incomplete group says why in
``reason``: it is never a partial sum shown as complete.

Groups: an exchange holds its default account and every other account (``binance``,
``binance.sub1``); an account is one venue id; a tag holds the accounts that carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from actors.portfolio import exposure, lst_rates
from factory.accounts import exchange_of
from factory.positions import Rollup, Unknown, VenueSnapshot

__all__ = ["Rollups", "group_venues", "rollup", "rollups"]


class Rollups(NamedTuple):
    """The three roll-ups of one portfolio snapshot."""

    by_exchange: dict[str, Rollup]
    by_account: dict[str, Rollup]
    by_tag: dict[str, Rollup]


def group_venues(
    venues: Iterable[str], tags: Mapping[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """Return the venues of each exchange, account and tag, in the order given.

    Args:
        venues: the venue ids of the portfolio (answered, stale and missing).
        tags: the tags of each venue id (venues without tags belong to no tag).
    """
    by_exchange: dict[str, list[str]] = {}
    by_account: dict[str, list[str]] = {}
    by_tag: dict[str, list[str]] = {}
    for venue in venues:
        by_exchange.setdefault(exchange_of(venue), []).append(venue)
        by_account[venue] = [venue]
        for tag in tags.get(venue, ()):
            by_tag.setdefault(tag, []).append(venue)
    return by_exchange, by_account, by_tag


def _not_fresh(
    venues: list[str], snapshots: Mapping[str, VenueSnapshot], reasons: Mapping[str, str]
) -> list[str]:
    """One phrase per venue of the group that is stale or missing."""
    out = []
    for venue in venues:
        snap = snapshots.get(venue)
        if snap is None:
            out.append(f"{venue} missing ({reasons.get(venue) or 'no answer yet'})")
        elif snap.status != "ok":
            out.append(f"{venue} {snap.status} {snap.age_s:.0f} s ({snap.error or 'no reason'})")
    return out


def rollup(
    venues: list[str],
    snapshots: Mapping[str, VenueSnapshot],
    waiting: Callable[[list[str]], Mapping[str, Unknown]],
    reasons: Mapping[str, str] | None = None,
    rates: Mapping[str, float] | None = None,
    rate_readers: Callable[[str], list[str]] | None = None,
) -> Rollup:
    """Roll up one group of venues.

    Args:
        venues: the group's venue ids.
        snapshots: the fresh and stale snapshots of the whole portfolio (others are ignored).
        waiting: given the group's missing venues, per underlying why a leg of it is unknown.
        reasons: why each missing venue has not answered.
        rates: the LST rates read by any venue of the portfolio.
        rate_readers: the venues configured to read a token's rate.
    """
    snaps = [snapshots[v] for v in venues if v in snapshots]
    missing = [v for v in venues if v not in snapshots]
    exp = exposure(snaps, waiting(missing) if missing else None, rate_readers=rate_readers,
                   rates=rates)
    unknown = dict(exp.unknown)
    for snap in snaps:
        if snap.transfers_unknown is not None:
            unknown[f"transfers_in_transit.{snap.venue}"] = Unknown(
                reason=snap.transfers_unknown, waiting_for=[snap.venue]
            )
    why = _not_fresh(venues, snapshots, reasons or {})
    # a figure unknown only because of a missing venue is already said by that venue's phrase
    why.extend(f"{path} unknown: {u.reason}" for path, u in sorted(unknown.items())
               if not u.waiting_for or not set(u.waiting_for) <= set(missing))
    return Rollup.trusted(
        venues=list(venues), net_exposure=exp.net, exposure_age_s=exp.age_s, unknown=unknown,
        complete=not why, reason="; ".join(why) or None,
    )


def rollups(
    snapshots: Mapping[str, VenueSnapshot],
    missing: Iterable[str],
    tags: Mapping[str, list[str]],
    waiting: Callable[[list[str]], Mapping[str, Unknown]],
    reasons: Mapping[str, str] | None = None,
    rate_readers: Callable[[str], list[str]] | None = None,
) -> Rollups:
    """Roll up a portfolio per exchange, per account and per tag.

    Args:
        snapshots: the fresh and stale venue snapshots by venue id.
        missing: the venues that have not answered and have no last good snapshot.
        tags: the tags of each venue id (`ModeConfig.venue_tags`).
        waiting: given some missing venues, per underlying why a leg of it is unknown.
        reasons: why each missing venue has not answered.
        rate_readers: the venues configured to read a token's rate.
    """
    venues = list(dict.fromkeys([*snapshots, *missing]))
    rates = lst_rates(snapshots.values())
    groups = group_venues(venues, tags)
    built = [
        {name: rollup(members, snapshots, waiting, reasons, rates, rate_readers)
         for name, members in sorted(group.items())}
        for group in groups
    ]
    return Rollups(*built)
