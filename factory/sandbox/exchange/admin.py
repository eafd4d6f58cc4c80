"""The emulator's JSON admin API under ``/__admin`` and a small client for other processes.

=========================================  ===================================================
``GET    /__admin/health``                  ``{"ok": true, "venues": [...]}``
``GET    /__admin/requests[?venue=X]``       the request log (list of `RequestRecord`)
``DELETE /__admin/requests``                 clear the log
``GET    /__admin/violations``               ``{venue: violations, ...}``
``GET    /__admin/accounts/{venue}``         the venue's `VenueAccount`
``PUT    /__admin/accounts/{venue}``         replace it (body: `VenueAccount`)
``PUT    /__admin/scenario``                 load a scenario (body: `Scenario`)
``GET    /__admin/faults/{venue}``           active faults
``POST   /__admin/faults/{venue}``           add one (body: `Fault`)
``DELETE /__admin/faults[/{venue}]``         clear faults
``PUT    /__admin/clock/{venue}``            ``{"offset_s": -120}`` skews the venue's clock
``PUT    /__admin/limits/{venue}``           enforce other pools/weights (body: `RateLimits`)
``POST   /__admin/ban/{venue}``              ``{"seconds": 120}`` bans the client IP (418s)
``POST   /__admin/reset``                    forget log, counts, bans, faults, skew
=========================================  ===================================================

Errors answer 400 ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from pydantic import ValidationError

from factory.config import RateLimits
from factory.errors import ConfigError
from factory.sandbox.exchange.model import Fault, RequestRecord, VenueAccount

__all__ = ["AdministeredEmulator", "EmulatorAdminClient", "add_admin_routes"]


class AdministeredEmulator(Protocol):
    """What the admin routes drive (`factory.sandbox.exchange.server.ExchangeEmulator`)."""

    @property
    def url(self) -> str: ...

    def venues(self) -> list[str]: ...

    def load(self, scenario: Any) -> None: ...

    def account(self, venue: str) -> VenueAccount: ...

    def set_account(self, venue: str, account: VenueAccount | dict) -> None: ...

    def set_limits(self, venue: str, limits: RateLimits) -> None: ...

    def inject(self, venue: str, fault: Fault | dict) -> None: ...

    def faults(self, venue: str) -> list[Fault]: ...

    def clear_faults(self, venue: str | None = None) -> None: ...

    def set_clock_offset(self, venue: str, offset_s: float) -> None: ...

    def requests(self, venue: str | None = None) -> list[RequestRecord]: ...

    def violations(self, venue: str) -> int: ...

    def ban(self, venue: str, seconds: float) -> None: ...

    def clear_requests(self) -> None: ...

    def reset(self) -> None: ...

Handler = Callable[[web.Request], Awaitable[Any]]


def _json(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            result = await handler(request)
        except (ConfigError, ValidationError, ValueError, KeyError) as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response({"ok": True} if result is None else result)

    return wrapped


def add_admin_routes(app: web.Application, emu: AdministeredEmulator) -> None:
    """Register the admin routes of ``emu`` on ``app``."""

    async def health(request: web.Request) -> Any:
        return {"ok": True, "venues": emu.venues(), "url": emu.url}

    async def requests(request: web.Request) -> Any:
        venue = request.query.get("venue")
        return [r.model_dump(mode="json") for r in emu.requests(venue)]

    async def clear_requests(request: web.Request) -> None:
        emu.clear_requests()

    async def violations(request: web.Request) -> Any:
        return {v: emu.violations(v) for v in emu.venues()}

    async def get_account(request: web.Request) -> Any:
        return emu.account(request.match_info["venue"]).model_dump(mode="json")

    async def put_account(request: web.Request) -> None:
        emu.set_account(request.match_info["venue"], await request.json())

    async def put_scenario(request: web.Request) -> None:
        emu.load(await request.json())

    async def get_faults(request: web.Request) -> Any:
        return [f.model_dump(mode="json") for f in emu.faults(request.match_info["venue"])]

    async def add_fault(request: web.Request) -> None:
        emu.inject(request.match_info["venue"], await request.json())

    async def clear_faults(request: web.Request) -> None:
        emu.clear_faults(request.match_info.get("venue"))

    async def put_clock(request: web.Request) -> None:
        body = await request.json()
        emu.set_clock_offset(request.match_info["venue"], float(body["offset_s"]))

    async def put_limits(request: web.Request) -> None:
        emu.set_limits(request.match_info["venue"], RateLimits.model_validate(await request.json()))

    async def ban(request: web.Request) -> None:
        body = await request.json()
        emu.ban(request.match_info["venue"], float(body["seconds"]))

    async def reset(request: web.Request) -> None:
        emu.reset()

    r = app.router
    r.add_get("/__admin/health", _json(health))
    r.add_get("/__admin/requests", _json(requests))
    r.add_delete("/__admin/requests", _json(clear_requests))
    r.add_get("/__admin/violations", _json(violations))
    r.add_get("/__admin/accounts/{venue}", _json(get_account))
    r.add_put("/__admin/accounts/{venue}", _json(put_account))
    r.add_put("/__admin/scenario", _json(put_scenario))
    r.add_get("/__admin/faults/{venue}", _json(get_faults))
    r.add_post("/__admin/faults/{venue}", _json(add_fault))
    r.add_delete("/__admin/faults", _json(clear_faults))
    r.add_delete("/__admin/faults/{venue}", _json(clear_faults))
    r.add_put("/__admin/clock/{venue}", _json(put_clock))
    r.add_put("/__admin/limits/{venue}", _json(put_limits))
    r.add_post("/__admin/ban/{venue}", _json(ban))
    r.add_post("/__admin/reset", _json(reset))


class EmulatorAdminClient:
    """Drive a running emulator from another process (blocking, standard library only).

    Args:
        url: the emulator's root URL, e.g. ``http://127.0.0.1:8765``.
        timeout_s: per-call timeout.
    """

    def __init__(self, url: str, timeout_s: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("error", e.reason)
            raise ConfigError(f"exchange emulator admin {method} {path}: {detail}") from None

    def health(self) -> dict:
        return self._call("GET", "/__admin/health")

    def set_account(self, venue: str, account: VenueAccount | dict) -> None:
        body = account.model_dump(mode="json") if isinstance(account, VenueAccount) else account
        self._call("PUT", f"/__admin/accounts/{venue}", body)

    def account(self, venue: str) -> VenueAccount:
        return VenueAccount.model_validate(self._call("GET", f"/__admin/accounts/{venue}"))

    def load(self, scenario: dict) -> None:
        self._call("PUT", "/__admin/scenario", scenario)

    def inject(self, venue: str, fault: Fault | dict) -> None:
        body = fault.model_dump(mode="json") if isinstance(fault, Fault) else fault
        self._call("POST", f"/__admin/faults/{venue}", body)

    def clear_faults(self, venue: str | None = None) -> None:
        self._call("DELETE", "/__admin/faults" + (f"/{venue}" if venue else ""))

    def set_clock_offset(self, venue: str, offset_s: float) -> None:
        self._call("PUT", f"/__admin/clock/{venue}", {"offset_s": offset_s})

    def set_limits(self, venue: str, limits: RateLimits) -> None:
        self._call("PUT", f"/__admin/limits/{venue}", limits.model_dump(mode="json"))

    def ban(self, venue: str, seconds: float) -> None:
        self._call("POST", f"/__admin/ban/{venue}", {"seconds": seconds})

    def requests(self, venue: str | None = None) -> list[RequestRecord]:
        query = f"?venue={venue}" if venue else ""
        rows = self._call("GET", "/__admin/requests" + query)
        return [RequestRecord.model_validate(r) for r in rows]

    def violations(self) -> dict[str, int]:
        return self._call("GET", "/__admin/violations")

    def reset(self) -> None:
        self._call("POST", "/__admin/reset")
