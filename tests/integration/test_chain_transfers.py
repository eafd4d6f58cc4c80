"""The wallet venue: balances at one block and money in transit (chain and CEX)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factory.config import ModeConfig
from factory.errors import RpcUnreachableError, VenueTimeoutError
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.evm.transfer_live import TransferLiveBackend
from factory.positions import Transfer, utc
from factory.sandbox.chain import SandboxChain, SandboxOps, free_port, sandbox_environ


class FakeCexTransit:
    """A CEX interface's transit view: withdrawals to the desk that the CEX has not sent yet.

    `credit` is the exchange sending one on chain from its hot wallet: the transfer leaves the
    list and the desk's balance moves.
    """

    def __init__(self, venue: str, chain: SandboxOps, hot_wallet: str):
        self.venue = venue
        self.chain = chain
        self.hot_wallet = hot_wallet
        self.pending: dict[str, Transfer] = {}
        self.calls = 0

    def withdraw(self, asset: str, amount: float, to: str) -> Transfer:
        started = datetime(2026, 1, 1, tzinfo=UTC)
        t = Transfer(id=f"{self.venue}-wd-{len(self.pending) + 1}", asset=asset, amount=amount,
                     source=self.venue, destination=to, kind="withdrawal", venue=self.venue,
                     started_at=started, age_s=42.0)
        self.pending[t.id] = t
        return t

    def credit(self, transfer_id: str) -> None:
        t = self.pending.pop(transfer_id)
        self.chain.transfer(self.hot_wallet, t.asset, t.destination, t.amount)

    async def get_transfers_in_transit(self) -> list[Transfer]:
        self.calls += 1
        return list(self.pending.values())


class FailingCexTransit:
    def __init__(self, error: Exception):
        self.error = error

    async def get_transfers_in_transit(self) -> list[Transfer]:
        raise self.error


def wallet(mode: ModeConfig, env: dict[str, str], sources=None, clock=None) -> TransferLiveBackend:
    return TransferLiveBackend(mode.venue_config("wallet"), mode, environ=env,
                               sources={} if sources is None else sources, clock=clock)


async def test_wallet_balances_are_native_and_erc20_in_native_units(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    chain.fund(desk, ETH=12.5, USDT=1234.567891, WETH=2, weETH=7)
    w = wallet(chain_mode, sandbox_environ(sandbox, [desk]))

    snap = await w.fetch_snapshot(utc())

    # weETH is reported by the etherfi venue (as an LST with its rate), never twice
    assert snap.amounts() == {
        "wallet:BaseToken:ETH": 12.5, "wallet:BaseToken:USDT": 1234.567891,
        "wallet:BaseToken:WETH": 2.0,
    }
    assert snap.transfers == [] and snap.error is None
    await w.close()


async def test_an_unconfirmed_transfer_is_in_transit_until_mined_then_the_balance_moves(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    exchange_deposit = sandbox.users[3]
    chain.fund(desk, ETH=10, USDT=1000)
    clock_now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    w = wallet(chain_mode, sandbox_environ(sandbox, [desk]), clock=lambda: clock_now[0])
    chain.set_automine(False)
    usdt_tx = chain.transfer(desk, "USDT", exchange_deposit, 250, wait=False)
    eth_tx = chain.send_eth(desk, exchange_deposit, 1.5, wait=False)
    chain.client.transact(sandbox.users[4], exchange_deposit, value=10**18, wait=False,
                          step="someone else's transfer")

    pending = await w.fetch_snapshot(utc())
    clock_now[0] += timedelta(seconds=30)
    still = await w.fetch_snapshot(utc())

    by_asset = {t.asset: t for t in still.transfers}
    assert set(by_asset) == {"USDT", "ETH"}  # only the desk's own transactions
    assert (by_asset["USDT"].amount, by_asset["USDT"].tx_hash) == (250.0, usdt_tx)
    assert (by_asset["ETH"].amount, by_asset["ETH"].tx_hash) == (1.5, eth_tx)
    for t in still.transfers:
        assert (t.source, t.destination) == (desk, exchange_deposit)
        assert (t.kind, t.venue) == ("chain", "wallet")
        assert t.age_s == 30.0
    assert pending.amounts()["wallet:BaseToken:USDT"] == 1000.0  # not moved yet

    chain.mine()
    landed = await w.fetch_snapshot(utc())

    assert landed.transfers == []
    assert landed.amounts()["wallet:BaseToken:USDT"] == 750.0
    assert landed.amounts()["wallet:BaseToken:ETH"] < 10 - 1.5
    assert landed.block_number == pending.block_number + 1
    await w.close()


async def test_cex_withdrawal_and_chain_transfer_both_in_transit_then_both_land(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    hot_wallet, deposit_address = sandbox.users[4], sandbox.users[3]
    chain.fund(hot_wallet, USDT=1_000_000)
    chain.fund(desk, WETH=5)
    cex = FakeCexTransit("binance", chain, hot_wallet)
    withdrawal = cex.withdraw("USDT", 5_000, desk)
    w = wallet(chain_mode, sandbox_environ(sandbox, [desk]), sources={"binance": cex})
    chain.set_automine(False)
    chain.transfer(desk, "WETH", deposit_address, 2, wait=False)

    before = await w.fetch_snapshot(utc())

    kinds = sorted((t.kind, t.asset, t.amount) for t in before.transfers)
    assert kinds == [("chain", "WETH", 2.0), ("withdrawal", "USDT", 5_000.0)]
    assert withdrawal in before.transfers
    assert "wallet:BaseToken:USDT" not in before.amounts()

    chain.mine()
    chain.set_automine(True)
    cex.credit(withdrawal.id)
    after = await w.fetch_snapshot(utc())

    assert after.transfers == []
    assert after.amounts()["wallet:BaseToken:USDT"] == 5_000.0
    assert after.amounts()["wallet:BaseToken:WETH"] == 3.0
    assert after.error is None
    await w.close()


async def test_a_failing_cex_source_is_reported_and_the_others_still_count(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    chain.fund(desk, USDT=10)
    good = FakeCexTransit("okx", chain, sandbox.users[4])
    good.withdraw("USDT", 100, desk)
    sources = {"binance": FailingCexTransit(VenueTimeoutError("binance", "no answer in time")),
               "okx": good}
    w = wallet(chain_mode, sandbox_environ(sandbox, [desk]), sources=sources)

    snap = await w.fetch_snapshot(utc())

    assert snap.status == "ok"
    assert snap.amounts() == {"wallet:BaseToken:ETH": pytest.approx(10_000),
                              "wallet:BaseToken:USDT": 10.0}
    assert [t.venue for t in snap.transfers] == ["okx"]
    assert snap.error.startswith("transfers in transit unknown: binance: VenueTimeoutError")
    await w.close()


async def test_a_failing_chain_read_raises_even_when_the_cex_sources_answer(
    chain: SandboxOps, desk: str, chain_mode: ModeConfig, sandbox: SandboxChain
):
    cex = FakeCexTransit("binance", chain, sandbox.users[4])
    env = {"BASIS_ETHEREUM_RPC_URL": f"http://127.0.0.1:{free_port()}",
           "BASIS_WALLET_ADDRESSES": desk}
    w = wallet(chain_mode, env, sources={"binance": cex})

    with pytest.raises(RpcUnreachableError):
        await w.fetch_snapshot(utc())
    await w.close()


async def test_the_factory_wallet_reads_only_the_cex_venues_the_mode_enables(
    chain: SandboxOps, desk: str, chain_mode: ModeConfig, sandbox_env: dict[str, str]
):
    chain.fund(desk, USDT=1)
    iface = ExecutionInterfaceFactory.create_position_interface("wallet", "live", chain_mode)

    snap = await iface.get_positions()

    assert iface.backend.transfer_venues() == []  # the chain mode enables no CEX
    assert snap.amounts()["wallet:BaseToken:USDT"] == 1.0
    assert snap.error is None
    await iface.close()
