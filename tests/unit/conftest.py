"""Unit tests run the plain classes with no Ray at all: ray.init fails here on purpose."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def ray_init_attempts(monkeypatch) -> list[tuple]:
    """Refuse ``ray.init`` in unit tests and record every attempt (a test may assert none).

    Ray may already be up in this process (integration tests run first in a whole-suite run),
    so "did this command start Ray" is asked of the attempts, not of ``ray.is_initialized()``.
    """
    import ray

    attempts: list[tuple] = []

    def _refuse(*args, **kwargs):
        attempts.append((args, kwargs))
        raise RuntimeError("unit tests must not start Ray; put this test under tests/integration")

    monkeypatch.setattr(ray, "init", _refuse)
    return attempts
