"""The SQLite backend of the ``Store`` protocol (see store.py): the embedded default.

One file, WAL, one connection per thread and process. ``BEGIN IMMEDIATE`` takes
the write lock up front, so concurrent messages from one user (or many)
serialize instead of failing on upgrade; the busy timeout makes them wait
rather than error while another transaction runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from typing import Any

from store import Step, StoreUnavailable, Writes, plan

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reminders (
    key TEXT PRIMARY KEY,
    due_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    claim TEXT
);
CREATE INDEX IF NOT EXISTS reminders_by_due ON reminders (due_at);
CREATE TABLE IF NOT EXISTS filed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    conversation TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS filed_by_queue ON filed (queue, id);
"""
# Suggestions had a table of their own before queues were general; carried over once.
CARRY_OVER = """
INSERT INTO filed (queue, conversation, record, created_at)
SELECT 'suggestions', conversation, json_object('text', text, 'locale', locale, 'created_at', created_at), created_at
FROM suggestions;
DROP TABLE suggestions;
"""


class SQLiteStore:
    BUSY_TIMEOUT_MS = 15000

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if self.path != ":memory:" and os.path.dirname(self.path):
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._prepare(conn)
            self._all.append(conn)
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL and the tables. Switching a new file to WAL can answer "busy" at once, without
        waiting, when another process does the same: retry for a while instead of failing."""
        for attempt in range(100):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                old = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'suggestions'")
                if old.fetchone():
                    conn.executescript("BEGIN IMMEDIATE;" + CARRY_OVER + "COMMIT;")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error) or attempt == 99:
                    raise
                time.sleep(0.05)

    @contextlib.contextmanager
    def _immediate(self):
        """A write transaction: committed if the block returns, rolled back if it raises; a locked
        or unreachable database becomes StoreUnavailable (the platform retries)."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as error:
            raise StoreUnavailable(f"sqlite: {error}") from error
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"sqlite: {error}") from error
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def transact(self, key: str, step: Step, *, token: str = "") -> Any:
        with self._immediate() as conn:
            row = conn.execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
            before = json.loads(row[0]) if row else None
            change, result = step(before)
            if change is not None:
                self._write(conn, plan(key, before, change))
            return result

    def _write(self, conn: sqlite3.Connection, writes: Writes) -> None:
        key = writes.key
        if writes.wake_changed and writes.wake_due is None:
            conn.execute("DELETE FROM reminders WHERE key = ?", (key,))
        elif writes.wake_changed:
            conn.execute(
                "INSERT INTO reminders (key, due_at, lease_until, claim) VALUES (?, ?, 0, NULL) "
                "ON CONFLICT(key) DO UPDATE SET due_at = excluded.due_at, lease_until = 0, claim = NULL",
                (key, writes.wake_due),
            )
        for queue, record in writes.filed:
            conn.execute(
                "INSERT INTO filed (queue, conversation, record, created_at) VALUES (?, ?, ?, ?)",
                (queue, key, json.dumps(record, ensure_ascii=False), record.get("created_at", time.time())),
            )
        conn.execute(
            "INSERT INTO conversations (key, doc, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
            (key, json.dumps(writes.doc, ensure_ascii=False), time.time()),
        )

    def patch(self, key: str, token: str, fields: dict[tuple[str, ...], Any], step: Step) -> None:
        # Local and cheap: the read that ``fields`` would save costs nothing here, so run the step.
        self.transact(key, step)

    def due(self, now: float, limit: int) -> list[tuple[str, float]]:
        rows = self._connection().execute(
            "SELECT key, due_at FROM reminders WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at LIMIT ?",
            (now, now, limit),
        )
        return list(rows)

    def claim_due(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        with self._immediate() as conn:
            row = conn.execute("SELECT due_at, lease_until FROM reminders WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] > now or row[1] > now:
                return None
            conn.execute("UPDATE reminders SET lease_until = ?, claim = ? WHERE key = ?", (now + lease, claim, key))
            return row[0]

    def release_due(self, key: str, claim: str) -> None:
        with self._immediate() as conn:
            conn.execute("UPDATE reminders SET lease_until = 0, claim = NULL WHERE key = ? AND claim = ?", (key, claim))

    def load(self, key: str) -> dict | None:
        try:
            row = self._connection().execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"sqlite: {error}") from error
        return json.loads(row[0]) if row else None

    def filed(self, queue: str, limit: int = 100) -> list[dict]:
        rows = self._connection().execute(
            "SELECT conversation, record FROM filed WHERE queue = ? ORDER BY id DESC LIMIT ?", (queue, limit)
        )
        return [{"conversation": conversation, **json.loads(record)} for conversation, record in rows]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
