"""A small synchronous JSON-RPC client for driving the sandbox chain (deploys, test actions).

It sends transactions from anvil's unlocked dev accounts with ``eth_sendTransaction`` (anvil
fills price and nonce; the gas limit is the node's estimate plus a margin), so no keys are
handled here. This is sandbox tooling: the monitor's
live backends use `factory.interfaces.evm.rpc` (AsyncWeb3) instead.
"""

from __future__ import annotations

import time
from typing import Any, cast

from eth_abi import decode, encode
from eth_typing import ABIConstructor, ABIFunction
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types
from web3 import Web3
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint

__all__ = ["ChainClient", "SandboxTxError", "function_abi"]

GAS_CAP = 14_000_000  # two capped transactions still fit one 30M-gas block


class SandboxTxError(RuntimeError):
    """A sandbox transaction or call failed (the message names the step)."""


def function_abi(abi: list[dict[str, Any]], name: str) -> ABIFunction:
    """Return the ABI entry of function ``name`` (the only one of that name)."""
    found = [e for e in abi if e.get("type") == "function" and e.get("name") == name]
    if len(found) != 1:
        raise KeyError(f"{len(found)} functions named {name!r} in the ABI")
    return cast(ABIFunction, found[0])


def _selector(entry: ABIFunction) -> bytes:
    signature = f"{entry['name']}({','.join(get_abi_input_types(entry))})"
    return keccak(text=signature)[:4]


class ChainClient:
    """Synchronous JSON-RPC to one node.

    Args:
        rpc: the node's HTTP URL or a connected sync `Web3`.
        timeout_s: HTTP timeout per request.
    """

    def __init__(self, rpc: str | Web3, timeout_s: float = 30.0):
        if isinstance(rpc, Web3):
            self.w3 = rpc
            self.url = str(getattr(rpc.provider, "endpoint_uri", ""))
        else:
            self.url = rpc
            self.w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": timeout_s}))

    def rpc(self, method: str, params: list | None = None) -> Any:
        """Send one JSON-RPC request and return its result.

        Raises:
            SandboxTxError: the node answered an error.
        """
        resp = self.w3.provider.make_request(RPCEndpoint(method), params or [])
        if resp.get("error"):
            raise SandboxTxError(f"{method}: {resp['error']}")
        return resp.get("result")

    # -- reads ---------------------------------------------------------------------------------

    def call(self, to: str, abi: list[dict], fn: str, *args: Any, block: str | int = "latest"):
        """Call a view function and return its decoded outputs (one value, or a tuple)."""
        entry = function_abi(abi, fn)
        data = _selector(entry) + encode(get_abi_input_types(entry), list(args))
        tag = hex(block) if isinstance(block, int) else block
        raw = self.rpc("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag])
        out = decode(get_abi_output_types(entry), bytes.fromhex(raw[2:]))
        return out[0] if len(out) == 1 else out

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def accounts(self) -> list[str]:
        return [to_checksum_address(a) for a in self.rpc("eth_accounts")]

    # -- writes --------------------------------------------------------------------------------

    def transact(
        self,
        sender: str,
        to: str | None,
        data: bytes = b"",
        *,
        value: int = 0,
        wait: bool = True,
        step: str = "",
    ) -> dict[str, Any] | str:
        """Send a transaction from an unlocked account.

        Args:
            wait: return the mined receipt (mining a block when the node does not automine);
                False returns the hash of the still-pending transaction.
            step: a name for error messages.

        Raises:
            SandboxTxError: the node rejected the transaction or it reverted.
        """
        tx: dict[str, Any] = {"from": sender, "data": "0x" + data.hex(), "value": hex(value)}
        if to is not None:
            tx["to"] = to
        try:
            # Our own gas limit with a margin: the node's estimate is taken at the pending
            # block's timestamp, and AAVE spends more gas when the transaction lands in a later
            # second (index updates), which would run an exact estimate out of gas.
            estimate = int(self.rpc("eth_estimateGas", [tx]), 16)
            tx["gas"] = hex(min(estimate * 3 // 2 + 50_000, GAS_CAP))
            tx_hash = self.rpc("eth_sendTransaction", [tx])
        except SandboxTxError as exc:
            raise SandboxTxError(f"{step or 'transaction'} failed: {exc}") from None
        if not wait:
            return tx_hash
        receipt = self._receipt(tx_hash)
        if receipt is None or int(receipt["status"], 16) != 1:
            raise SandboxTxError(f"{step or 'transaction'} reverted ({tx_hash})")
        return receipt

    def _receipt(self, tx_hash: str, timeout_s: float = 10.0) -> dict[str, Any] | None:
        """Return the receipt: anvil may answer eth_sendTransaction just before it automines;
        with automine off, mine a block."""
        receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            return receipt
        if not self.rpc("anvil_getAutomine"):
            self.rpc("evm_mine")
            return self.rpc("eth_getTransactionReceipt", [tx_hash])
        deadline = time.monotonic() + timeout_s
        while receipt is None and time.monotonic() < deadline:
            time.sleep(0.002)
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
        return receipt

    def send(
        self, sender: str, to: str, abi: list[dict], fn: str, *args: Any,
        value: int = 0, wait: bool = True,
    ) -> dict[str, Any] | str:
        """Call a state-changing function from ``sender``; see `transact`."""
        entry = function_abi(abi, fn)
        data = _selector(entry) + encode(get_abi_input_types(entry), list(args))
        return self.transact(sender, to, data, value=value, wait=wait, step=fn)

    def deploy(
        self, sender: str, abi: list[dict], bytecode: str, *args: Any, name: str = "contract"
    ) -> str:
        """Deploy a contract (creation bytecode, libraries linked); return its address."""
        ctor = next((e for e in abi if e.get("type") == "constructor"), None)
        data = bytes.fromhex(bytecode.removeprefix("0x"))
        if ctor is not None:
            data += encode(get_abi_input_types(cast(ABIConstructor, ctor)), list(args))
        receipt = self.transact(sender, None, data, step=f"deploy {name}")
        if not isinstance(receipt, dict):  # transact waits, so it returns the receipt
            raise SandboxTxError(f"deploy {name}: no receipt")
        return to_checksum_address(receipt["contractAddress"])
