"""The sandbox's name for `factory.environ.scoped_environ` (the sandbox starts Ray with its
credentials in a scoped environment)."""

from __future__ import annotations

from factory.environ import scoped_environ

__all__ = ["scoped_environ"]
