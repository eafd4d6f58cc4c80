"""Deploy the whole sandbox chain: tokens, LST rate contracts, price feeds, Multicall3, AAVE v3.

`deploy_sandbox` takes a node URL (or a sync `Web3`) with anvil's unlocked dev accounts and
returns a `SandboxChain` with every address. It also seeds the AAVE market from a liquidity
provider account (supply and borrow in every reserve), so that each reserve has utilisation and
both supply and debt balances grow with time.
"""

from __future__ import annotations

import time
from dataclasses import replace

from web3 import Web3

from factory.sandbox.chain.aave import EModeParams, ReserveParams, deploy_aave
from factory.sandbox.chain.client import ChainClient
from factory.sandbox.chain.compile import compile_sandbox_contracts
from factory.sandbox.chain.model import SandboxChain, SandboxToken
from factory.sandbox.chain.ops import SandboxOps

__all__ = [
    "DEFAULT_EMODES",
    "DEFAULT_PRICES_USD",
    "DEFAULT_RATES",
    "DEFAULT_RESERVES",
    "MULTICALL3_ADDRESS",
    "SandboxChain",
    "SandboxToken",
    "deploy_sandbox",
]

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"

# symbol -> (contract name, decimals).
TOKEN_SPECS: dict[str, tuple[str, int]] = {
    "USDT": ("SandboxERC20", 6),
    "WETH": ("SandboxWETH", 18),
    "weETH": ("SandboxWeETH", 18),
    "wstETH": ("SandboxWstETH", 18),
}
DEFAULT_RATES = {"weETH": 1.05, "wstETH": 1.18}
DEFAULT_PRICES_USD = {"USDT": 1.0, "WETH": 3000.0, "weETH": 3150.0}
ETH_EMODE = EModeParams(1, 9300, 9500, 10100, "ETH correlated")
DEFAULT_EMODES = [ETH_EMODE]
DEFAULT_RESERVES = {
    "USDT": ReserveParams(7500, 7800, 10450, optimal_usage=0.92, slope1=0.05, slope2=0.75),
    "WETH": ReserveParams(8050, 8300, 10500, optimal_usage=0.90, base_rate=0.01, slope1=0.03,
                          slope2=0.80, emode_category=1),
    "weETH": ReserveParams(7250, 7500, 10750, optimal_usage=0.45, base_rate=0.01, slope1=0.07,
                           slope2=3.0, emode_category=1),
}
# Liquidity provider seed: supplied and borrowed amounts per reserve (native units).
SEED_SUPPLY = {"USDT": 5_000_000, "WETH": 2_000, "weETH": 1_000}
SEED_BORROW = {"USDT": 2_000_000, "WETH": 500, "weETH": 200}


def deploy_sandbox(
    rpc: str | Web3,
    *,
    reserves: dict[str, ReserveParams] | None = None,
    emodes: list[EModeParams] | None = None,
    prices_usd: dict[str, float] | None = None,
    rates: dict[str, float] | None = None,
    seed_liquidity: bool = True,
) -> SandboxChain:
    """Deploy the sandbox contracts and the AAVE v3 market on a fresh anvil node.

    Args:
        rpc: node URL or sync `Web3`; its first two dev accounts deploy and seed.
        reserves: AAVE reserve parameters (default `DEFAULT_RESERVES`).
        emodes: eMode categories (default: ETH correlated, id 1, for WETH and weETH).
        prices_usd: initial feed answers per reserve symbol.
        rates: initial LST rates (weETH.getRate, wstETH.stEthPerToken).
        seed_liquidity: supply and borrow from the liquidity provider so reserves have
            utilisation (interest accrues on both sides).

    Raises:
        SandboxTxError: a deployment step failed (named in the message).
        SolcError: the sandbox sources did not compile.
    """
    started = time.monotonic()
    client = ChainClient(rpc)
    reserves = dict(DEFAULT_RESERVES if reserves is None else reserves)
    emodes = list(DEFAULT_EMODES if emodes is None else emodes)
    prices = {**DEFAULT_PRICES_USD, **(prices_usd or {})}
    rates = {**DEFAULT_RATES, **(rates or {})}
    compiled = compile_sandbox_contracts()
    accounts = client.accounts()
    deployer, lp = accounts[0], accounts[1]
    chain_id = int(client.rpc("eth_chainId"), 16)

    client.rpc("anvil_setCode", [MULTICALL3_ADDRESS, "0x" + compiled["Multicall3"].runtime])

    tokens: dict[str, SandboxToken] = {}
    for sym, (contract, decimals) in TOKEN_SPECS.items():
        c = compiled[contract]
        if contract == "SandboxERC20":
            args: tuple = (f"Sandbox {sym}", sym, decimals)
        elif sym in rates:
            args = (_wad(rates[sym]),)
        else:
            args = ()
        address = client.deploy(deployer, c.abi, c.bytecode, *args, name=sym)
        tokens[sym] = SandboxToken(sym, address, decimals, contract)

    feed = compiled["MockAggregator"]
    feeds = {
        sym: client.deploy(deployer, feed.abi, feed.bytecode, 8, f"{sym} / USD",
                           round(prices[sym] * 10**8), name=f"{sym} feed")
        for sym in reserves
    }
    aave = deploy_aave(
        client, deployer, {s: (t.address, t.decimals) for s, t in tokens.items()},
        feeds, reserves, emodes, treasury=accounts[-1],
    )
    sandbox = SandboxChain(
        rpc_url=client.url, chain_id=chain_id, deployer=deployer, liquidity_provider=lp,
        users=tuple(accounts[2:-1]), multicall3=MULTICALL3_ADDRESS, tokens=tokens,
        price_feeds=feeds, aave=aave,
    )
    if seed_liquidity:
        ops = SandboxOps(sandbox, client=client)
        for sym, amount in SEED_SUPPLY.items():
            if sym in reserves:
                ops.fund(lp, **{sym: amount})
                ops.aave_supply(lp, sym, amount)
        for sym, amount in SEED_BORROW.items():
            if sym in reserves:
                ops.aave_borrow(lp, sym, amount)
    return replace(sandbox, deploy_s=time.monotonic() - started)


def _wad(x: float) -> int:
    return round(x * 10**18)
