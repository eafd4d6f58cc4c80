"""The ``basis`` command line: one module per command, one way to start or join Ray.

- `actors.cli.main`: the parser, ``main(argv)`` (the console script) and the mapping of errors
  to exit statuses (`actors.cli.exits`).
- One module per command: `config` (config check), `monitor`, `history`, `backtest`, `sweep`,
  `data` (fetch, synth, describe), `demo` (with its sandbox in `demo_sandbox`).
- `ray_session`: `start_ray` and `stop_ray`, used by every command that needs Ray; the job
  runs in the namespace `actors.options.NAMESPACE`.
- `io`: stop signals and a JSON-only stdout; `progress`: the sweep's progress bar.

Nothing is imported here, so ``import actors.cli.io`` does not load the commands.
"""

__all__: list[str] = []
