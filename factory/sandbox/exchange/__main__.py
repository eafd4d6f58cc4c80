"""Run the exchange emulator: ``python -m factory.sandbox.exchange --scenario FILE --port N``.

Prints one line per venue with its base URL and the environment variables that point the live
CEX interfaces at it, then serves until interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from factory.errors import ConfigError
from factory.sandbox.exchange.server import ExchangeEmulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m factory.sandbox.exchange",
                                description="Sandbox exchange emulator (binance, bybit, okx).")
    p.add_argument("--scenario", help="accounts YAML (e.g. configs/sandbox.yaml)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    return p


async def _serve(args: argparse.Namespace) -> None:
    emu = ExchangeEmulator(scenario=args.scenario, host=args.host, port=args.port)
    await emu.start()
    print(f"exchange emulator on {emu.url} (admin: {emu.url}/__admin/health)", flush=True)
    for venue in emu.accounts():  # each exchange's default account, then the others
        env = " ".join(f"{k}={v}" for k, v in emu.env(venue).items())
        print(f"  {venue}: {emu.base_url(venue.split('.')[0])}  {env}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
            pass
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a bad scenario)."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
