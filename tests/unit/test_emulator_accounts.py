"""The exchange emulator's accounts: one book per API key, several accounts per exchange."""

from __future__ import annotations

import pytest

from factory.errors import ConfigError
from factory.sandbox.exchange import EMULATOR_VENUES, ExchangeEmulator, VenueAccount
from factory.sandbox.exchange.book import AccountBook

PERP = {"symbol": "BTCUSDT", "quantity": -0.5, "entry_price": 60000, "mark_price": 61000}
SOL = {"symbol": "SOLUSDT", "quantity": -10.0, "entry_price": 150, "mark_price": 151}


@pytest.fixture
def book():
    return AccountBook({n: cls() for n, cls in EMULATOR_VENUES.items()})


def test_each_account_gets_its_own_sandbox_key_derived_from_the_venue(book):
    book.put("binance.sub1", VenueAccount())
    book.put("okx.arb", VenueAccount())
    main_key = EMULATOR_VENUES["binance"].default_credentials.api_key
    assert book.credentials("binance").api_key == main_key
    assert book.credentials("binance.sub1").api_key == f"{main_key}-sub1"
    assert book.credentials("okx.arb").passphrase.endswith("-arb")


def test_a_key_finds_its_own_account_and_an_unknown_key_the_default(book):
    book.put("binance.sub1", VenueAccount(perps=[PERP]))
    sub_key = book.credentials("binance.sub1").api_key
    assert book.for_key("binance", sub_key) == "binance.sub1"
    assert book.for_key("binance", book.credentials("binance").api_key) == "binance"
    assert book.for_key("binance", "nobody") == "binance"
    assert book.for_key("okx", sub_key) == "okx"  # keys are per exchange
    assert book.get("binance.sub1").perps[0].quantity == -0.5
    assert book.get("binance").perps == []


def test_two_accounts_of_one_exchange_cannot_share_a_key(book):
    creds = {"api_key": "k", "secret": "s"}
    book.put("binance.a", VenueAccount(credentials=creds))
    with pytest.raises(ConfigError, match="binance.b: API key already used by binance.a"):
        book.put("binance.b", VenueAccount(credentials=creds))
    book.put("bybit.a", VenueAccount(credentials=creds))  # another exchange may


@pytest.mark.parametrize("venue, fragment", [
    ("kraken.sub1", "venue 'kraken' is not served"),
    ("binance.Sub-1", "account id 'Sub-1' must match"),
])
def test_a_bad_account_venue_is_refused(book, venue, fragment):
    with pytest.raises(ConfigError, match=fragment):
        book.put(venue, VenueAccount())


def test_an_unknown_account_is_an_error_naming_the_accounts(book):
    with pytest.raises(ConfigError, match=r"no account 'binance.sub9' \(accounts: binance,"):
        book.get("binance.sub9")


def test_public_routes_list_the_markets_of_every_account(book):
    book.put("binance", VenueAccount(perps=[PERP]))
    book.put("binance.sub1", VenueAccount(perps=[SOL]))
    assert [p.symbol for p in book.public("binance").perps] == ["BTCUSDT", "SOLUSDT"]
    assert [p.symbol for p in book.public("okx").perps] == []


def test_a_scenario_names_every_account_of_the_exchanges_it_names():
    emu = ExchangeEmulator(scenario={"venues": {
        "binance": {"perps": [PERP]}, "binance.sub1": {"perps": [SOL]}, "okx": {},
    }})
    assert emu.accounts() == ["binance", "bybit", "okx", "binance.sub1"]
    env = emu.env("binance.sub1")
    assert env == {
        "BASIS_BINANCE_API_BASE_URL": emu.base_url("binance"),
        "BASIS_BINANCE_SUB1_API_KEY": emu.credentials("binance.sub1").api_key,
        "BASIS_BINANCE_SUB1_API_SECRET": emu.credentials("binance.sub1").secret,
    }
    emu.load({"venues": {"binance": {}}})  # binance's other accounts go with it
    assert emu.accounts() == ["binance", "bybit", "okx"]
    with pytest.raises(ConfigError, match="not served"):
        emu.load({"venues": {"binance.sub1": {}, "kraken": {}}})
    assert emu.accounts() == ["binance", "bybit", "okx"]
