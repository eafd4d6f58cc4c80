"""Snapshot history in an embedded database (SQLite file by default).

Every PortfolioSnapshot is one row (JSON) written in its own transaction, WAL journal, so a
monitor restart or a crash mid-write loses nothing already committed. Supervisor events
(a venue actor replaced, a venue going down) go to their own table. The file's SQLite header
carries this project's ``application_id``; any other file is refused untouched (store_guard).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from actors.store_guard import APPLICATION_ID, SCHEMA_VERSION, check_history_path
from factory.positions import PortfolioSnapshot, VenueSnapshot, utc

__all__ = ["SnapshotStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    execution_mode TEXT NOT NULL,
    complete INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_ts ON snapshots (ts);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    venue TEXT,
    kind TEXT NOT NULL,
    detail TEXT
);
"""


class SnapshotStore:
    """Append-only history of portfolio snapshots and supervisor events.

    Args:
        path: the database file (parent folders are created); ``:memory:`` for tests. Only an
            absent file or a database this project created is opened (`check_history_path`).

    Raises:
        ConfigError: the path is a directory, not writable, or a file of something else
            (left untouched).
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        kind = check_history_path(self.path)  # refuses a foreign file before any write
        if kind == "create":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if kind in ("memory", "create", "legacy"):
            # the id goes into the header before WAL, so the main file carries it at once
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(self, snapshot: PortfolioSnapshot) -> int:
        """Persist one snapshot in its own transaction; return its row id."""
        body = snapshot.model_dump_json()
        with self._lock:
            cur = self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO snapshots (ts, execution_mode, complete, body) VALUES (?,?,?,?)",
                    (snapshot.timestamp.timestamp(), snapshot.execution_mode,
                     int(snapshot.complete), body),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if cur.lastrowid is None:
            raise RuntimeError("the store's insert gave no row id")
        return cur.lastrowid

    def query(
        self, start: datetime | str | float | None = None, end: datetime | str | float | None = None,
        limit: int | None = None,
    ) -> list[PortfolioSnapshot]:
        """Return snapshots with ``start <= timestamp <= end``, oldest first."""
        lo = utc(start).timestamp() if start is not None else float("-inf")
        hi = utc(end).timestamp() if end is not None else float("inf")
        sql = "SELECT body FROM snapshots WHERE ts >= ? AND ts <= ? ORDER BY ts, id"
        args: tuple = (lo, hi)
        if limit is not None:
            sql += " LIMIT ?"
            args += (int(limit),)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [PortfolioSnapshot.model_validate_json(r[0]) for r in rows]

    def last_good(self, venues: list[str] | tuple[str, ...], batch: int = 256
                  ) -> dict[str, VenueSnapshot]:
        """Return each venue's most recent fresh (``ok``) snapshot in the history.

        Rows are read newest first, in batches, until every venue is found or the history is
        exhausted; a venue never seen fresh is absent from the result. The snapshots keep their
        original values and ``fetched_at``, so a restarted monitor knows their true age.
        """
        wanted = set(venues)
        found: dict[str, VenueSnapshot] = {}
        below = None
        while wanted - set(found):
            sql = "SELECT id, body FROM snapshots"
            args: tuple = ()
            if below is not None:
                sql += " WHERE id < ?"
                args = (below,)
            with self._lock:
                rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?",
                                        (*args, batch)).fetchall()
            if not rows:
                break
            for row_id, body in rows:
                venues_in_row = json.loads(body).get("venues") or {}
                for venue in wanted - set(found):
                    raw = venues_in_row.get(venue)
                    if raw and raw.get("status") == "ok":
                        found[venue] = VenueSnapshot.model_validate(raw)
                below = row_id
        return found

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])

    def record_event(self, kind: str, venue: str | None = None, detail: dict | None = None,
                     ts: datetime | None = None) -> None:
        """Persist a supervisor event."""
        with self._lock:
            self._db.execute(
                "INSERT INTO events (ts, venue, kind, detail) VALUES (?,?,?,?)",
                (utc(ts).timestamp(), venue, kind, json.dumps(detail or {}, default=str)),
            )

    def events(self, kind: str | None = None) -> list[dict]:
        sql = "SELECT ts, venue, kind, detail FROM events"
        args: tuple = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [{"ts": utc(r[0]), "venue": r[1], "kind": r[2], "detail": json.loads(r[3])}
                for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
