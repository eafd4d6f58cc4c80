"""The emulated exchanges' accounts, one per venue id and API key.

An exchange holds its default account (venue id ``binance``) and any number of other accounts
(``binance.sub1``), each with its own API key: a signed request reads the book of the account
its key belongs to, so two accounts of one exchange answer with their own positions. A request
with a key no account holds is checked against the default account's credentials and refused
by the venue's own invalid-key answer. Public (unsigned) routes see the markets of every
account of the exchange.

An account without credentials in the scenario gets the venue's sandbox key (default account)
or a sandbox key derived from it and the account id (``<key>-sub1``): distinct per account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from factory.accounts import ACCOUNT_ID_PATTERN, exchange_of
from factory.errors import ConfigError
from factory.sandbox.exchange.model import EmulatorCredentials, VenueAccount
from factory.sandbox.exchange.venue import VenueEmulator

__all__ = ["AccountBook"]

_ACCOUNT_RE = re.compile(ACCOUNT_ID_PATTERN)


class AccountBook:
    """Accounts by venue id over the served exchanges (not thread-safe: the server locks).

    Args:
        emulators: the served exchanges by name.
    """

    def __init__(self, emulators: Mapping[str, VenueEmulator]):
        self._emus = dict(emulators)
        self._accounts: dict[str, VenueAccount] = {n: VenueAccount() for n in self._emus}

    def exchange(self, venue: str) -> VenueEmulator:
        """Return the exchange serving a venue id (``binance.sub1`` -> binance).

        Raises:
            ConfigError: the exchange is not served or the account id is malformed.
        """
        name = exchange_of(venue)
        emu = self._emus.get(name)
        if emu is None:
            raise ConfigError(f"exchange emulator: venue {name!r} is not served "
                              f"(served: {', '.join(self._emus)})")
        account = venue[len(name) + 1:]
        if venue != name and not _ACCOUNT_RE.match(account):
            raise ConfigError(f"exchange emulator: {venue!r}: account id {account!r} must match "
                              f"{ACCOUNT_ID_PATTERN}")
        return emu

    def put(self, venue: str, account: VenueAccount) -> None:
        """Replace one account (added when new).

        Raises:
            ConfigError: unknown exchange, a wallet the exchange does not have, or an API key
                another account of the exchange already uses.
        """
        emu = self.exchange(venue)
        problems = emu.check_wallets(account)
        key = self._credentials(venue, account).api_key
        problems += [
            f"exchange emulator: {venue}: API key already used by {other}"
            for other in self.venues()
            if other != venue and exchange_of(other) == emu.name
            and self.credentials(other).api_key == key
        ]
        if problems:
            raise ConfigError(problems)
        self._accounts[venue] = account

    def drop_others(self, exchanges: set[str]) -> None:
        """Forget every account of these exchanges but their default ones."""
        for venue in list(self._accounts):
            if venue != exchange_of(venue) and exchange_of(venue) in exchanges:
                del self._accounts[venue]

    def get(self, venue: str) -> VenueAccount:
        """Return one account.

        Raises:
            ConfigError: the exchange is not served or has no such account.
        """
        self.exchange(venue)
        acct = self._accounts.get(venue)
        if acct is None:
            raise ConfigError(f"exchange emulator: no account {venue!r} "
                              f"(accounts: {', '.join(self.venues())})")
        return acct

    def venues(self) -> list[str]:
        """Every venue id with an account: the exchanges' defaults, then the others."""
        return list(self._accounts)

    def credentials(self, venue: str) -> EmulatorCredentials:
        """The key, secret (and passphrase) one account accepts."""
        return self._credentials(venue, self.get(venue))

    def _credentials(self, venue: str, account: VenueAccount) -> EmulatorCredentials:
        emu = self.exchange(venue)
        if account.credentials is not None:
            return account.credentials
        base = emu.default_credentials
        if venue == emu.name:
            return base
        tail = venue[len(emu.name) + 1:]
        return EmulatorCredentials(
            api_key=f"{base.api_key}-{tail}", secret=f"{base.secret}-{tail}",
            passphrase=None if base.passphrase is None else f"{base.passphrase}-{tail}",
        )

    def for_key(self, exchange: str, api_key: str) -> str:
        """The venue id of the exchange's account holding ``api_key`` (default: the exchange)."""
        for venue in self.venues():
            if exchange_of(venue) == exchange and self.credentials(venue).api_key == api_key:
                return venue
        return exchange

    def public(self, exchange: str) -> VenueAccount:
        """The exchange's default account with the perps and funding of all its accounts, for
        the public routes (markets every account trades)."""
        accounts = [a for v, a in self._accounts.items() if exchange_of(v) == exchange]
        default = self._accounts[exchange]
        if len(accounts) == 1:
            return default
        return default.model_copy(update={
            "perps": [p for a in accounts for p in a.perps],
            "funding": [f for a in accounts for f in a.funding],
        })
