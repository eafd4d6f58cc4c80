"""The progress bar of the commands that run many scenarios (``basis sweep``, ``basis demo``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(total: int) -> tuple[Callable[[int, int, Any], None], Callable[[], None]]:
    """Draw a rich progress bar of ``total`` scenarios on stderr.

    Args:
        total: how many scenarios the bar counts to.

    Returns:
        ``(update, stop)``: ``update(done, n, result)`` moves the bar (and prints one line per
        update when stderr is not a terminal); ``stop()`` ends the bar.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress("[bold]sweep", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(file=sys.stderr))
    task = progress.add_task("scenarios", total=total)
    progress.start()

    def update(done: int, n: int, result: Any) -> None:
        progress.update(task, completed=done)
        if not progress.console.is_terminal:
            print(f"sweep: {done}/{n} scenarios done", file=sys.stderr, flush=True)

    return update, progress.stop
