"""Starting or joining Ray (actors/cli/ray_session.py) without starting it: the address probe and the
token file's permissions."""

from __future__ import annotations

import socket
import stat
import time

import pytest

from actors.cli.ray_session import probe_address, secure_token_file
from factory.errors import ConfigError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, reason", [
    ("not-a-host:99999", "port 99999 is not in 1-65535"),
    ("ray://:10001", "no host in the address"),
])
def test_a_malformed_address_is_one_line_naming_it(address, reason):
    with pytest.raises(ConfigError) as err:
        probe_address(address, timeout_s=15)
    assert err.value.problems == [f"cannot reach Ray at {address}: {reason}"]


def test_a_closed_port_is_refused_at_once_with_the_bound_in_the_line():
    address = f"127.0.0.1:{closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as err:
        probe_address(address, timeout_s=15)
    assert time.monotonic() - t0 < 15  # refused, not waited out
    line = err.value.problems[0]
    assert line.startswith(f"cannot reach Ray at {address} within 15 s (")
    assert "\n" not in line


def test_an_unknown_host_says_the_name_did_not_resolve():
    with pytest.raises(ConfigError, match=r"not-a-host\.invalid:6379 within 15 s \(name not "
                                          r"resolved\)"):
        probe_address("not-a-host.invalid:6379", timeout_s=15)


def test_a_listening_address_passes_and_ray_scheme_defaults_to_the_client_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        probe_address(f"127.0.0.1:{port}")
        probe_address(f"ray://127.0.0.1:{port}")
    probe_address("auto")  # left to Ray


def test_the_token_file_is_created_private(tmp_path):
    path = secure_token_file(tmp_path / ".ray" / "auth_token")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_text()) == 64


def test_a_world_readable_token_file_is_tightened_and_kept(tmp_path):
    path = tmp_path / "auth_token"
    path.write_text("the-cluster-token")
    path.chmod(0o644)
    secure_token_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "the-cluster-token"
