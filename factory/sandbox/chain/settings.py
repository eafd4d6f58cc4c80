"""Point the shipped chain venue configs at a deployed sandbox.

`venue_settings_for` returns partial ``venue_settings`` for a mode config: they are merged over
configs/venues/{aave_v3,etherfi,lido,wallet}.yaml, replacing the chain id and every contract and
token address (the schema is unchanged; credentials keep their environment variable names).
"""

from __future__ import annotations

from typing import Any

from factory.sandbox.chain.deploy import SandboxChain

__all__ = ["sandbox_environ", "venue_settings_for"]


def _tokens(sandbox: SandboxChain, symbols: list[str]) -> dict[str, dict[str, Any]]:
    return {
        s: {"address": sandbox.token(s).address, "decimals": sandbox.token(s).decimals}
        for s in symbols
    }


def venue_settings_for(sandbox: SandboxChain) -> dict[str, dict[str, Any]]:
    """Return ``{venue: partial settings}`` for aave_v3, etherfi, lido and wallet.

    Example:
        >>> cfg = resolve_config({"venues": ["aave_v3"],  # doctest: +SKIP
        ...                       "venue_settings": venue_settings_for(sandbox)})
    """
    common = {"chain": "anvil", "chain_id": sandbox.chain_id}
    multicall = {"multicall3": sandbox.multicall3}
    out: dict[str, dict[str, Any]] = {
        "etherfi": {**common, "contracts": dict(multicall), "tokens": _tokens(sandbox, ["weETH"])},
        "lido": {**common, "contracts": dict(multicall), "tokens": _tokens(sandbox, ["wstETH"])},
        "wallet": {
            **common,
            "contracts": dict(multicall),
            "tokens": _tokens(sandbox, ["USDT", "WETH", "weETH", "wstETH"]),
        },
    }
    if sandbox.aave is not None:
        aave = sandbox.aave
        out["aave_v3"] = {
            **common,
            "contracts": {
                **multicall,
                "pool_addresses_provider": aave.pool_addresses_provider,
                "pool": aave.pool,
                "oracle": aave.oracle,
            },
            "tokens": _tokens(sandbox, list(aave.reserves)),
            "reserves": list(aave.reserves),
        }
    return out


def sandbox_environ(sandbox: SandboxChain, addresses: list[str]) -> dict[str, str]:
    """Return the environment the chain venues read: RPC URL and the desk's addresses."""
    return {
        "BASIS_ETHEREUM_RPC_URL": sandbox.rpc_url,
        "BASIS_WALLET_ADDRESSES": ",".join(addresses),
    }
