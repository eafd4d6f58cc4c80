"""The import-cycle check of `make lint` (.ci/import_cycles.py) finds cycles, lazy ones too."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "import_cycles.py"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package(root: Path, name: str, files: dict[str, str]) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    for module, text in files.items():
        (root / name / f"{module}.py").write_text(text)


def test_a_cycle_through_an_import_inside_a_function_is_reported(checker, tmp_path, monkeypatch):
    package(tmp_path, "tangled", {
        "a": "import tangled.b\n",
        "b": "def later():\n    from tangled import c\n",
        "c": "from tangled.a import *\n",
        "d": "import tangled.a\n",  # imports the cycle, is not part of it
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    assert checker.find_cycles("tangled") == [["tangled.a", "tangled.b", "tangled.c", "tangled.a"]]


def test_every_module_of_two_interleaved_cycles_is_named(checker, tmp_path, monkeypatch):
    package(tmp_path, "knot", {
        "a": "import knot.b\nimport knot.c\n",
        "b": "import knot.a\n",
        "c": "import knot.a\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = checker.find_cycles("knot")
    assert cycles == [["knot.a", "knot.b", "knot.a"], ["knot.c", "knot.a", "knot.c"]]


def test_the_command_exits_1_and_prints_each_cycle(checker, tmp_path, monkeypatch, capsys):
    package(tmp_path, "loop", {"x": "import loop.y\n", "y": "import loop.x\n"})
    package(tmp_path, "tree", {"x": "import tree.y\n", "y": ""})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert checker.main(["loop"]) == 1
    assert capsys.readouterr().out == "import cycle: loop.x -> loop.y -> loop.x\n"
    assert checker.main(["tree"]) == 0
    assert "no import cycle among tree" in capsys.readouterr().out
    assert "loop" not in sys.modules  # grimp reads the files, it imports nothing
