"""The SQLite backend of the ``Store`` protocol (see base.py): the embedded default.

One file, WAL, one connection per thread and process. A step runs on what was read without any
lock; its write then takes the write lock (``BEGIN IMMEDIATE``) only to check that the document is
still as read and to write it, or the step runs again on the new one. So nothing slow (the
engine reading a long message) ever runs while other writers wait. The busy timeout makes a
writer wait for the lock rather than fail, within what the request has left (core/deadline.py).

A connection that failed in a way a new one may not (the file was read-only, the disk full, the
directory gone) is closed and opened again on the next call, instead of failing for good.

The store's clock (``now``) is the same for every process on this machine and does not jump when
the wall clock does: the wall time at boot, kept in the file, plus the monotonic clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from typing import Any

from chatbot.core import deadline
from chatbot.store.base import (
    DAY,
    QUEUES,
    RETENTION_DAYS,
    SERVICE_KEYS,
    WHERE_OPS,
    Step,
    StoreUnavailable,
    Where,
    Writes,
    expires_at,
    plan,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    updated_at REAL NOT NULL,
    expire_at REAL
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
CREATE INDEX IF NOT EXISTS filed_by_conversation ON filed (conversation);
CREATE INDEX IF NOT EXISTS filed_by_age ON filed (created_at);
CREATE TABLE IF NOT EXISTS clock (
    boot TEXT PRIMARY KEY,
    base REAL NOT NULL
);
"""
# Files from before retention had an expiry column: added once, then indexed.
EXPIRY_COLUMN = "ALTER TABLE conversations ADD COLUMN expire_at REAL"
EXPIRY_OF_OLD_ROWS = "UPDATE conversations SET expire_at = updated_at + ? WHERE key NOT LIKE ?"
EXPIRY_INDEX = "CREATE INDEX IF NOT EXISTS conversations_by_expiry ON conversations (expire_at)"
SWEEP_EVERY = 3600.0  # seconds between two sweeps of expired records by one process
# Suggestions had a table of their own before queues were general; carried over once.
CARRY_OVER = """
INSERT INTO filed (queue, conversation, record, created_at)
SELECT 'suggestions', conversation, json_object('text', text, 'locale', locale, 'created_at', created_at), created_at
FROM suggestions;
DROP TABLE suggestions;
"""


# Errors after which this thread's connection is not to be trusted again: opened while the file
# was read-only it stays read-only, and a vanished directory or file leaves it pointing at nothing.
REOPEN_AFTER = ("readonly", "read-only", "disk i/o error", "unable to open", "no such table", "not a database")
WRITE_ATTEMPTS = 20  # a step runs again when another writer changed the document since it was read
BOOT_ID = "/proc/sys/kernel/random/boot_id"
CLOCK_RETRY = 5.0  # seconds before the clock's base is asked for again after the file could not give it


def boot_id() -> str:
    """This boot of this machine (Linux); "" where there is none to read."""
    try:
        with open(BOOT_ID, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


class SQLiteStore:
    BUSY_TIMEOUT_MS = 15000

    def __init__(self, path: str, retention_days: float = RETENTION_DAYS):
        self.path = path
        self.retention_days = retention_days
        self._swept = 0.0
        self._local = threading.local()
        self._all: list[tuple[sqlite3.Connection, threading.Thread]] = []  # each with the thread that owns it
        self._lock = threading.Lock()
        self._clock_base: float | None = None
        self._clock_retry = 0.0  # (monotonic) not before then: the last attempt to write the base failed
        self._clock_lock = threading.Lock()

    def now(self) -> float:
        """The store's time: wall time at this boot (the first process to ask keeps it in the file)
        plus the monotonic clock, so every process here agrees and a wall clock that jumps does not
        move it. Without a boot id (not Linux), the wall clock. A file that cannot say raises
        StoreUnavailable (the request answers 503): never this process's own clock in its place."""
        if self._clock_base is None:
            boot = boot_id()
            if not boot:
                return time.time()
            with self._clock_lock:  # one thread asks the file; the others wait for its answer
                if self._clock_base is None:
                    found = self._read("SELECT base FROM clock WHERE boot = ?", [boot])  # a read: no write lock
                    self._clock_base = float(found[0][0]) if found else self._first_base(boot)
        return self._clock_base + time.monotonic()

    def _first_base(self, boot: str) -> float:
        """The first process of this boot writes the base (or finds another's, written meanwhile)."""
        if time.monotonic() < self._clock_retry:
            raise StoreUnavailable("sqlite: the clock's base could not be written a moment ago")
        try:
            with self._immediate() as conn:
                conn.execute("DELETE FROM clock WHERE boot != ?", (boot,))
                base = time.time() - time.monotonic()
                conn.execute("INSERT OR IGNORE INTO clock (boot, base) VALUES (?, ?)", (boot, base))
                return float(conn.execute("SELECT base FROM clock WHERE boot = ?", (boot,)).fetchone()[0])
        except StoreUnavailable:
            self._clock_retry = time.monotonic() + CLOCK_RETRY  # a busy or read-only file: not asked at once again
            raise

    def _forget_connection(self, error: Exception) -> None:
        """Close this thread's connection after an error a fresh one may not have."""
        if not any(sign in str(error).lower() for sign in REOPEN_AFTER):
            return
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._all = [(c, owner) for c, owner in self._all if c is not conn]
            with contextlib.suppress(sqlite3.Error):
                conn.close()

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
            self._all.append((conn, threading.current_thread()))
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL and the tables. Switching a new file to WAL can answer "busy" at once, without
        waiting, when another process does the same: retry for a while instead of failing."""
        for attempt in range(100):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                columns = [row[1] for row in conn.execute("PRAGMA table_info(conversations)")]
                if "expire_at" not in columns:
                    conn.execute(EXPIRY_COLUMN)
                    conn.execute(EXPIRY_OF_OLD_ROWS, (self.retention_days * DAY, SERVICE_KEYS + "%"))
                conn.execute(EXPIRY_INDEX)
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
        or unreachable database becomes StoreUnavailable (the platform retries). It waits for the
        lock at most what the request has left."""
        wait = deadline.left(self.BUSY_TIMEOUT_MS / 1000)
        if wait <= 0:
            raise StoreUnavailable("sqlite: the request's time is up")
        try:
            conn = self._connection()
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as error:
            self._forget_connection(error)
            raise StoreUnavailable(f"sqlite: {error}") from error
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._forget_connection(error)
            raise StoreUnavailable(f"sqlite: {error}") from error
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _read_doc(self, key: str) -> str | None:
        try:
            row = self._connection().execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            self._forget_connection(error)
            raise StoreUnavailable(f"sqlite: {error}") from error
        return row[0] if row else None

    def transact(self, key: str, step: Step, *, token: str = "", fresh: bool = False) -> Any:
        for _ in range(WRITE_ATTEMPTS):
            seen = self._read_doc(key)
            before = json.loads(seen) if seen is not None else None
            change, result = step(before)  # outside the lock: the engine may take its time
            if change is None:
                return result
            now = self.now()  # the store's clock stamps what is kept, as it judges claims
            with self._immediate() as conn:
                row = conn.execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
                if (row[0] if row else None) != seen:
                    continue  # written meanwhile: the step runs again on what is there now
                self._write(conn, plan(key, before, change), now)
            break
        else:
            raise StoreUnavailable("sqlite: the conversation kept changing meanwhile", contention=True)
        if self.now() - self._swept > SWEEP_EVERY:
            # No scheduler needed on a laptop: writes keep the file within retention. The message is
            # already committed, so a busy file only postpones the sweep.
            with contextlib.suppress(StoreUnavailable):
                self.sweep(self.now())
        return result

    def _write(self, conn: sqlite3.Connection, writes: Writes, now: float) -> None:
        key = writes.key
        if writes.erase:
            conn.execute("DELETE FROM filed WHERE conversation = ?", (key,))  # receipts are never linked
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
                (queue, writes.filed_as, json.dumps(record, ensure_ascii=False), record.get("created_at", now)),
            )
        if writes.doc is None:
            conn.execute("DELETE FROM conversations WHERE key = ?", (key,))
            return
        expire = expires_at(key, writes.doc, now, self.retention_days)
        conn.execute(
            "INSERT INTO conversations (key, doc, updated_at, expire_at) VALUES (?, ?, ?, ?) ON CONFLICT(key) "
            "DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, expire_at = excluded.expire_at",
            (key, json.dumps(writes.doc, ensure_ascii=False), now, expire),
        )

    def patch(self, key: str, token: str, fields: dict[tuple[str, ...], Any], step: Step) -> None:
        # Local and cheap: the read that ``fields`` would save costs nothing here, so run the step.
        self.transact(key, step)

    def due(self, now: float, limit: int) -> list[tuple[str, object]]:
        # Due by the caller's clock (the engine's); leased by the store's.
        sql = "SELECT key, due_at FROM reminders WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at LIMIT ?"
        return self._read(sql, [now, self.now(), limit])

    def claim_due(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        store_now = self.now()
        with self._immediate() as conn:
            row = conn.execute("SELECT due_at, lease_until FROM reminders WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] > now or row[1] > store_now:
                return None
            sql = "UPDATE reminders SET lease_until = ?, claim = ? WHERE key = ?"
            conn.execute(sql, (store_now + lease, claim, key))
            return row[0]

    def release_due(self, key: str, claim: str) -> None:
        with self._immediate() as conn:
            conn.execute("UPDATE reminders SET lease_until = 0, claim = NULL WHERE key = ? AND claim = ?", (key, claim))

    def load(self, key: str) -> dict | None:
        doc = self._read_doc(key)
        return json.loads(doc) if doc is not None else None

    def filed(self, queue: str, limit: int = 100) -> list[dict]:
        rows = self._connection().execute(
            "SELECT conversation, record FROM filed WHERE queue = ? ORDER BY id DESC LIMIT ?", (queue, limit)
        )
        return [{"conversation": conversation, **json.loads(record)} for conversation, record in rows]

    def filed_by(self, key: str) -> dict[str, int]:
        rows = self._connection().execute(
            "SELECT queue, COUNT(*) FROM filed WHERE conversation = ? GROUP BY queue", (key,)
        )
        return {queue: count for queue, count in rows if queue in QUEUES}

    def find(self, queue: str, record_id: str) -> dict | None:
        row = (
            self._connection()
            .execute(
                "SELECT conversation, record FROM filed WHERE queue = ? AND json_extract(record, '$.id') = ? LIMIT 1",
                (queue, record_id),
            )
            .fetchone()
        )
        return {"conversation": row[0], **json.loads(row[1])} if row else None

    def sweep(self, now: float) -> int:
        """Expired conversations, filed records past the retention period, wakes left without a conversation."""
        self._swept = now
        oldest = now - self.retention_days * DAY
        with self._immediate() as conn:
            gone = conn.execute("DELETE FROM conversations WHERE expire_at <= ?", (now,)).rowcount
            gone += conn.execute("DELETE FROM filed WHERE created_at <= ?", (oldest,)).rowcount
            gone += conn.execute("DELETE FROM reminders WHERE key NOT IN (SELECT key FROM conversations)").rowcount
        return gone

    def _read(self, sql: str, args: list):
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.Error as error:
            self._forget_connection(error)
            raise StoreUnavailable(f"sqlite: {error}") from error

    def count(self, where: Where) -> int:
        clause, args = conditions(where)
        return self._read(f"SELECT COUNT(*) FROM conversations{clause}", args)[0][0]  # noqa: S608 - fixed SQL

    def sums(self, fields: list[str], where: Where | None = None) -> dict[str, float]:
        clause, args = conditions(where or [])
        columns = ", ".join("TOTAL(json_extract(doc, ?))" for _ in fields)
        row = self._read(f"SELECT {columns} FROM conversations{clause}", [*(json_path(f) for f in fields), *args])[0]  # noqa: S608
        return {name: value for name, value in zip(fields, row, strict=True)}

    def scan(self, fields: list[str], where: Where) -> list[dict]:
        clause, args = conditions(where)
        columns = ", ".join("doc -> ?" for _ in fields)
        rows = self._read(f"SELECT {columns} FROM conversations{clause}", [*(json_path(f) for f in fields), *args])  # noqa: S608
        return [{f: json.loads(v) if v is not None else None for f, v in zip(fields, row, strict=True)} for row in rows]

    def close(self) -> None:
        """Close the connections no other live thread may be using: this thread's, and those of threads
        that have ended. Another live thread's is left to it (closing a connection under a running
        statement crashes the process); it is dropped and forgotten here."""
        with self._lock:
            for conn, owner in self._all:
                if owner is threading.current_thread() or not owner.is_alive():
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
            self._all.clear()
        self._local = threading.local()


def json_path(field: str) -> str:
    if not all(part.replace("_", "").isalnum() for part in field.split(".")):
        raise ValueError(f"not a field path: {field!r}")
    return "$." + field


def conditions(where: Where) -> tuple[str, list]:
    """A WHERE clause from (field, op, value) triples; field paths and operators are checked, values bound."""
    parts, args = [], []
    for field, op, value in where:
        if op not in WHERE_OPS:
            raise ValueError(f"not an operator: {op!r}")
        if op == "contains":
            parts.append("EXISTS (SELECT 1 FROM json_each(doc, ?) WHERE value = ?)")
        else:
            parts.append(f"json_extract(doc, ?) {'=' if op == '==' else op} ?")
        args += [json_path(field), value]
    return (" WHERE " + " AND ".join(parts) if parts else ""), args
