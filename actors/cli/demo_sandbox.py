"""The demo's sandbox: exchange emulator, anvil with AAVE v3, and a desk book on both.

The book: a BTC basis trade (2 BTC spot on binance, 2 BTC of perps short over the three
exchanges) and a staking hedge (10 ETH of perps short against weETH held, wstETH held, and a
weETH/WETH loop on AAVE in eMode), sized on chain so the net ETH exposure is ~0. One USDT
withdrawal from binance is still in transit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.config import config_dir
from factory.sandbox.env import scoped_environ as environ

__all__ = ["DemoSandbox", "environ", "start_demo_sandbox"]

#: Short ETH perps in the sandbox scenario (configs/sandbox.yaml): 4 + 3 + 3.
ETH_HEDGE = 10.0
WALLET_WEETH = 3.0
WALLET_WSTETH = 2.0
AAVE_WEETH = 12.0
NATIVE_ETH_KEPT = 1.0


@dataclass
class DemoSandbox:
    """What the demo started, and the environment live venue actors need."""

    emulator: Any
    anvil: Any
    chain: Any
    ops: Any
    desk: str
    environ: dict[str, str] = field(default_factory=dict)
    venue_settings: dict = field(default_factory=dict)
    debt_weth: float = 0.0


def _book_on_chain(ops, chain, desk: str) -> float:
    """Fund the desk's on-chain legs; return the WETH borrowed (sized for net ETH ~0)."""
    from factory.sandbox.chain.deploy import DEFAULT_RATES

    sink = chain.users[-1]
    eth = ops.eth_balance(desk) / 1e18
    ops.send_eth(desk, sink, eth - NATIVE_ETH_KEPT)  # a desk wallet holds gas money only
    ops.fund(desk, weETH=WALLET_WEETH + AAVE_WEETH, wstETH=WALLET_WSTETH, USDT=25_000)
    ops.aave_set_emode(desk, 1)
    ops.aave_supply(desk, "weETH", AAVE_WEETH)
    native = ops.eth_balance(desk) / 1e18
    long_eth = (WALLET_WEETH + AAVE_WEETH) * DEFAULT_RATES["weETH"] + \
        WALLET_WSTETH * DEFAULT_RATES["wstETH"] + native
    debt = round(long_eth - ETH_HEDGE, 6)
    ops.aave_borrow(desk, "WETH", debt)
    ops.transfer(desk, "WETH", sink, debt)  # the borrowed WETH was swapped into the loop
    return debt


@contextlib.contextmanager
def start_demo_sandbox(scenario: str | Path | None = None) -> Iterator[DemoSandbox]:
    """Start the emulator and anvil, deploy, fund the book; stop everything on exit."""
    from factory.sandbox.chain import (
        AnvilProcess,
        SandboxOps,
        deploy_sandbox,
        sandbox_environ,
        venue_settings_for,
    )
    from factory.sandbox.exchange import serve_in_thread

    scenario = scenario or Path(config_dir()) / "sandbox.yaml"
    with serve_in_thread(scenario=scenario) as emu, AnvilProcess() as node:
        chain = deploy_sandbox(node.url)
        ops = SandboxOps(chain)
        desk = chain.users[0]
        debt = _book_on_chain(ops, chain, desk)
        env: dict[str, str] = {}
        for venue in emu.venues():
            env.update(emu.env(venue))
        env.update(sandbox_environ(chain, [desk]))
        yield DemoSandbox(
            emulator=emu, anvil=node, chain=chain, ops=ops, desk=desk, environ=env,
            venue_settings=venue_settings_for(chain), debt_weth=debt,
        )
