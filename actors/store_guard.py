"""Which files the history store may open: its own databases, or a new file.

A history database created by this project carries SQLite's ``application_id`` `APPLICATION_ID`
and ``user_version`` `SCHEMA_VERSION` in its header. `check_history_path` reads only the first
100 bytes of an existing file (the SQLite header) and the directory entries, so a file it refuses
is left exactly as it was: no WAL switch, no table, no ``-wal``/``-shm`` file beside it.

Accepted:

- an absent file whose directory exists (or can be created) and is writable: ``"create"``;
- a SQLite file with this project's application id and a schema version it knows: ``"open"``;
- a file written by the first versions of the store, before the header carried the id
  (application id 0, user version 0) whose objects are exactly the store's tables and index
  with exactly its columns: ``"legacy"`` (the store stamps the id on open).

Refused, with one line naming the path: a directory, an unwritable location, an empty file,
a file that is not SQLite, another application's SQLite file, a newer schema version.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from factory.errors import ConfigError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "HistoryFileKind", "check_history_path"]

#: SQLite ``PRAGMA application_id`` of a basis-monitor history file: ASCII "BASI".
APPLICATION_ID = 0x42415349
#: SQLite ``PRAGMA user_version``: the layout of the store's tables.
SCHEMA_VERSION = 1

HistoryFileKind = Literal["memory", "create", "open", "legacy"]

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
#: The objects and columns of the store's first layout (schema version 1 has the same).
_LEGACY_OBJECTS = {
    ("table", "snapshots"), ("index", "snapshots_ts"), ("table", "events"),
    ("table", "sqlite_sequence"),
}
_LEGACY_COLUMNS = {
    "snapshots": ["id", "ts", "execution_mode", "complete", "body"],
    "events": ["id", "ts", "venue", "kind", "detail"],
}


def check_history_path(path: str | Path) -> HistoryFileKind:
    """Decide whether the history store may use ``path``, without writing to it.

    Returns:
        ``"memory"`` for ``:memory:``, ``"create"`` for an absent file, ``"open"`` for this
        project's database, ``"legacy"`` for a database of the first store layout.

    Raises:
        ConfigError: one line naming the path and what is wrong with it.
    """
    text = str(path)
    if text == ":memory:":
        return "memory"
    p = Path(text)
    if p.is_dir():
        raise ConfigError(f"{text}: is a directory, expected a history database file")
    if not p.exists():
        if p.is_symlink():
            raise ConfigError(f"{text}: is a symbolic link to a missing file")
        _check_creatable(p, text)
        return "create"
    if not p.is_file():
        raise ConfigError(f"{text}: is not a regular file, expected a history database")
    if not os.access(p, os.R_OK | os.W_OK) or not os.access(p.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{text}: not writable (the history store appends to it)")
    try:
        with open(p, "rb") as f:
            header = f.read(_HEADER_SIZE)
    except OSError as e:
        raise ConfigError(f"{text}: cannot read: {e.strerror or e}") from None
    if not header:
        raise ConfigError(f"{text}: empty file, not a history database (remove it or use "
                          "another path)")
    if len(header) < _HEADER_SIZE or not header.startswith(_MAGIC):
        raise ConfigError(f"{text}: not a SQLite database; refusing to write history into it")
    user_version = int.from_bytes(header[60:64], "big")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id == APPLICATION_ID:
        if user_version > SCHEMA_VERSION:
            raise ConfigError(f"{text}: history schema version {user_version} is newer than "
                              f"this program's ({SCHEMA_VERSION})")
        return "open"
    if app_id != 0:
        raise ConfigError(f"{text}: SQLite database of another application (application_id "
                          f"0x{app_id:08x}); refusing to write history into it")
    if user_version == 0 and _has_legacy_schema(p):
        return "legacy"
    raise ConfigError(f"{text}: SQLite database without basis-monitor's tables; refusing to "
                      "write history into it")


def _check_creatable(p: Path, text: str) -> None:
    """Refuse an absent path whose nearest existing ancestor is no writable directory."""
    ancestor = p.parent
    while not ancestor.exists():
        if ancestor == ancestor.parent:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{text}: cannot create: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{text}: cannot create: directory {ancestor} is not writable")
    try:  # access() says yes to root even where nothing can be created; ask the filesystem
        fd, probe = tempfile.mkstemp(prefix=".basis-probe-", dir=ancestor)
    except OSError as e:
        raise ConfigError(f"{text}: cannot create: directory {ancestor} is not writable "
                          f"({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)


def _has_legacy_schema(p: Path) -> bool:
    """True when the file's objects and columns are exactly the store's first layout."""
    uri = f"file:{quote(str(p.resolve()))}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return False
    try:
        objects = {(t, n) for t, n in db.execute("SELECT type, name FROM sqlite_master")}
        if objects != _LEGACY_OBJECTS:
            return False
        for table, columns in _LEGACY_COLUMNS.items():
            found = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            if found != columns:
                return False
        return True
    except sqlite3.Error:
        return False
    finally:
        db.close()
