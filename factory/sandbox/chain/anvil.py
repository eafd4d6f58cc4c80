"""Start and stop a local anvil node from Python.

`AnvilProcess` picks a free port on 127.0.0.1, starts anvil in its own process group, waits
until it answers ``eth_chainId`` and kills the whole group on `stop` (also on exit of a ``with``
block). Mining is automatic by default; ``automine=False`` (``--no-mining``) keeps transactions
pending until ``evm_mine``, and ``block_time_s`` mines on an interval instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

from factory.errors import BackendNotAvailableError
from factory.sandbox.chain.paths import anvil_binary

__all__ = ["ANVIL_CHAIN_ID", "AnvilProcess", "free_port", "rpc_request"]

ANVIL_CHAIN_ID = 31337


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def rpc_request(url: str, method: str, params: list | None = None, timeout_s: float = 5.0):
    """Send one JSON-RPC request with the standard library and return its ``result``.

    Raises:
        RuntimeError: the node answered a JSON-RPC error.
        OSError: the node is not reachable.
    """
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        answer = json.loads(resp.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


class AnvilProcess:
    """A local anvil node on 127.0.0.1.

    Args:
        chain_id: chain id the node serves.
        automine: mine each transaction at once (anvil's default); False passes ``--no-mining``.
        block_time_s: mine a block every so many seconds (interval mining).
        accounts: number of funded dev accounts.
        balance_eth: ETH per dev account.
        port: fixed port (default: a free one).
        extra_args: more anvil arguments.
        startup_timeout_s: how long `start` waits for the node to answer.

    Example:
        >>> with AnvilProcess() as node:  # doctest: +SKIP
        ...     print(node.url)
    """

    def __init__(
        self,
        *,
        chain_id: int = ANVIL_CHAIN_ID,
        automine: bool = True,
        block_time_s: float | None = None,
        accounts: int = 10,
        balance_eth: int = 10_000,
        port: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout_s: float = 15.0,
    ):
        if not automine and block_time_s is not None:
            raise ValueError("choose automine=False or block_time_s, not both")
        self.chain_id = chain_id
        self.automine = automine
        self.block_time_s = block_time_s
        self.accounts = accounts
        self.balance_eth = balance_eth
        self.host = "127.0.0.1"
        self.port = port
        self.extra_args = list(extra_args or [])
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        """The node's HTTP JSON-RPC URL."""
        if self.port is None:
            raise RuntimeError("anvil is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self, port: int) -> list[str]:
        cmd = [
            anvil_binary(),
            "--host", self.host,
            "--port", str(port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth),
        ]
        if not self.automine:
            cmd.append("--no-mining")
        if self.block_time_s is not None:
            cmd += ["--block-time", f"{self.block_time_s:g}"]
        return cmd + self.extra_args

    def start(self) -> Self:
        """Start the node and wait until it answers; retry on a lost port race.

        Raises:
            BackendNotAvailableError: anvil is missing or did not come up in time.
        """
        if self.running:
            return self
        fixed = self.port is not None
        last_error = ""
        for _ in range(1 if fixed else 3):
            port = self.port if fixed and self.port is not None else free_port(self.host)
            fd, log_name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
            self._log_path = Path(log_name)
            with os.fdopen(fd, "wb") as log:
                self._proc = subprocess.Popen(
                    self._command(port), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            self.port = port
            if self._wait_ready():
                return self
            last_error = self._log_tail()
            self.stop()
            if not fixed:
                self.port = None
        raise BackendNotAvailableError(f"sandbox chain: anvil did not start: {last_error}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                if int(rpc_request(self.url, "eth_chainId", timeout_s=1.0), 16) == self.chain_id:
                    return True
            except (OSError, urllib.error.URLError, RuntimeError, ValueError):
                pass
            time.sleep(0.02)
        return False

    def _log_tail(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-2000:] if self._log_path else ""
        except OSError:
            return ""

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the node's process group (SIGTERM, then SIGKILL) and remove its log."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                pgid = os.getpgid(proc.pid)
                os.killpg(pgid, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    os.killpg(pgid, signal.SIGKILL)
                    proc.wait(timeout=timeout_s)
            except ProcessLookupError:
                pass
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"AnvilProcess({state})"
