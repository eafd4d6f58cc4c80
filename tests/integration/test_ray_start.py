"""Starting and joining Ray as the commands do (actors/cli/ray_session.py): the embedded local Ray
runs the job in the one namespace, listens on 127.0.0.1 only and keeps its token private and its
log lines quiet; a bad cluster address is one line and exit status 2, not a hang."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actors.options import NAMESPACE

REPO = Path(__file__).resolve().parents[2]


def run(args, env_extra=None, timeout=240):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(REPO),
           **(env_extra or {})}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


LOCAL_RAY = textwrap.dedent("""
    import os, subprocess
    import ray
    from actors.cli.ray_session import start_ray, stop_ray
    from actors.options import NAMESPACE, venue_actor_options

    start = start_ray(num_cpus=1, include_dashboard=True)  # as the commands call it

    @ray.remote(num_cpus=0)
    class Probe:
        def pid(self):
            return os.getpid()

    # a named actor with the options venue actors get, found by name in the one namespace
    probe = Probe.options(**venue_actor_options("probe")).remote()
    ray.get(probe.pid.remote())
    print("NAMESPACE", ray.get_runtime_context().namespace)
    print("FOUND", ray.get(ray.get_actor("venue:probe", namespace=NAMESPACE).pid.remote()) ==
          ray.get(probe.pid.remote()))
    table = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children = {}
    for row in table.splitlines():
        pid, ppid = map(int, row.split())
        children.setdefault(ppid, []).append(pid)
    ours, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        ours.add(pid)
        todo += children.get(pid, [])
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    for row in listening.splitlines():
        if any(f"pid={p}," in row for p in ours):
            print("LISTEN", row.split()[3])
    stop_ray(start)
""")


@pytest.fixture(scope="module")
def local_ray_run(tmp_path_factory):
    """One embedded local Ray started as the commands start it, in its own process."""
    home = tmp_path_factory.mktemp("home")
    token = home / ".ray" / "auth_token"
    token.parent.mkdir()
    token.write_text("f" * 64)
    token.chmod(0o644)  # as an older Ray left it
    out = run(["-c", LOCAL_RAY], {"HOME": str(home)})
    assert out.returncode == 0, out.stderr[-3000:]
    return out, token


def test_every_command_runs_its_job_and_named_actors_in_the_one_namespace(local_ray_run):
    out, _ = local_ray_run
    lines = out.stdout.splitlines()
    assert f"NAMESPACE {NAMESPACE}" in lines and NAMESPACE == "basis"
    assert "FOUND True" in lines  # a lookup by name in NAMESPACE finds the actor created


def test_the_embedded_local_ray_listens_on_loopback_only_with_a_private_token(local_ray_run):
    out, token = local_ray_run
    addresses = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("LISTEN")]
    assert len(addresses) >= 6  # GCS, raylet, object manager, workers, agents, dashboard
    hosts = {a.rsplit(":", 1)[0] for a in addresses}
    assert hosts <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, addresses
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    # Ray's own log lines stay off the terminal unless -v
    assert "Started a local Ray instance" not in out.stderr
    assert "Token authentication is enabled" not in out.stderr


def test_a_bad_cluster_address_is_one_line_and_exit_2_without_a_hang(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    for address, expected in [
        ("not-a-host:99999", ("error: cannot reach Ray at not-a-host:99999: port 99999 is not "
                              "in 1-65535")),
        (f"127.0.0.1:{closed}", f"error: cannot reach Ray at 127.0.0.1:{closed} within 15 s"),
    ]:
        out = run(["-m", "actors.cli", "sweep", "configs/sweeps/basis_grid.yaml", "--data",
                   "synthetic:7", "--out", str(tmp_path / "sweep"), "--address", address],
                  timeout=60)
        assert out.returncode == 2, out.stderr[-2000:]
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), lines
        assert not (tmp_path / "sweep").exists()
