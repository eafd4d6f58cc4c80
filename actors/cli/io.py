"""Process plumbing of the long-running ``basis`` commands: signals and a JSON-only stdout.

- `exit_on_signals`: SIGINT, SIGTERM and SIGHUP (a closed terminal) raise `Terminated` in the
  main thread, so every ``with``/``finally`` of the command runs and stops what it started
  (venue actors, Ray, anvil, the exchange emulator). Later signals are ignored while that
  cleanup runs, so a second Ctrl-C cannot leave a child behind.
- `json_stdout`: for ``--json``, the command's JSON lines go to the original stdout and
  everything else written to file descriptor 1 (Ray's own lines, a library's print, a child
  process started meanwhile) goes to stderr, so ``| jq`` always reads pure JSON.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = ["STOP_SIGNALS", "Terminated", "exit_on_signals", "json_stdout"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A stop signal arrived; carries its number (exit status 128 + signum by convention)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def exit_on_signals(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Turn the first stop signal into `Terminated` for the ``with`` block; ignore the rest.

    Must be entered in the main thread. The previous handlers are restored on exit.
    """
    fired: list[int] = []

    def handler(signum: int, _frame) -> None:
        if fired:  # cleanup of the first signal is running: let it finish
            return
        fired.append(signum)
        raise Terminated(signum)

    saved = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def json_stdout(enabled: bool = True) -> Iterator[TextIO]:
    """Yield a line-buffered stream on the real stdout; point descriptor 1 at stderr meanwhile.

    With ``enabled=False`` this yields `sys.stdout` and changes nothing.
    """
    if not enabled:
        yield sys.stdout
        return
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(real, "w", buffering=1, closefd=False)
    try:
        yield out
    finally:
        with contextlib.suppress(OSError, ValueError):
            out.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        os.dup2(real, 1)
        os.close(real)
