"""The one way every ``basis`` command starts or joins Ray: `start_ray`, undone by `stop_ray`.

- **One namespace**: the job runs in `actors.options.NAMESPACE` whatever the command (monitor,
  sweep, demo), so the named actors it creates (``venue:<id>``, ``position-monitor``) live there
  and are found there by name, and a second command joining the same cluster sees them.
- **Embedded local Ray** (no ``--address``, no ``RAY_ADDRESS``): a new instance, never another
  session's cluster, with every component (GCS, raylet, workers, dashboard and metrics agents)
  bound to 127.0.0.1; the token file (``~/.ray/auth_token``) is created or tightened to mode
  0600 before Ray reads it.
- **A cluster** (``--address HOST:PORT``, ``ray://HOST:PORT`` or ``RAY_ADDRESS``): the address
  is probed first (DNS and TCP, bounded by ``connect_timeout_s``), so an unreachable one is one
  clear line (`ConfigError`, exit 2) instead of a long hang.
- Quiet: Ray's own log lines stay in its session logs unless ``verbose``; worker output is not
  forwarded to the driver (``log_to_driver=False``), so a command's stdout carries only what the
  command prints.
- The Python signal handlers installed before ``ray.init`` are put back after it, so SIGTERM and
  SIGHUP keep running the command's cleanup instead of Ray's crash handler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from actors.options import NAMESPACE
from factory.environ import scoped_environ
from factory.errors import ConfigError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LIVE_NUM_CPUS",
    "LOCAL_HOST",
    "RayStart",
    "probe_address",
    "ray_session",
    "secure_token_file",
    "start_ray",
    "stop_ray",
]

LOCAL_HOST = "127.0.0.1"
CONNECT_TIMEOUT_S = 15.0
#: CPUs of the local Ray of the live commands (monitor, demo): their actors are I/O bound
#: (0 CPU each), two CPUs leave room for the demo's short sweep. A sweep takes every core.
LIVE_NUM_CPUS = 2
#: Ports a bare ``host`` means: the GCS (``ray start --head``) or the Ray client server.
_DEFAULT_PORTS = {"": 6379, "ray": 10001}
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class RayStart:
    """What `start_ray` did: ``started`` is True when this call connected this process to Ray
    (a new local instance, or a driver on a cluster); `stop_ray` then shuts the local instance
    down, or disconnects from the cluster."""

    started: bool
    address: str
    dashboard_url: str | None = None


def _split(address: str) -> tuple[str, int]:
    """Return ``(host, port)`` of a Ray address; raise `ConfigError` naming what is wrong."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        port = parts.port
    except ValueError:
        raw = address.rsplit(":", 1)[-1]
        raise ConfigError(f"cannot reach Ray at {address}: port {raw} is not in 1-65535") from None
    host = parts.hostname
    if not host:
        raise ConfigError(f"cannot reach Ray at {address}: no host in the address")
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme, 6379)
    if not 0 < port < 65536:
        raise ConfigError(f"cannot reach Ray at {address}: port {port} is not in 1-65535")
    return host, port


def probe_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Check that a TCP connection to the address opens within ``timeout_s`` (DNS included).

    ``auto`` and ``local`` are left to Ray. The probe runs on a daemon thread, so Ctrl-C in the
    caller is honoured at once.

    Raises:
        ConfigError: ``cannot reach Ray at ADDRESS within N s`` (with the reason when known).
    """
    if address in ("auto", "local"):
        return
    host, port = _split(address)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            outcome.append(exc)

    worker = threading.Thread(target=connect, name="ray-address-probe", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if outcome and outcome[0] is None:
        return
    reason = ""
    if outcome:
        exc = outcome[0]
        reason = f" ({'name not resolved' if isinstance(exc, socket.gaierror) else exc})"
    raise ConfigError(f"cannot reach Ray at {address} within {timeout_s:g} s{reason}")


def secure_token_file(path: Path | None = None) -> Path:
    """Make Ray's token file private: create it with mode 0600 when missing, else chmod it.

    Ray would create ``~/.ray/auth_token`` world-readable; creating it first (a random
    64-hex-digit token, the length Ray uses) keeps every local start private.
    """
    path = path or Path.home() / ".ray" / "auth_token"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_uid == os.getuid():
            path.chmod(0o600)
        return path
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """Make Ray resolve this node's address to 127.0.0.1 while it starts.

    Ray replaces a loopback ``_node_ip_address`` by the machine's routable address unless its
    cluster support is off (the switch macOS and Windows use); with it off every component binds
    to the loopback interface. The switch is a module constant read at call time, restored here.
    """
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def start_ray(
    address: str | None = None,
    *,
    namespace: str = NAMESPACE,
    num_cpus: int | None = None,
    include_dashboard: bool = False,
    verbose: bool = False,
    environ: Mapping[str, str] | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    object_store_memory: int | None = None,
) -> RayStart:
    """Start an embedded local Ray or join the cluster at ``address`` (or ``RAY_ADDRESS``).

    Args:
        address: a cluster address; None (and no ``RAY_ADDRESS``) starts a local Ray.
        namespace: the Ray namespace of the job; the commands keep the default, tests and
            benchmarks that must not meet a command's actors give their own.
        num_cpus: CPUs of the local Ray (default: every core); not used to join a cluster.
        include_dashboard: start the dashboard (local Ray only; bound to 127.0.0.1).
        verbose: let Ray log at INFO level on stderr.
        environ: variables Ray's processes inherit (workers started by this local Ray); the
            caller's own environment is restored after the start.
        connect_timeout_s: bound of the probe of a cluster address.
        object_store_memory: bytes of the local object store (default: Ray's).

    Returns:
        what was done; `RayStart.started` is False when Ray was already initialised here.

    Raises:
        ConfigError: the cluster address is malformed or unreachable in time.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return RayStart(started=False, address="existing")
    address = address or os.environ.get("RAY_ADDRESS") or None
    level = logging.INFO if verbose else logging.ERROR
    kwargs: dict = {"namespace": namespace, "log_to_driver": False, "logging_level": level}
    handlers = {sig: signal.getsignal(sig) for sig in _HANDLED_SIGNALS}
    if address:
        probe_address(address, connect_timeout_s)
        ray.init(address=address, **kwargs)
        url = None
    else:
        secure_token_file()
        local = dict(kwargs, num_cpus=num_cpus, include_dashboard=include_dashboard,
                     _node_ip_address=LOCAL_HOST)
        if include_dashboard:
            local["dashboard_host"] = LOCAL_HOST
        if object_store_memory:
            local["object_store_memory"] = object_store_memory
        with scoped_environ(dict(environ or {})), _loopback_only():
            ctx = ray.init(address="local", **local)
        url = getattr(ctx, "dashboard_url", None) or None
        address = "local"
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    return RayStart(started=True, address=address, dashboard_url=url)


def stop_ray(start: RayStart | None) -> None:
    """Undo `start_ray`: stop the local instance, or disconnect from the cluster (which keeps
    running)."""
    if start is None or not start.started:
        return
    import ray

    ray.shutdown()


@contextlib.contextmanager
def ray_session(address: str | None = None, **kwargs) -> Iterator[RayStart]:
    """`start_ray` for a ``with`` block; Ray is stopped on exit when it was started here."""
    start = start_ray(address, **kwargs)
    try:
        yield start
    finally:
        stop_ray(start)
