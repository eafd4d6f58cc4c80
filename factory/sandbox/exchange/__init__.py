"""Sandbox exchange emulator: binance, bybit and okx over HTTP on 127.0.0.1.

The real ccxt client talks to it through the venue config's ``api_base_url``; it checks
signatures, charges each endpoint its published weight from its own table (not the client's
venue config: `factory.sandbox.exchange.weights`), holds accounts from a scenario and injects
faults on demand.

Start it in a test::

    async with ExchangeEmulator(scenario="configs/sandbox.yaml") as emu:
        url = emu.base_url("binance")          # http://127.0.0.1:PORT/binance
        emu.inject("binance", Fault(kind="server_error", count=1))
        emu.requests("binance")                # what it saw, with weights

or from a thread (`serve_in_thread`) for Ray actors in other processes, or as a program:
``python -m factory.sandbox.exchange --scenario configs/sandbox.yaml --port 8765``.
"""

from factory.sandbox.exchange import binance, bybit, okx  # noqa: F401  (register the venues)
from factory.sandbox.exchange.admin import EmulatorAdminClient
from factory.sandbox.exchange.limiter import scaled_limits
from factory.sandbox.exchange.model import (
    EmulatorCredentials,
    Fault,
    FundingEntry,
    PerpPosition,
    RequestRecord,
    Scenario,
    TransferEntry,
    VenueAccount,
    load_scenario,
)
from factory.sandbox.exchange.server import ExchangeEmulator
from factory.sandbox.exchange.thread import serve_in_thread
from factory.sandbox.exchange.venue import EMULATOR_VENUES, VenueEmulator, register_venue

__all__ = [
    "EMULATOR_VENUES",
    "EmulatorAdminClient",
    "EmulatorCredentials",
    "ExchangeEmulator",
    "Fault",
    "FundingEntry",
    "PerpPosition",
    "RequestRecord",
    "Scenario",
    "TransferEntry",
    "VenueAccount",
    "VenueEmulator",
    "load_scenario",
    "register_venue",
    "scaled_limits",
    "serve_in_thread",
]
