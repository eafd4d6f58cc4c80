"""The sandbox chain: anvil, the sandbox's own contracts and the real AAVE v3 core.

Typical use (tests, the demo)::

    with AnvilProcess() as node:
        sandbox = deploy_sandbox(node.url)           # ~0.2 s with the solc cache warm
        ops = SandboxOps(sandbox)
        desk = sandbox.users[0]
        ops.fund(desk, weETH=10)
        ops.aave_supply(desk, "weETH", 10)
        ops.aave_set_emode(desk, 1)
        ops.aave_borrow(desk, "WETH", 6)
        settings = venue_settings_for(sandbox)        # mode config ``venue_settings``
        environ = sandbox_environ(sandbox, [desk])    # RPC URL and desk addresses
"""

from factory.sandbox.chain.aave import AaveDeployment, EModeParams, ReserveParams, ReserveTokens
from factory.sandbox.chain.anvil import ANVIL_CHAIN_ID, AnvilProcess, free_port
from factory.sandbox.chain.client import ChainClient, SandboxTxError
from factory.sandbox.chain.compile import CompiledContract, SolcError, compile_sandbox_contracts
from factory.sandbox.chain.deploy import (
    MULTICALL3_ADDRESS,
    SandboxChain,
    SandboxToken,
    deploy_sandbox,
)
from factory.sandbox.chain.ops import SandboxOps, to_base_units
from factory.sandbox.chain.proxy import RpcProxy
from factory.sandbox.chain.settings import sandbox_environ, venue_settings_for

__all__ = [
    "ANVIL_CHAIN_ID",
    "MULTICALL3_ADDRESS",
    "AaveDeployment",
    "AnvilProcess",
    "ChainClient",
    "CompiledContract",
    "EModeParams",
    "ReserveParams",
    "ReserveTokens",
    "RpcProxy",
    "SandboxChain",
    "SandboxOps",
    "SandboxToken",
    "SandboxTxError",
    "SolcError",
    "compile_sandbox_contracts",
    "deploy_sandbox",
    "free_port",
    "sandbox_environ",
    "to_base_units",
    "venue_settings_for",
]
