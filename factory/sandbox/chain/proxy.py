"""A JSON-RPC proxy on 127.0.0.1 that counts calls and injects faults in front of a node.

Tests put it between a backend and anvil to count what a snapshot costs at the node
(``proxy.counts["eth_call"]``) and to make the node slow, failing or unreachable without touching
anvil. It runs a threaded HTTP server in a daemon thread, so it works under sync and async tests.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self

__all__ = ["RpcProxy"]

Fault = Literal["none", "drop", "http_503", "http_429"]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # no tracebacks on stderr
        return


class RpcProxy:
    """Forward JSON-RPC POSTs to ``upstream``, counting methods.

    Args:
        upstream: the node's URL.

    Attributes:
        counts: requests per JSON-RPC method (batch members counted one by one).
        log: every ``(method, params)`` in order.
        requests: the methods of each HTTP request in order (a batch is one request).
        delay_s: wait this long before forwarding (timeouts).
        fault: ``drop`` closes the connection unanswered, ``http_503`` / ``http_429`` answer with
            that status; ``none`` forwards.
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, list]] = []
        self.requests: list[tuple[str, ...]] = []
        self.delay_s = 0.0
        self.fault: Fault = "none"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("proxy not started")
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def calls(self, method: str) -> list[list]:
        """Return the params of every request of ``method`` so far."""
        with self._lock:
            return [params for m, params in self.log if m == method]

    def reset(self) -> None:
        """Forget the counts and clear the faults."""
        with self._lock:
            self.counts.clear()
            self.log.clear()
            self.requests.clear()
        self.delay_s = 0.0
        self.fault = "none"

    def _record(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
        except ValueError:
            return
        items = payload if isinstance(payload, list) else [payload]
        with self._lock:
            methods = []
            for item in items:
                if not isinstance(item, dict):
                    continue
                method = str(item.get("method", "?"))
                methods.append(method)
                self.counts[method] += 1
                self.log.append((method, item.get("params") or []))
            self.requests.append(tuple(methods))

    def start(self) -> Self:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy._record(body)
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                if proxy.fault == "drop":
                    self.close_connection = True
                    return
                if proxy.fault in ("http_503", "http_429"):
                    self._answer(int(proxy.fault[5:]), b"{}")
                    return
                req = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        self._answer(resp.status, resp.read())
                except OSError:
                    self._answer(502, b"{}")

            def _answer(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    self.close_connection = True

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
