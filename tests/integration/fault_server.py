"""A forwarding HTTP server on 127.0.0.1 that can answer what a misbehaving node or proxy answers.

Put in front of the exchange emulator (GET/POST with the signed headers, path kept) or anvil
(JSON-RPC POSTs; the path, where hosted RPC URLs carry their key, is dropped). ``mode``:

- ``forward``: pass the request on, answer what the upstream answered;
- ``html_echo``: HTTP 200 ``text/html``, a ~410 KB error page that echoes the request path and
  the decoded basic-auth ``user:password`` (what a misconfigured node or CDN can do);
- ``huge``: HTTP 200 with a 64 MB body sent in 1 MB chunks, with no ``Content-Length`` (the
  client only learns the size by reading), or with it when ``announce_length`` is set.
"""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self

__all__ = ["HUGE_BYTES", "FaultServer"]

HUGE_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024
Mode = Literal["forward", "html_echo", "huge"]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients hang up on huge answers
        return


class FaultServer:
    """Forward to ``upstream`` (``keep_path``: append the request path) or misbehave.

    Attributes:
        mode: see the module docstring.
        announce_length: send ``Content-Length`` with the huge body.
        served: answers given per mode.
        huge_bytes_sent: bytes of huge bodies actually written (the client stops early).
    """

    def __init__(self, upstream: str, keep_path: bool):
        self.upstream = upstream.rstrip("/")
        self.keep_path = keep_path
        self.mode: Mode = "forward"
        self.announce_length = False
        self.served: Counter[str] = Counter()
        self.huge_bytes_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = outer.mode
                outer.served[mode] += 1
                if mode == "html_echo":
                    self._html_echo()
                elif mode == "huge":
                    self._huge()
                else:
                    self._forward(body)

            def _html_echo(self) -> None:
                auth = self.headers.get("Authorization", "")
                userinfo = ""
                if auth.startswith("Basic "):
                    userinfo = base64.b64decode(auth[6:]).decode("utf-8", "replace")
                page = (f"<html><head><title>404 Not Found</title></head><body><h1>Not Found"
                        f"</h1><p>The requested URL {self.path} was not found on this server "
                        f"(user {userinfo}).</p>" + "<!-- padding -->\n" * 24_000 + "</body></html>")
                self._answer(200, page.encode(), "text/html")

            def _huge(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if outer.announce_length:
                    self.send_header("Content-Length", str(HUGE_BYTES))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                chunk = b'{"pad": "' + b"x" * (CHUNK - 10) + b'"'
                try:
                    for _ in range(HUGE_BYTES // CHUNK):
                        self.wfile.write(chunk)
                        outer.huge_bytes_sent += len(chunk)
                except OSError:  # the client stopped reading at its cap and closed
                    self.close_connection = True

            def _forward(self, body: bytes) -> None:
                target = outer.upstream + (self.path if outer.keep_path else "")
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection",
                                                "authorization", "accept-encoding")}
                req = urllib.request.Request(target, data=body or None, headers=headers,
                                             method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, data, ctype = resp.status, resp.read(), resp.headers
                except urllib.error.HTTPError as err:
                    status, data, ctype = err.code, err.read(), err.headers
                except OSError:
                    status, data, ctype = 502, b"{}", {}
                self.send_response(status)
                for name, value in dict(ctype).items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                            "date", "server", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
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
