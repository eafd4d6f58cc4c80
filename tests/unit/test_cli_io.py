"""Signals and a JSON-only stdout for the long-running commands (actors/cli/io.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actors.cli.io import Terminated, exit_on_signals

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_runs_the_cleanup_and_a_second_one_cannot_cut_it_short(signum):
    cleaned = []
    # whatever was installed before (Ray's own SIGTERM handler when Ray runs in this process)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with pytest.raises(Terminated) as stopped, exit_on_signals():
        try:
            os.kill(os.getpid(), signum)  # the handler raises on the next bytecode
        finally:
            os.kill(os.getpid(), signum)  # ignored: the cleanup goes on
            cleaned.append("actors, ray, anvil")
    assert stopped.value.signum == signum and cleaned == ["actors, ray, anvil"]
    assert isinstance(stopped.value, KeyboardInterrupt)  # the CLI's exit status 130 path
    # every handler is put back as it was
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_json_stdout_sends_every_other_write_to_stderr():
    code = textwrap.dedent("""
        import os, subprocess, sys
        from actors.cli.io import json_stdout
        with json_stdout() as out:
            print('(raylet) A worker died or was killed')
            os.write(1, b'native noise\\n')
            subprocess.run(['echo', 'child noise'])
            print('{"complete": true}', file=out)
        print('{"after": 1}')
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines()] == [{"complete": True},
                                                                       {"after": 1}]
    assert run.stderr.splitlines() == ["(raylet) A worker died or was killed", "native noise",
                                       "child noise"]
