"""Sandbox chain fixtures: one anvil + one deployment per session, a clean chain per test.

Imported by tests/integration/conftest.py. ``chain`` takes an ``evm_snapshot`` before the test
and reverts it after (automine back on), so tests see the freshly deployed market and never
each other's state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factory.config import ModeConfig, resolve_config
from factory.sandbox.chain import (
    AnvilProcess,
    RpcProxy,
    SandboxChain,
    SandboxOps,
    deploy_sandbox,
    sandbox_environ,
    venue_settings_for,
)

__all__ = ["anvil_node", "chain", "chain_mode", "desk", "rpc_proxy", "sandbox", "sandbox_env"]

CHAIN_VENUES = ["aave_v3", "etherfi", "lido", "wallet"]


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilProcess]:
    """One anvil for the session (automine on)."""
    with AnvilProcess() as node:
        yield node


@pytest.fixture(scope="session")
def sandbox(anvil_node: AnvilProcess) -> SandboxChain:
    """Tokens, feeds, Multicall3 and the real AAVE v3, deployed once per session."""
    return deploy_sandbox(anvil_node.url)


@pytest.fixture
def chain(sandbox: SandboxChain) -> Iterator[SandboxOps]:
    """Actions on the sandbox; afterwards pending transactions are dropped, automine is back
    on and the chain is reverted to the deployment."""
    ops = SandboxOps(sandbox)
    snapshot_id = ops.snapshot()
    try:
        yield ops
    finally:
        ops.drop_pending()
        ops.set_automine(True)
        ops.revert(snapshot_id)


@pytest.fixture
def desk(sandbox: SandboxChain) -> str:
    """The desk's address (a dev account nothing was deployed from)."""
    return sandbox.users[0]


@pytest.fixture
def rpc_proxy(anvil_node: AnvilProcess) -> Iterator[RpcProxy]:
    """A counting, fault-injecting JSON-RPC proxy in front of the session's anvil."""
    with RpcProxy(anvil_node.url) as proxy:
        yield proxy


@pytest.fixture
def chain_mode(sandbox: SandboxChain) -> ModeConfig:
    """A mode with the chain venues pointed at the sandbox (no CEX venues)."""
    return resolve_config({"venues": CHAIN_VENUES, "venue_settings": venue_settings_for(sandbox)})


@pytest.fixture
def sandbox_env(sandbox: SandboxChain, desk: str, monkeypatch) -> dict[str, str]:
    """Set BASIS_ETHEREUM_RPC_URL and BASIS_WALLET_ADDRESSES for the sandbox and the desk."""
    env = sandbox_environ(sandbox, [desk])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
