"""What the sandbox chain holds once deployed: its tokens, accounts and contract addresses.

Plain data (picklable), produced by `factory.sandbox.chain.deploy.deploy_sandbox` and read by
`factory.sandbox.chain.ops` and the venue settings of `factory.sandbox.chain.settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.sandbox.chain.aave import AaveDeployment

__all__ = ["SandboxChain", "SandboxToken"]


@dataclass(frozen=True)
class SandboxToken:
    """An ERC-20 of the sandbox."""

    symbol: str
    address: str
    decimals: int
    contract: str


@dataclass(frozen=True)
class SandboxChain:
    """Everything deployed on the sandbox chain (plain data, picklable).

    Attributes:
        rpc_url: the node's HTTP URL.
        chain_id: the node's chain id.
        deployer: owner of tokens, feeds and the AAVE market (dev account 0).
        liquidity_provider: the account that seeded the AAVE reserves (dev account 1).
        users: the remaining dev accounts, free for tests and demos (nothing deployed from them).
        multicall3: Multicall3 at its canonical address.
        tokens: the ERC-20s by symbol.
        price_feeds: mock Chainlink aggregators by reserve symbol (USD, 8 decimals).
        aave: the AAVE v3 market.
        deploy_s: how long the deployment took.
    """

    rpc_url: str
    chain_id: int
    deployer: str
    liquidity_provider: str
    users: tuple[str, ...]
    multicall3: str
    tokens: dict[str, SandboxToken] = field(default_factory=dict)
    price_feeds: dict[str, str] = field(default_factory=dict)
    aave: AaveDeployment | None = None
    deploy_s: float = 0.0

    def token(self, symbol: str) -> SandboxToken:
        """Return a token by symbol (KeyError naming the known ones)."""
        try:
            return self.tokens[symbol]
        except KeyError:
            raise KeyError(f"no sandbox token {symbol!r} (have {sorted(self.tokens)})") from None
