"""Act on the sandbox chain as the desk, a counterparty or the market would.

`SandboxOps` wraps one `SandboxChain`: fund a wallet (mint tokens, set ETH), supply, borrow,
repay and withdraw on AAVE as a user, choose an eMode, send ERC-20 or ETH transfers (mined or
left pending), move LST rates and prices, advance time, and snapshot/revert the chain.
Amounts are native units (``10`` weETH, not wei); they convert exactly through `Decimal`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from factory.sandbox.chain.aave import aave_abi
from factory.sandbox.chain.client import ChainClient
from factory.sandbox.chain.compile import compile_sandbox_contracts
from factory.sandbox.chain.model import SandboxChain

__all__ = ["MAX_UINT256", "SandboxOps", "to_base_units"]

MAX_UINT256 = 2**256 - 1
VARIABLE_RATE = 2


def to_base_units(amount: float | str | Decimal, decimals: int) -> int:
    """Convert a native amount to integer base units exactly (``1.5`` USDT -> ``1500000``)."""
    return int(Decimal(str(amount)) * (Decimal(10) ** decimals))


class SandboxOps:
    """Actions on a deployed sandbox chain.

    Args:
        sandbox: what `deploy_sandbox` returned.
        client: an existing client to reuse (default: a new one to ``sandbox.rpc_url``).
    """

    def __init__(self, sandbox: SandboxChain, client: ChainClient | None = None):
        self.sandbox = sandbox
        self.client = client or ChainClient(sandbox.rpc_url)
        self._compiled = compile_sandbox_contracts()

    def _token_abi(self, symbol: str) -> list[dict[str, Any]]:
        return self._compiled[self.sandbox.token(symbol).contract].abi

    def _units(self, symbol: str, amount: float | str | Decimal) -> int:
        return to_base_units(amount, self.sandbox.token(symbol).decimals)

    @property
    def _pool(self) -> str:
        if self.sandbox.aave is None:
            raise RuntimeError("this sandbox has no AAVE market")
        return self.sandbox.aave.pool

    # -- balances ----------------------------------------------------------------------------

    def fund(self, address: str, **amounts: float) -> None:
        """Give ``address`` tokens (minted by the owner) and/or ETH: ``fund(a, weETH=10, ETH=1)``.

        ``ETH`` sets the native balance to that amount (``anvil_setBalance``).
        """
        for symbol, amount in amounts.items():
            if symbol == "ETH":
                self.client.rpc("anvil_setBalance", [address, hex(to_base_units(amount, 18))])
                continue
            token = self.sandbox.token(symbol)
            self.client.send(self.sandbox.deployer, token.address, self._token_abi(symbol),
                             "mint", address, self._units(symbol, amount))

    def balance_of(self, address: str, symbol: str, block: str | int = "latest") -> int:
        """Return the raw ERC-20 balance (base units) of ``address``."""
        token = self.sandbox.token(symbol)
        return self.client.call(token.address, self._token_abi(symbol), "balanceOf", address,
                                block=block)

    def eth_balance(self, address: str, block: str | int = "latest") -> int:
        """Return the native balance in wei."""
        tag = hex(block) if isinstance(block, int) else block
        return int(self.client.rpc("eth_getBalance", [address, tag]), 16)

    # -- transfers ---------------------------------------------------------------------------

    def transfer(self, sender: str, symbol: str, to: str, amount: float, *, wait: bool = True):
        """Send an ERC-20 ``transfer(to, amount)``; ``wait=False`` leaves it pending (hash)."""
        token = self.sandbox.token(symbol)
        return self.client.send(sender, token.address, self._token_abi(symbol), "transfer",
                                to, self._units(symbol, amount), wait=wait)

    def send_eth(self, sender: str, to: str, amount: float, *, wait: bool = True):
        """Send native ETH; ``wait=False`` leaves it pending (hash)."""
        return self.client.transact(sender, to, value=to_base_units(amount, 18), wait=wait,
                                    step="send ETH")

    # -- AAVE ---------------------------------------------------------------------------------

    def aave_supply(self, user: str, symbol: str, amount: float) -> None:
        """Approve the Pool and supply ``amount`` of ``symbol`` for ``user``."""
        token = self.sandbox.token(symbol)
        units = self._units(symbol, amount)
        self.client.send(user, token.address, self._token_abi(symbol), "approve", self._pool, units)
        self.client.send(user, self._pool, aave_abi("Pool"), "supply", token.address, units,
                         user, 0)

    def aave_borrow(self, user: str, symbol: str, amount: float) -> None:
        """Borrow ``amount`` of ``symbol`` at the variable rate."""
        token = self.sandbox.token(symbol)
        self.client.send(user, self._pool, aave_abi("Pool"), "borrow", token.address,
                         self._units(symbol, amount), VARIABLE_RATE, 0, user)

    def aave_repay(self, user: str, symbol: str, amount: float | None = None) -> None:
        """Repay ``amount`` (all the debt when None) of ``symbol``'s variable debt."""
        token = self.sandbox.token(symbol)
        units = MAX_UINT256 if amount is None else self._units(symbol, amount)
        self.client.send(user, token.address, self._token_abi(symbol), "approve", self._pool,
                         MAX_UINT256)
        self.client.send(user, self._pool, aave_abi("Pool"), "repay", token.address, units,
                         VARIABLE_RATE, user)

    def aave_withdraw(self, user: str, symbol: str, amount: float | None = None) -> None:
        """Withdraw ``amount`` (everything when None) of ``symbol`` to ``user``."""
        token = self.sandbox.token(symbol)
        units = MAX_UINT256 if amount is None else self._units(symbol, amount)
        self.client.send(user, self._pool, aave_abi("Pool"), "withdraw", token.address, units, user)

    def aave_set_emode(self, user: str, category_id: int = 1) -> None:
        """Put ``user`` in an eMode category (0 leaves eMode)."""
        self.client.send(user, self._pool, aave_abi("Pool"), "setUserEMode", category_id)

    def aave_account_data(self, user: str, block: str | int = "latest") -> tuple[int, ...]:
        """Return the Pool's raw ``getUserAccountData(user)`` (base 1e8, HF 1e18, bps)."""
        return tuple(self.client.call(self._pool, aave_abi("Pool"), "getUserAccountData", user,
                                      block=block))

    # -- market -------------------------------------------------------------------------------

    def set_lst_rate(self, symbol: str, rate: float) -> None:
        """Set weETH.getRate() or wstETH.stEthPerToken() (``rate`` in ETH, e.g. 1.07)."""
        setter = {"SandboxWeETH": "setRate", "SandboxWstETH": "setStEthPerToken"}
        token = self.sandbox.token(symbol)
        if token.contract not in setter:
            raise KeyError(f"{symbol} is not a liquid staking token of the sandbox")
        self.client.send(self.sandbox.deployer, token.address, self._token_abi(symbol),
                         setter[token.contract], to_base_units(rate, 18))

    def set_price(self, symbol: str, usd: float) -> None:
        """Set the USD price AaveOracle reads for a reserve (8 decimals)."""
        feed = self.sandbox.price_feeds[symbol]
        self.client.send(self.sandbox.deployer, feed, self._compiled["MockAggregator"].abi,
                         "setAnswer", to_base_units(usd, 8))

    # -- time and blocks ----------------------------------------------------------------------

    def advance_time(self, seconds: float, blocks: int = 1) -> int:
        """Move the chain clock forward (``evm_increaseTime``), mine; return the block number."""
        self.client.rpc("evm_increaseTime", [int(seconds)])
        self.mine(blocks)
        return self.client.block_number()

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` blocks now (pending transactions included)."""
        for _ in range(blocks):
            self.client.rpc("evm_mine")

    def set_automine(self, enabled: bool) -> None:
        """Switch automatic mining on or off (off: sent transactions stay pending)."""
        self.client.rpc("evm_setAutomine", [enabled])

    def drop_pending(self) -> None:
        """Remove every not-yet-mined transaction from the node's pool."""
        self.client.rpc("anvil_dropAllTransactions")

    def snapshot(self) -> str:
        """Take an ``evm_snapshot``; return its id for `revert`."""
        return self.client.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        """Return the chain to a snapshot (the id is consumed, as anvil does)."""
        if not self.client.rpc("evm_revert", [snapshot_id]):
            raise RuntimeError(f"evm_revert({snapshot_id}) failed")
