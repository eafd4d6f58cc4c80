"""The history store opens only a new file or a database this project created; anything else is
refused with one line and left exactly as it was (bytes, mtime, no -wal/-shm beside it)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from actors.store import SnapshotStore
from actors.store_guard import APPLICATION_ID, SCHEMA_VERSION, check_history_path
from factory.errors import ConfigError
from factory.positions import PortfolioSnapshot, utc

LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, execution_mode TEXT NOT NULL,
    complete INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS snapshots_ts ON snapshots (ts);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, venue TEXT, kind TEXT NOT NULL,
    detail TEXT);
"""


def snapshot(ts: float = 0.0) -> PortfolioSnapshot:
    return PortfolioSnapshot(timestamp=utc(ts), execution_mode="live")


def header_ids(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:100]
    return int.from_bytes(head[68:72], "big"), int.from_bytes(head[60:64], "big")


def foreign_sqlite(path: Path, app_id: int = 0) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA application_id={app_id}")
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('keep me')")
    db.commit()
    db.close()


def state(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def test_a_new_store_carries_the_project_id_in_its_header(tmp_path):
    path = tmp_path / "var" / "history.sqlite"
    assert check_history_path(path) == "create"
    store = SnapshotStore(path)
    store.append(snapshot())
    # read before close: the id is in the main file, not only in the WAL
    assert header_ids(path) == (APPLICATION_ID, SCHEMA_VERSION)
    store.close()
    assert check_history_path(path) == "open"
    assert SnapshotStore(path).count() == 1


def refused_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["empty"] = tmp_path / "empty.sqlite"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.txt"
    files["text"].write_text("my notes, not a database\n")
    files["short"] = tmp_path / "short.sqlite"
    files["short"].write_bytes(b"SQLite format 3\x00")
    files["other_app"] = tmp_path / "other_app.sqlite"
    foreign_sqlite(files["other_app"], app_id=0x12345678)
    files["no_id_other_tables"] = tmp_path / "plain.sqlite"
    foreign_sqlite(files["no_id_other_tables"])
    return files


@pytest.mark.parametrize("kind, fragment", [
    ("empty", "empty file, not a history database"),
    ("text", "not a SQLite database"),
    ("short", "not a SQLite database"),
    ("other_app", "another application (application_id 0x12345678)"),
    ("no_id_other_tables", "without basis-monitor's tables"),
])
def test_a_foreign_file_is_refused_and_left_untouched(tmp_path, kind, fragment):
    path = refused_files(tmp_path)[kind]
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = state(path)
    with pytest.raises(ConfigError) as info:
        SnapshotStore(path)
    assert info.value.problems == [info.value.problems[0]]
    assert info.value.problems[0].startswith(f"{path}: ") and fragment in info.value.problems[0]
    assert state(path) == before


def test_a_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    SnapshotStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match="schema version 2 is newer"):
        SnapshotStore(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        SnapshotStore(tmp_path)


@pytest.mark.parametrize("where", ["file_as_parent", "proc"])
def test_a_path_that_cannot_be_created_is_refused_before_anything_is_written(tmp_path, where):
    parent = tmp_path / "a-file"
    parent.write_text("x")
    path = parent / "h.sqlite" if where == "file_as_parent" else Path("/proc/basis-h.sqlite")
    with pytest.raises(ConfigError, match="cannot create"):
        SnapshotStore(path)
    assert parent.read_text() == "x" and not path.exists()


def test_a_store_of_the_first_layout_is_accepted_and_stamped(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(LEGACY_SCHEMA)
    db.execute("INSERT INTO snapshots (ts, execution_mode, complete, body) VALUES (?,?,?,?)",
               (0.0, "live", 1, snapshot().model_dump_json()))
    db.commit()
    db.close()
    assert check_history_path(path) == "legacy"
    store = SnapshotStore(path)
    assert store.count() == 1
    store.close()
    assert header_ids(path) == (APPLICATION_ID, SCHEMA_VERSION)
    assert check_history_path(path) == "open"


def test_a_first_layout_file_with_an_extra_column_is_not_ours(tmp_path):
    path = tmp_path / "lookalike.sqlite"
    db = sqlite3.connect(path)
    db.executescript(LEGACY_SCHEMA)
    db.execute("ALTER TABLE events ADD COLUMN owner TEXT")
    db.close()
    with pytest.raises(ConfigError, match="without basis-monitor's tables"):
        SnapshotStore(path)


def test_a_store_whose_process_died_without_closing_is_still_recognised(tmp_path):
    path = tmp_path / "h.sqlite"
    script = (
        "import os, sys\n"
        "from actors.store import SnapshotStore\n"
        "from factory.positions import PortfolioSnapshot, utc\n"
        "store = SnapshotStore(sys.argv[1])\n"
        "store.append(PortfolioSnapshot(timestamp=utc(0), execution_mode='live'))\n"
        "os._exit(0)  # no close, no checkpoint: the row is only in the WAL\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert (tmp_path / "h.sqlite-wal").exists()
    assert check_history_path(path) == "open"
    assert SnapshotStore(path).count() == 1
