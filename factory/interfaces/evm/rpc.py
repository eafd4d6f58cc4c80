"""The chain adapter boundary: AsyncWeb3 over HTTP, with every failure translated once to a type.

HTTP goes through `factory.interfaces.evm.transport.RpcTransport` (capped reads, transport
failures typed where they happen). Translation (see `factory.errors` for the tree)::

    connection refused/reset, DNS, other aiohttp errors  -> RpcUnreachableError   (retryable)
    no answer within timeout_s                           -> VenueTimeoutError     (retryable)
    HTTP 429 / JSON-RPC -32005                           -> RateLimitedError      (retryable)
    HTTP 5xx, other JSON-RPC errors                      -> VenueUnavailableError (retryable)
    answer larger than max_response_bytes                -> ResponseTooLargeError (retryable)
    HTTP 401/403                                         -> AuthenticationError
    other HTTP 4xx, JSON-RPC -32601/-32602               -> BadRequestError
    eth_call reverted, or one aggregate3 read failed     -> CallRevertedError (names the read)
    eth_chainId differs from the config (every snapshot) -> WrongChainError
    no code at a configured contract                     -> ContractMissingError
    answer that does not decode                          -> BadResponseError

Messages carry the venue, the RPC method and the node's own error code or HTTP status, plus at
most a short excerpt of the node's text scrubbed of the RPC URL's secrets; never the RPC URL
(hosted RPC URLs embed an API key or user:password). The library exception a typed error replaces
stays out of the chain (transport errors), or stays as ``__context__`` with its text scrubbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from eth_typing import HexStr
from eth_utils import to_checksum_address
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, RequestTimedOut, Web3Exception, Web3RPCError
from web3.types import BlockIdentifier

from factory.errors import (
    EXCERPT_CHARS,
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    CallRevertedError,
    ContractMissingError,
    RateLimitedError,
    RpcUnreachableError,
    Scrubber,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
    WrongChainError,
)
from factory.interfaces.evm.abi import (
    Read,
    ReadFailure,
    decode_aggregate3,
    decode_read,
    encode_aggregate3,
)
from factory.interfaces.evm.answers import (
    batch_results,
    pool_transactions,
    quantity,
    rpc_result,
    unsigned,
)
from factory.interfaces.evm.transport import RpcTransport

__all__ = ["BlockReads", "EvmRpc", "decode_multicall", "translate_error"]

_METHOD_NOT_FOUND = (-32600, -32601, -32602)
POOL_METHODS = ("txpool_contentFrom", "txpool_content", "eth_getBlockByNumber")
_RATE_LIMITED = (-32005,)


def _rpc_code(exc: Web3RPCError) -> int | None:
    resp = exc.rpc_response or {}
    err = resp.get("error") if isinstance(resp, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    return code if isinstance(code, int) else None


def translate_error(
    venue: str, method: str, exc: BaseException, scrub: Scrubber | None = None
) -> VenueError | None:
    """Return the typed error for a failure of ``method``, or None for a foreign exception.

    Text taken from the node (a revert reason, an RPC error message) passes through ``scrub``
    and is cut to `EXCERPT_CHARS`.
    """
    if isinstance(exc, VenueError):
        return exc
    scrub = scrub or Scrubber()

    def said(text: object) -> str:
        return scrub.excerpt(str(text), EXCERPT_CHARS)

    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return VenueTimeoutError(venue, f"{method}: no answer in time")
    if isinstance(exc, aiohttp.ClientResponseError):
        status = exc.status
        if status == 429:
            return RateLimitedError(venue, f"{method}: rate limited", code=status)
        if status >= 500:
            return VenueUnavailableError(venue, f"{method}: node unavailable", code=status)
        if status in (401, 403):
            return AuthenticationError(venue, f"{method}: RPC refused the credentials", code=status)
        return BadRequestError(venue, f"{method}: rejected", code=status)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError)):
        return RpcUnreachableError(venue, f"{method}: RPC node unreachable ({type(exc).__name__})")
    if isinstance(exc, ContractLogicError):
        return CallRevertedError(venue, f"{method}: reverted: {said(exc.message or exc)}")
    if isinstance(exc, RequestTimedOut):
        return VenueTimeoutError(venue, f"{method}: the node timed out", code=_rpc_code(exc))
    if isinstance(exc, Web3RPCError):
        code = _rpc_code(exc)
        text = f"{method}: {said(exc.message)}"
        if code in _METHOD_NOT_FOUND:
            return BadRequestError(venue, text, code=code)
        if code in _RATE_LIMITED:
            return RateLimitedError(venue, text, code=code)
        return VenueUnavailableError(venue, text, code=code)
    if isinstance(exc, (Web3Exception, ReadFailure)):
        return BadResponseError(
            venue, f"{method}: unexpected answer ({type(exc).__name__}: {said(exc)})"
        )
    return None


@dataclass(frozen=True, slots=True)
class BlockReads:
    """The result of one pinned multicall: block number, block timestamp and one value per read."""

    block_number: int
    block_timestamp: int
    values: list[Any]


class EvmRpc:
    """One venue's connection to an EVM node.

    Args:
        venue: venue id for error messages.
        url: the node's HTTP JSON-RPC URL (may hold a key; never logged).
        timeout_s: per-request timeout.
        expected_chain_id: the chain the config is for (checked at setup by `ensure_chain`,
            then on every snapshot by `chain_and_block`).
        w3: an existing AsyncWeb3 (tests); default: one over `RpcTransport` without
            web3's own retries (retrying is the venue actor's job).
        max_response_bytes: the largest answer read from the node.
    """

    def __init__(
        self,
        venue: str,
        url: str,
        *,
        timeout_s: float = 10.0,
        expected_chain_id: int | None = None,
        w3: AsyncWeb3 | None = None,
        max_response_bytes: int = 8 * 1024 * 1024,
    ):
        self.venue = venue
        self.expected_chain_id = expected_chain_id
        self.scrub = Scrubber(urls=[url])
        self.w3 = w3 or AsyncWeb3(
            RpcTransport(
                venue, url, timeout_s=timeout_s, max_response_bytes=max_response_bytes,
                scrub=self.scrub,
            ),
            # No default middleware: ENS and gas strategies are unused here, and the validation
            # middleware would ask eth_chainId before every eth_call (we check it once).
            middleware=[],
        )
        self._code_checked: set[str] = set()
        self._pool_method = 0
        self._batch = True  # False once the node refused a JSON-RPC batch

    def __repr__(self) -> str:
        return f"EvmRpc(venue={self.venue!r})"

    @asynccontextmanager
    async def translating(self, method: str) -> AsyncIterator[None]:
        """Translate any failure inside the block into the typed error tree.

        The library's exception stays reachable as ``__context__`` (Python sets it on a raise
        inside a handler), so its text is scrubbed first and its own chain dropped.
        """
        try:
            yield
        except Exception as exc:
            typed = translate_error(self.venue, method, exc, self.scrub)
            if typed is None or typed is exc:
                raise
            _withhold_text(exc, self.scrub)
            raise typed from None

    async def ensure_chain(self) -> int:
        """Check once that the node serves ``expected_chain_id``; return the chain id.

        Raises:
            WrongChainError: another chain.
        """
        async with self.translating("eth_chainId"):
            chain_id = unsigned(self.venue, "eth_chainId", await self.w3.eth.chain_id)
        return self.check_chain(chain_id)

    def check_chain(self, chain_id: int) -> int:
        """Return ``chain_id`` when it is the configured chain.

        Raises:
            WrongChainError: another chain.
        """
        if self.expected_chain_id is not None and chain_id != self.expected_chain_id:
            raise WrongChainError(
                self.venue,
                f"the RPC node serves chain id {chain_id}, the config expects "
                f"{self.expected_chain_id}",
            )
        return chain_id

    async def chain_and_block(self) -> int:
        """Check the chain id and return the latest block number, in one JSON-RPC batch.

        A node that refuses batches (answers the batch with a bad-request error) is asked the
        two methods one by one from then on: the chain is still checked on every snapshot.

        Raises:
            WrongChainError: the node serves another chain than the config's.
            BadResponseError: an answer is missing or is not a hex quantity.
        """
        methods = ("eth_chainId", "eth_blockNumber")
        if self._batch:
            try:
                async with self.translating("eth_chainId+eth_blockNumber"):
                    try:
                        answer = await self.w3.provider.make_batch_request(
                            [(m, []) for m in methods]
                        )
                    except (KeyError, TypeError, AttributeError, ValueError) as exc:
                        raise ReadFailure(f"malformed batch answer ({type(exc).__name__})") \
                            from None
                    chain_raw, block_raw = batch_results(self.venue, methods, answer)
            except BadRequestError:
                self._batch = False
            else:
                self.check_chain(quantity(self.venue, "eth_chainId", chain_raw))
                return quantity(self.venue, "eth_blockNumber", block_raw)
        await self.ensure_chain()
        return await self.block_number()

    async def ensure_code(self, contracts: Mapping[str, str]) -> None:
        """Check once per address that each named contract has code.

        Raises:
            ContractMissingError: naming the contract and address without code.
        """
        for name, address in contracts.items():
            addr = to_checksum_address(address)
            if addr in self._code_checked:
                continue
            async with self.translating("eth_getCode"):
                code = await self.w3.eth.get_code(addr)
            if not code:
                raise ContractMissingError(self.venue, f"no contract code for {name} at {addr}")
            self._code_checked.add(addr)

    async def block_number(self) -> int:
        async with self.translating("eth_blockNumber"):
            return unsigned(self.venue, "eth_blockNumber", await self.w3.eth.block_number)

    async def multicall(
        self, multicall3: str, reads: Sequence[Read], block: int | str = "latest"
    ) -> list[Any]:
        """Run ``reads`` in one ``aggregate3`` eth_call at ``block`` and decode each value.

        Raises:
            CallRevertedError: a read failed (named) or the whole call reverted.
            BadResponseError: a read's data does not decode.
        """
        data = encode_aggregate3(reads)
        async with self.translating("eth_call aggregate3"):
            try:
                raw = await self.w3.eth.call(
                    {"to": to_checksum_address(multicall3), "data": HexStr("0x" + data.hex())},
                    block_identifier=cast(BlockIdentifier, block),
                )
            except (TypeError, ValueError) as exc:  # web3 could not format the node's result
                if isinstance(exc, Web3Exception):
                    raise
                raise ReadFailure(f"eth_call result does not decode ({type(exc).__name__})") \
                    from None
            return decode_multicall(self.venue, reads, raw, block)

    async def read_at_latest(self, multicall3: str, reads: Sequence[Read]) -> BlockReads:
        """Check the chain and pin the latest block (one batch), then read everything plus the
        block's timestamp in one aggregate3."""
        block = await self.chain_and_block()
        stamp = Read("block timestamp", multicall3, "getCurrentBlockTimestamp()")
        values = await self.multicall(multicall3, [*reads, stamp], block)
        return BlockReads(block, unsigned(self.venue, "block timestamp", values[-1]), values[:-1])

    async def nonce(self, address: str, block: int | str = "latest") -> int:
        async with self.translating("eth_getTransactionCount"):
            count = await self.w3.eth.get_transaction_count(
                to_checksum_address(address), cast(BlockIdentifier, block)
            )
        return unsigned(self.venue, "eth_getTransactionCount", count)

    async def pending_transactions(self, addresses: Sequence[str]) -> list[dict[str, Any]] | None:
        """Return not-yet-mined transactions, or None when the node exposes no pending view.

        Tries, in order, and remembers the first method the node supports:
        ``txpool_contentFrom`` per address (geth; only the desk's transactions),
        ``txpool_content`` (anvil, geth; the whole pool), the ``pending`` block (hosted RPCs).
        Each transaction is ``{hash, from, to, value, input, nonce}``.
        """
        # Concurrent snapshots share this counter: each walks from where it started and only
        # ever moves the counter forward, so one caller's refusal never skips another's method.
        index = self._pool_method
        while index < len(POOL_METHODS):
            method = POOL_METHODS[index]
            try:
                async with self.translating(method):
                    return await self._read_pool(method, addresses)
            except BadRequestError:
                index += 1
                self._pool_method = max(self._pool_method, index)
        return None

    async def _read_pool(self, method: str, addresses: Sequence[str]) -> list[dict[str, Any]]:
        """Read the pool with raw requests: the answers are checked field by field as the node
        sent them (`pool_transactions`), with no formatting in between."""
        request = self.w3.provider.make_request
        if method == "txpool_contentFrom":
            out = []
            for address in addresses:
                answer = await request(method, [to_checksum_address(address)])
                out += pool_transactions(method, rpc_result(method, answer))
            return out
        params = [] if method == "txpool_content" else ["pending", True]
        return pool_transactions(method, rpc_result(method, await request(method, params)))

    async def close(self) -> None:
        """Close the HTTP session."""
        disconnect = getattr(self.w3.provider, "disconnect", None)
        if disconnect is not None:
            await disconnect()


def _withhold_text(exc: BaseException, scrub: Scrubber) -> None:
    """Scrub a library exception that stays chained under a typed error (args and web3's
    ``message``/``data``/``rpc_response``), and drop its own chain."""
    exc.args = (scrub.excerpt(str(exc), EXCERPT_CHARS),)
    for name in ("message", "data"):
        if isinstance(getattr(exc, name, None), str):
            setattr(exc, name, scrub.excerpt(getattr(exc, name), EXCERPT_CHARS))
    if getattr(exc, "rpc_response", None) is not None:
        setattr(exc, "rpc_response", None)  # noqa: B010 - not every exception type has it
    exc.__cause__ = exc.__context__ = None
    exc.__suppress_context__ = True



def decode_multicall(venue: str, reads: Sequence[Read], raw: Any, block: int | str) -> list[Any]:
    """Decode the return data of one ``aggregate3`` into one value per read.

    Raises:
        CallRevertedError: a read failed (named).
        ReadFailure: the data is not one decodable result per read (the caller translates it
            to `BadResponseError`).
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise ReadFailure(f"aggregate3 returned {type(raw).__name__}, not bytes")
    results = decode_aggregate3(bytes(raw))
    if len(results) != len(reads):
        raise ReadFailure(f"aggregate3 gave {len(results)} results for {len(reads)} reads")
    failed = [r.label for r, (ok, _) in zip(reads, results, strict=True) if not ok]
    if failed:
        raise CallRevertedError(venue, f"reverted at block {block}: {', '.join(failed)}")
    return [decode_read(r, d) for r, (_, d) in zip(reads, results, strict=True)]
