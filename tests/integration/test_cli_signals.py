"""`basis demo` stops everything it started on SIGINT (Ctrl-C) and SIGTERM (a service stop):
no child process survives, no port it opened stays open, anvil's log file is gone, and Ray
prints no crash dump. The demo runs as a user runs it: a subprocess with its own sandbox and
Ray, and the signal goes to the demo's process only. SIGHUP (a closed terminal) takes the same
handler as SIGTERM (`actors.cli.io.exit_on_signals`, every stop signal checked in
tests/unit/test_cli_io.py), so the demo is not run a third time for it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.integration.live_helpers import eventually
from tests.integration.proc_helpers import descendants, title

REPO = Path(__file__).resolve().parents[2]


def listening_ports(pids: set[int]) -> set[int]:
    """TCP ports the given processes listen on (from ``ss``)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ports = set()
    for line in out.splitlines():
        if any(f"pid={p}," in line for p in pids):
            ports.add(int(line.split()[3].rsplit(":", 1)[1]))
    return ports


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped
    except OSError:
        return True


def listeners(port: int) -> set[int]:
    """Process ids listening on a TCP port now."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout
    return {int(m) for m in re.findall(r"pid=(\d+),", out)}


def closed(port: int, ours: set[int]) -> bool:
    """The port refuses connections, or (on a machine shared with other runs) a process that is
    not one the demo started has taken the number since."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    except OSError:
        return True
    found = listeners(port)
    return bool(found) and not found & ours


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_demo_stops_every_child_and_port_on_a_stop_signal(signum, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BASIS_") and k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    demo = subprocess.Popen(
        [sys.executable, "-m", "actors.cli", "demo", "--quick", "--plain", "--no-sweep",
         "--out", str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(demo.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        def running(cond):
            assert demo.poll() is None, "demo exited early: " + "".join(lines)[-2000:]
            return cond()

        eventually(lambda: running(lambda: any(x.startswith("Ray dashboard") for x in lines)),
                   240, 0.2, "the demo's sandbox and Ray started")
        eventually(lambda: running(lambda: any("ray::PositionMonitorActor" in title(p)
                                               for p in descendants(demo.pid))),
                   240, 0.2, "the demo's monitor actor started")
        children = set(descendants(demo.pid))
        anvil = next(p for p in children if "anvil" in title(p))
        anvil_log = Path(os.readlink(f"/proc/{anvil}/fd/1"))
        ready = next(x for x in lines if x.startswith("sandbox ready"))
        ports = {int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", ready)}
        ports |= listening_ports(children | {demo.pid})
        assert anvil_log.is_file() and len(ports) >= 4, ports
        demo.send_signal(signum)
        code = demo.wait(120)
    finally:
        if demo.poll() is None:
            demo.kill()
        reader.join(10)
    text = "".join(lines)
    assert code == 130, text[-3000:]  # handled and cleaned up, not killed by the signal
    assert "Traceback" not in text and "SIGTERM received" not in text
    eventually(lambda: all(gone(p) for p in children), 30, 0.1, "every child process gone")
    ours = children | {demo.pid}
    still_open: list[tuple[int, set[int]]] = []

    def all_closed() -> bool:
        still_open[:] = [(p, listeners(p)) for p in ports if not closed(p, ours)]
        return not still_open

    eventually(all_closed, 30, 0.1, "every port closed")
    assert not anvil_log.exists()
