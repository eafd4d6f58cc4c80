"""Strict YAML reading for every file the project loads (modes, venues, sweeps, sandbox).

PyYAML's safe loader keeps the last of two equal keys and recurses once per nesting level, so a
typo'd duplicate silently wins and ``[[[[...`` thousands deep dies with a RecursionError. This
loader refuses both: a duplicate key in one mapping is an error naming its line and the line of
the first one, and nesting deeper than `MAX_DEPTH` is an error naming the line where it happens.
Every failure is a `ConfigError` with one line that starts with the file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from factory.errors import ConfigError

__all__ = ["MAX_DEPTH", "StrictLoader", "parse_yaml", "read_yaml"]

#: Deepest nesting of mappings and lists accepted; the shipped configs use at most 5 levels.
MAX_DEPTH = 64

_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys and nesting deeper than `MAX_DEPTH`."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """Compose one node, counting how deep it sits."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        """Build a mapping after checking that none of its own keys repeats.

        Keys brought in by a ``<<`` merge may be overridden by the mapping's own keys, as YAML
        specifies; only keys written twice in the same mapping are refused.
        """
        if isinstance(node, MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                if seen:
                    raise ConstructorError(
                        None, None,
                        f"duplicate key {key!r} (first at line {first_line[key]})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly.

    Args:
        text: the document.
        source: what to call it in messages (usually the file path).

    Raises:
        ConfigError: one line naming ``source`` (and the line when YAML knows it).
    """
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{source}:{where} invalid YAML: {problem}") from None
    except RecursionError:  # a backstop: the depth limit should stop it first
        raise ConfigError(f"{source}: invalid YAML: nested too deep") from None
    except ValueError as e:  # a scalar YAML cannot construct, e.g. the date 2024-13-45
        raise ConfigError(f"{source}: invalid YAML value: {e}") from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse one YAML file strictly.

    Raises:
        ConfigError: a missing file, a directory, unreadable or non-UTF-8 bytes, invalid YAML,
            a duplicate key or too deep nesting; one line naming the file.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_yaml(text, str(path))
