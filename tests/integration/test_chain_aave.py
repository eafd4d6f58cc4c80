"""The live on-chain backend against the real AAVE v3 core and the LST contracts on anvil."""

from __future__ import annotations

import pytest

from factory.config import ModeConfig
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.positions import utc
from factory.sandbox.chain import SandboxChain, SandboxOps, sandbox_environ

MAX_UINT = 2**256 - 1
DAY = 86_400


def backend(mode: ModeConfig, venue: str, env: dict[str, str]) -> OnChainLiveBackend:
    return OnChainLiveBackend(mode.venue_config(venue), environ=env)


def open_loop(chain: SandboxOps, desk: str) -> None:
    """Supply 10 weETH, enter the ETH eMode, borrow 6 WETH."""
    chain.fund(desk, weETH=10)
    chain.aave_supply(desk, "weETH", 10)
    chain.aave_set_emode(desk, 1)
    chain.aave_borrow(desk, "WETH", 6)


async def test_emode_loop_reads_as_atoken_and_debt_with_the_pools_health_factor(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    open_loop(chain, desk)
    aave = backend(chain_mode, "aave_v3", sandbox_environ(sandbox, [desk]))

    snap = await aave.fetch_snapshot(utc())

    amounts = snap.amounts()
    assert set(amounts) == {"aave_v3:aToken:aweETH", "aave_v3:debtToken:debtWETH"}
    assert amounts["aave_v3:aToken:aweETH"] == pytest.approx(10, rel=1e-6)
    assert amounts["aave_v3:debtToken:debtWETH"] == pytest.approx(6, rel=1e-6)
    collateral, debt, available, threshold, ltv, hf = chain.aave_account_data(
        desk, block=snap.block_number
    )
    acct = snap.account
    assert acct.health_factor == pytest.approx(hf / 1e18, rel=1e-15)  # one rounding apart
    assert acct.health_factor == pytest.approx(31_500 * 0.95 / 18_000)
    assert acct.total_collateral == collateral / 1e8
    assert acct.total_debt == debt / 1e8
    assert acct.available_borrows == available / 1e8
    assert (acct.ltv, acct.liquidation_threshold) == (ltv / 1e4, threshold / 1e4) == (0.93, 0.95)
    await aave.close()


async def test_supply_and_debt_grow_with_time_and_the_snapshot_follows_the_block(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    open_loop(chain, desk)
    aave = backend(chain_mode, "aave_v3", sandbox_environ(sandbox, [desk]))
    before = await aave.fetch_snapshot(utc())

    chain.advance_time(30 * DAY)
    after = await aave.fetch_snapshot(utc())

    assert after.block_number > before.block_number
    assert (after.timestamp - before.timestamp).total_seconds() >= 30 * DAY
    for key in ("aave_v3:aToken:aweETH", "aave_v3:debtToken:debtWETH"):
        assert after.amounts()[key] > before.amounts()[key]
    assert after.account.health_factor == pytest.approx(chain.aave_account_data(
        desk, block=after.block_number
    )[5] / 1e18, rel=1e-15)
    await aave.close()


async def test_an_address_without_debt_has_no_health_factor_and_no_zero_positions(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    chain.fund(desk, USDT=5_000)
    chain.aave_supply(desk, "USDT", 5_000)
    aave = backend(chain_mode, "aave_v3", sandbox_environ(sandbox, [desk]))

    snap = await aave.fetch_snapshot(utc())

    assert snap.amounts() == {"aave_v3:aToken:aUSDT": pytest.approx(5_000)}
    assert snap.account.health_factor is None
    assert chain.aave_account_data(desk, block=snap.block_number)[5] == MAX_UINT
    assert snap.account.total_collateral == pytest.approx(5_000)
    await aave.close()


async def test_balances_are_summed_over_the_desks_addresses(
    chain: SandboxOps, sandbox: SandboxChain, chain_mode: ModeConfig
):
    first, second = sandbox.users[0], sandbox.users[1]
    chain.fund(first, weETH=1.5)
    chain.fund(second, weETH=2.25)
    chain.fund(first, wstETH=4)
    env = sandbox_environ(sandbox, [first, second])

    etherfi = await backend(chain_mode, "etherfi", env).fetch_snapshot(utc())
    lido = await backend(chain_mode, "lido", env).fetch_snapshot(utc())

    assert etherfi.amounts() == {"etherfi:LST:weETH": 3.75}
    assert lido.amounts() == {"lido:LST:wstETH": 4.0}


async def test_lst_rates_come_from_the_token_contracts(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    chain.fund(desk, weETH=2, wstETH=3)
    chain.set_lst_rate("weETH", 1.0712)
    chain.set_lst_rate("wstETH", 1.2034)
    env = sandbox_environ(sandbox, [desk])

    weeth = (await backend(chain_mode, "etherfi", env).fetch_snapshot(utc())).positions
    wsteth = (await backend(chain_mode, "lido", env).fetch_snapshot(utc())).positions

    assert (weeth["etherfi:LST:weETH"].amount, weeth["etherfi:LST:weETH"].rate) == (2.0, 1.0712)
    assert (wsteth["lido:LST:wstETH"].amount, wsteth["lido:LST:wstETH"].rate) == (3.0, 1.2034)


async def test_the_factory_builds_live_interfaces_that_read_the_sandbox(
    chain: SandboxOps, desk: str, chain_mode: ModeConfig, sandbox_env: dict[str, str]
):
    open_loop(chain, desk)
    iface = ExecutionInterfaceFactory.create_position_interface("aave", "live", chain_mode)

    snap = await iface.get_positions()

    assert snap.execution_mode == "live" and snap.status == "ok"
    assert snap.amounts()["aave_v3:debtToken:debtWETH"] == pytest.approx(6, rel=1e-6)
    assert await iface.get_position_history(snap.timestamp, snap.timestamp) == [snap]
    await iface.close()
