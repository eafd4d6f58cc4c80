"""The public names of the chain modules are pinned: changing them is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

import factory.sandbox.chain as sandbox_chain


def test_the_sandbox_chain_package_exports_its_api():
    assert sorted(sandbox_chain.__all__) == sorted([
        "ANVIL_CHAIN_ID", "MULTICALL3_ADDRESS", "AaveDeployment", "AnvilProcess", "ChainClient",
        "CompiledContract", "EModeParams", "ReserveParams", "ReserveTokens", "RpcProxy",
        "SandboxChain", "SandboxOps", "SandboxToken", "SandboxTxError", "SolcError",
        "compile_sandbox_contracts", "deploy_sandbox", "free_port", "sandbox_environ",
        "to_base_units", "venue_settings_for",
    ])


@pytest.mark.parametrize("module", [
    "factory.interfaces.evm.abi", "factory.interfaces.evm.backend",
    "factory.interfaces.evm.pending", "factory.interfaces.evm.plans",
    "factory.interfaces.evm.rpc", "factory.interfaces.evm.onchain_live",
    "factory.interfaces.evm.transfer_live", "factory.sandbox.chain.aave",
    "factory.sandbox.chain.anvil", "factory.sandbox.chain.client",
    "factory.sandbox.chain.compile", "factory.sandbox.chain.deploy",
    "factory.sandbox.chain.ops", "factory.sandbox.chain.paths", "factory.sandbox.chain.proxy",
    "factory.sandbox.chain.settings",
])
def test_every_chain_module_declares_names_that_exist(module):
    mod = importlib.import_module(module)
    assert mod.__all__, module
    assert [n for n in mod.__all__ if not hasattr(mod, n)] == []
