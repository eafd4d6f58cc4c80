"""No silent skips: a skipped test that is not in tests/skips_allowed.txt fails the run.

A skip that is truly environmental is listed in ``tests/skips_allowed.txt``, one per line, as
``<node id or prefix>  # <reason: what the test needs>``; an entry without a reason is refused.
The hooks here are imported by tests/conftest.py, so ``make test``, ``.ci/run`` and a plain
``pytest`` all apply them; ``pytest -p tests.skipguard`` applies them to any other test tree.
Expected failures (``xfail``) are not skips and are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = [
    "ALLOWLIST",
    "allowed",
    "pytest_make_collect_report",
    "pytest_runtest_makereport",
    "read_allowlist",
]

#: the allow-list file (``BASIS_SKIPS_ALLOWED`` names another, for the guard's own tests)
ALLOWLIST = Path(__file__).resolve().parent / "skips_allowed.txt"


def read_allowlist(path: Path | None = None) -> dict[str, str]:
    """Return ``{node id or prefix: reason}`` from the allow-list file.

    Raises:
        pytest.UsageError: a line has no ``# reason``.
    """
    path = path or Path(os.environ.get("BASIS_SKIPS_ALLOWED", ALLOWLIST))
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for n, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        node, _, reason = text.partition("#")
        if not reason.strip():
            raise pytest.UsageError(f"{path}:{n}: '{node.strip()}' needs '# reason'")
        out[node.strip()] = reason.strip()
    return out


def allowed(nodeid: str, allowlist: dict[str, str]) -> bool:
    """Return True when ``nodeid`` or one of its parents is listed."""
    return any(nodeid == n or nodeid.startswith((n + "::", n.rstrip("/") + "/"))
               for n in allowlist)


def _fail_unlisted(report, nodeid: str) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if allowed(nodeid, read_allowlist()):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"{nodeid} was skipped ({reason}) and is not listed in "
                       f"{ALLOWLIST.name}: a skip hides a test; make it run, or list it with "
                       "the reason and what it needs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Turn an unlisted skip of a test into a failure."""
    outcome = yield
    _fail_unlisted(outcome.get_result(), item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Turn an unlisted skip of a whole module (``pytest.skip(allow_module_level=True)``) into a
    failure."""
    outcome = yield
    _fail_unlisted(outcome.get_result(), collector.nodeid)
