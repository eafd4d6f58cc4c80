"""No silent skips: an unlisted skip fails the run; a listed one needs its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.skipguard import ALLOWLIST, allowed, read_allowlist

REPO = Path(__file__).resolve().parents[2]
TESTS = '''
import pytest

def test_runs():
    assert 1 + 1 == 2

def test_needs_something():
    pytest.skip("the thing is not here")
'''


def pytest_in(tmp_path, source, allowlist=None):
    (tmp_path / "test_example.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("BASIS_SKIPS_ALLOWED", None)
    if allowlist is not None:
        (tmp_path / "allowed.txt").write_text(allowlist)
        env["BASIS_SKIPS_ALLOWED"] = str(tmp_path / "allowed.txt")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skipguard", "-p", "no:cacheprovider",
         "-q", "test_example.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_an_unlisted_skip_fails_the_run(tmp_path):
    run = pytest_in(tmp_path, TESTS)
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed" in run.stdout
    assert ("test_needs_something was skipped (the thing is not here) and is not listed in "
            "skips_allowed.txt") in run.stdout


def test_a_listed_skip_with_its_reason_is_a_skip(tmp_path):
    run = pytest_in(tmp_path, TESTS,
                    "test_example.py::test_needs_something  # needs the thing installed\n")
    assert run.returncode == 0, run.stdout
    assert "1 passed, 1 skipped" in run.stdout


def test_a_listed_skip_without_a_reason_is_refused(tmp_path):
    run = pytest_in(tmp_path, TESTS, "test_example.py::test_needs_something\n")
    assert run.returncode != 0
    assert "needs '# reason'" in run.stdout + run.stderr


def test_a_module_level_skip_fails_the_run_too(tmp_path):
    source = "import pytest\npytest.skip('no folder', allow_module_level=True)\n"
    run = pytest_in(tmp_path, source + "\ndef test_x():\n    assert True\n")
    assert run.returncode != 0 and "not listed in skips_allowed.txt" in run.stdout


def test_prefixes_cover_their_tests_only():
    listed = {"tests/integration/test_a.py": "r", "tests/unit/test_b.py::test_c": "r"}
    assert allowed("tests/integration/test_a.py::test_x", listed)
    assert allowed("tests/unit/test_b.py::test_c", listed)
    assert not allowed("tests/unit/test_b.py::test_cd", listed)
    assert not allowed("tests/integration/test_ab.py::test_x", listed)


def test_the_projects_allow_list_is_empty_and_ci_runs_make_test():
    assert read_allowlist(ALLOWLIST) == {}
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
