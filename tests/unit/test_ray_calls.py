"""The Ray boundary's error translation (actors/ray_calls.py `unwrap`), without a Ray cluster.

Ray's own exception classes are raised by hand: what the plain code then sees is the venue's
typed error, or `ActorGoneError` / `ActorRestartingError`.
"""

from __future__ import annotations

import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayTaskError

from actors.ray_calls import NamedVenueActor, RayVenueActors, unwrap
from actors.supervisor import ActorGoneError, ActorRestartingError
from factory.errors import RateLimitedError


def task_error(cause: Exception) -> RayTaskError:
    """What Ray raises in the caller when a remote method raised ``cause``."""
    return RayTaskError("snapshot", "Traceback: remote", cause).as_instanceof_cause()


def test_a_remote_methods_own_typed_error_comes_back_unwrapped():
    cause = RateLimitedError("binance", "429 Too Many Requests", retry_after_s=3.0)
    err = unwrap(task_error(cause), "binance")
    assert type(err) is RateLimitedError and err.retry_after_s == 3.0
    assert str(err) == str(cause)


@pytest.mark.parametrize(("raised", "seen", "text"), [
    (ActorDiedError(), ActorGoneError, "okx: venue actor died"),
    (ActorUnavailableError("restarting", None), ActorRestartingError, "okx: venue actor restarting"),
])
def test_actor_failures_become_the_typed_errors_the_supervisor_knows(raised, seen, text):
    err = unwrap(raised, "okx")
    assert type(err) is seen and str(err) == text and err.venue == "okx"


def test_any_other_failure_is_left_as_it_is():
    err = ValueError("no actor named venue:okx")
    assert unwrap(err, "okx") is err


class Remote:
    """``handle.method.remote(...)`` of a stub actor."""

    def __init__(self, fn):
        self.remote = fn


class DiedHandle:
    """A venue actor handle whose every call fails as Ray reports a dead actor."""

    def __init__(self):
        async def died(*args):
            raise ActorDiedError()

        self.ping = Remote(died)
        self.node_id = Remote(died)
        self.transfers_in_transit = Remote(died)


async def test_a_ping_of_a_dead_actor_raises_gone():
    handle = DiedHandle()
    actors = RayVenueActors({"okx": handle, "bybit": None})
    assert actors.current("okx") is handle and actors.current("bybit") is None
    with pytest.raises(ActorGoneError):
        await actors.ping("okx", handle, 1.0)


async def test_a_dead_cex_actor_is_looked_up_again_on_the_next_read():
    actor = NamedVenueActor("binance")
    actor._handle = DiedHandle()
    with pytest.raises(ActorGoneError, match="binance: venue actor died"):
        await actor.transfers_in_transit(1.0)
    assert actor._handle is None
