"""Accounts: several venue instances of one exchange (ARCHITECTURE.md, Accounts).

A mode lists accounts per exchange::

    accounts:
      binance: [{id: main}, {id: sub1, tags: [btc_basis]}]
      okx: [{id: main}]

Each account is a venue instance. ``id: main`` is the exchange's default account and keeps the
plain venue id (``binance``) and the credential variables of the venue YAML; any other id makes
the instance ``<exchange>.<id>`` (``binance.sub1``), which is the venue part of its position keys
(``binance.sub1:Perp:BTCUSDT``) and of its actor name (``venue:binance.sub1``). An instance reads
its credentials from ``BASIS_<EXCHANGE>_<ACCOUNT>_API_KEY`` / ``_API_SECRET`` /
``_API_PASSPHRASE`` (`env_name`) and shares everything else with its exchange's venue config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import Field, field_validator

from factory.models import FiniteFrozenModel

__all__ = [
    "ACCOUNT_ID_PATTERN",
    "DEFAULT_ACCOUNT",
    "AccountConfig",
    "account_problems",
    "exchange_of",
    "expand_accounts",
    "instance_id",
]

#: The account id that names an exchange's default account (the plain venue id).
DEFAULT_ACCOUNT = "main"
#: What an account id may be: it becomes the part after the dot of a venue id.
ACCOUNT_ID_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
_ACCOUNT_RE = re.compile(ACCOUNT_ID_PATTERN)
_TAG_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class AccountConfig(FiniteFrozenModel):
    """One account of an exchange: its id and the tags its roll-ups are grouped by.

    Attributes:
        id: ``main`` for the default account (venue id ``binance``), else lower-case letters,
            digits and ``_`` (venue id ``binance.<id>``).
        tags: roll-up groups the account belongs to (``btc_basis``).
    """

    id: str
    tags: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ACCOUNT_RE.match(v):
            raise ValueError(
                f"account id {v!r} cannot be part of a venue id: use lower-case letters, digits "
                "and _, starting with a letter or digit (e.g. sub1)"
            )
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not _TAG_RE.match(tag):
                raise ValueError(f"tag {tag!r} must be letters, digits, _ or -")
        if len(set(v)) != len(v):
            raise ValueError("a tag is listed twice")
        return v


def instance_id(exchange: str, account: str) -> str:
    """Return the venue id of an account: ``binance`` for ``main``, else ``binance.<account>``."""
    return exchange if account == DEFAULT_ACCOUNT else f"{exchange}.{account}"


def exchange_of(venue: str) -> str:
    """Return the exchange part of a venue id (``binance.sub1`` -> ``binance``)."""
    return venue.split(".", 1)[0]


def account_problems(
    accounts: Mapping[str, list[AccountConfig]],
    venues: list[str],
    kinds: Mapping[str, str],
) -> list[str]:
    """Check a mode's accounts against its venues and the known venue kinds.

    Args:
        accounts: the mode's ``accounts`` field.
        venues: the mode's ``venues`` as written (before the accounts are added).
        kinds: the kind (``cex``, ``onchain``...) of every venue the mode may use.

    Returns:
        One ``field.path: text`` line per problem: an exchange that is not a known CEX, an
        exchange also listed in ``venues``, an account id listed twice.
    """
    problems: list[str] = []
    listed = set(venues)
    cex = sorted(v for v, k in kinds.items() if k == "cex")
    for exchange, accts in accounts.items():
        where = f"accounts.{exchange}"
        if exchange not in kinds:
            problems.append(f"{where}: unknown exchange {exchange!r} (exchanges: {', '.join(cex)})")
            continue
        if kinds[exchange] != "cex":
            problems.append(f"{where}: {exchange!r} is a venue of kind {kinds[exchange]}; "
                            f"accounts are for exchanges ({', '.join(cex)})")
            continue
        if exchange in listed or any(exchange_of(v) == exchange for v in listed):
            problems.append(f"{where}: exchange {exchange!r} is also in venues: list its "
                            f"accounts in one place (id: {DEFAULT_ACCOUNT} is {exchange!r})")
        if not accts:
            problems.append(f"{where}: an exchange in accounts needs at least one account")
        seen: set[str] = set()
        for i, acct in enumerate(accts):
            if acct.id in seen:
                problems.append(f"{where}.{i}.id: account {acct.id!r} is listed twice")
            seen.add(acct.id)
    return problems


def expand_accounts(accounts: Mapping[str, list[AccountConfig]]) -> dict[str, list[str]]:
    """Return ``{venue id: tags}`` for every account, in config order (duplicates once)."""
    out: dict[str, list[str]] = {}
    for exchange, accts in accounts.items():
        for acct in accts:
            out.setdefault(instance_id(exchange, acct.id), list(acct.tags))
    return out
