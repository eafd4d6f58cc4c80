"""Exit statuses of the ``basis`` commands, one name per meaning.

- `EXIT_OK` (0): the command did what it was asked; a monitor snapshot was complete.
- `EXIT_FAILURE` (1): it ran but the result is not good: an unexpected error, a sweep with
  failed scenarios, a demo whose venues did not recover.
- `EXIT_INCOMPLETE` (1): ``monitor --once`` took a snapshot that is not complete (a venue
  stale or missing); the snapshot is still printed.
- `EXIT_BAD_INPUT` (2): bad input (flags, config, dates, paths, an unreachable cluster),
  refused with one line per problem, before Ray starts where possible.
- `EXIT_INTERRUPTED` (130): stopped by Ctrl-C or a stop signal, after cleanup.
"""

from __future__ import annotations

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_INCOMPLETE", "EXIT_INTERRUPTED", "EXIT_OK"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INCOMPLETE = EXIT_FAILURE
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
