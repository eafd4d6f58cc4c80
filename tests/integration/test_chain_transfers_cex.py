"""Money in transit across the CEX emulator and the sandbox chain, through the real interfaces.

The wallet venue reads the binance withdrawal through the live CEX interface (ccxt against the
exchange emulator) and the unconfirmed desk transfer from anvil's pending pool; once the exchange
credits the withdrawal (on chain, from its hot wallet) and the transfer is mined, both leave the
list and the balances have moved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from factory.config import resolve_config
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.sandbox.chain import SandboxChain, SandboxOps, venue_settings_for
from factory.sandbox.exchange import ExchangeEmulator, TransferEntry, VenueAccount


def account_with(withdrawal: TransferEntry) -> VenueAccount:
    return VenueAccount(wallets={"spot": {"USDT": 20_000.0}}, withdrawals=[withdrawal])


@pytest.fixture
async def exchange() -> AsyncIterator[ExchangeEmulator]:
    async with ExchangeEmulator(venues=["binance"]) as emu:
        yield emu


async def test_a_cex_withdrawal_and_a_wallet_transfer_are_in_transit_until_they_land(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, sandbox_env: dict[str, str],
    exchange: ExchangeEmulator, monkeypatch,
):
    hot_wallet, deposit_address = sandbox.users[4], sandbox.users[3]
    chain.fund(hot_wallet, USDT=1_000_000)
    chain.fund(desk, WETH=5)
    pending = TransferEntry(id="wd-1", asset="USDT", amount=5_000, status="pending",
                            time=datetime.now(UTC), address=desk)
    exchange.set_account("binance", account_with(pending))
    for name, value in exchange.env("binance").items():
        monkeypatch.setenv(name, value)
    mode = resolve_config({"venues": ["wallet", "binance"],
                           "venue_settings": venue_settings_for(sandbox)})
    wallet = ExecutionInterfaceFactory.create_position_interface("wallet", "live", mode)
    chain.set_automine(False)
    chain.transfer(desk, "WETH", deposit_address, 2, wait=False)

    before = await wallet.get_positions()

    assert before.error is None
    assert sorted((t.venue, t.kind, t.asset, t.amount) for t in before.transfers) == [
        ("binance", "withdrawal", "USDT", 5_000.0), ("wallet", "chain", "WETH", 2.0)]
    cex = next(t for t in before.transfers if t.kind == "withdrawal")
    assert (cex.id, cex.destination) == ("wd-1", desk)
    assert "wallet:BaseToken:USDT" not in before.amounts()
    assert before.amounts()["wallet:BaseToken:WETH"] == 5.0

    chain.mine()
    chain.set_automine(True)
    chain.transfer(hot_wallet, "USDT", desk, 5_000)  # the exchange sends the withdrawal
    exchange.set_account("binance", account_with(pending.model_copy(update={"status": "ok"})))
    after = await wallet.get_positions()

    assert after.transfers == []
    assert after.amounts()["wallet:BaseToken:USDT"] == 5_000.0
    assert after.amounts()["wallet:BaseToken:WETH"] == 3.0
    await wallet.close()
