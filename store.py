"""Conversation state: the ``Store`` protocol and its implementations.

A conversation is one document keyed ``channel:user_id``. Every message is
one atomic read-modify-write of that document: the step function decides
(deduplicate, run the engine, queue replies, claim what to send) and the
store writes it back atomically if nobody else wrote it meanwhile, or not at
all. Sending happens afterwards; ``settle`` then records what went out.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar
from urllib.parse import urlparse

from chat import Conversation

T = TypeVar("T")
Step = Callable[[Conversation], "tuple[bool, T]"]


class StoreUnavailable(RuntimeError):
    """The store could not be reached or was busy: the platform should retry later (503)."""

    def __init__(self, message: str, contention: bool = False):
        super().__init__(message)
        self.contention = contention  # another transaction won the document; worth retrying now


class StoreError(RuntimeError):
    """The store refused for good (permissions, a missing database, a document too large):
    retrying will not help, so the event is logged and acknowledged (200)."""


class Store(Protocol):
    def transact(self, key: str, step: Step) -> T:
        """Load the conversation (a fresh one if missing), run ``step`` and, if it says it
        changed something, write it back atomically. ``step`` may run more than
        once on contention, so it must not have side effects outside the conversation."""

    def settle(self, key: str, claim: str, remaining: dict[str, list], deactivate: bool = False) -> None:
        """After sending: drop the outbox entries this claim finished, keep what is left
        unsent (releasing the claim), and mark the user inactive if the platform said so."""

    def load(self, key: str) -> Conversation | None: ...

    def suggestions(self, limit: int = 100) -> list[dict]: ...

    def due_reminders(self, now: float, limit: int) -> list[tuple[str, object]]:
        """(key, version) of reminders due by ``now`` and not leased, oldest first."""

    def claim_reminder(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        """Lease a due reminder to this run; its due time, or None if it is not due or someone has it."""

    def release_reminder(self, key: str, claim: str) -> None:
        """Give a claimed reminder back (its send failed): the next run retries it."""

    def close(self) -> None: ...


def settle_outbox(conv: Conversation, claim: str, remaining: dict[str, list], deactivate: bool) -> bool:
    """The change ``settle`` makes, shared by every store; True if anything changed."""
    changed = False
    for seq, items in remaining.items():
        entry = conv.outbox.get(seq)
        if entry is None or entry.get("claim") != claim:
            continue
        changed = True
        if items:
            entry.update(items=items, claim=None, lease_until=0)
        else:
            del conv.outbox[seq]
    if deactivate and conv.active:
        conv.active, changed = False, True
    return changed


def open_store(url: str) -> Store:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        return SQLiteStore(path or "chatbot.db")
    if parsed.scheme == "firestore":
        from firestore_store import FirestoreStore

        return FirestoreStore(project=parsed.netloc or None, database=parsed.path.strip("/") or None)
    raise ValueError(f"unknown STORE_URL scheme {parsed.scheme!r}: use sqlite:///PATH or firestore://")


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
CREATE TABLE IF NOT EXISTS suggestions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    text TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class SQLiteStore:
    """The embedded default: one file, WAL, one connection per thread and process.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent messages
    from one user (or many) serialize instead of failing on upgrade; the busy
    timeout makes them wait rather than error while another transaction runs.
    """

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
        except (sqlite3.OperationalError, OSError) as error:
            raise StoreUnavailable(f"sqlite: {error}") from error
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"sqlite: {error}") from error
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _run(self, key: str, step: Callable[[Conversation], tuple[bool, T]]) -> T:
        with self._immediate() as conn:
            row = conn.execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
            conv = Conversation.from_dict(json.loads(row[0])) if row else Conversation(key=key)
            due_before = conv.reminder_due()
            changed, result = step(conv)
            if changed and conv.reminder_due() != due_before:
                # The reminders index follows the conversation, in the same transaction.
                if conv.reminder_due() is None:
                    conn.execute("DELETE FROM reminders WHERE key = ?", (key,))
                else:
                    conn.execute(
                        "INSERT INTO reminders (key, due_at, lease_until, claim) VALUES (?, ?, 0, NULL) "
                        "ON CONFLICT(key) DO UPDATE SET due_at = excluded.due_at, lease_until = 0, claim = NULL",
                        (key, conv.reminder_due()),
                    )
            if changed:
                filed, conv.suggestions = conv.suggestions, []
                for item in filed:
                    conn.execute(
                        "INSERT INTO suggestions (conversation, text, locale, created_at) VALUES (?, ?, ?, ?)",
                        (key, item["text"], item.get("locale", ""), item.get("at", time.time())),
                    )
                conn.execute(
                    "INSERT INTO conversations (key, doc, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                    (key, json.dumps(conv.to_dict(), ensure_ascii=False), time.time()),
                )
            return result

    def transact(self, key: str, step: Callable[[Conversation], tuple[bool, T]]) -> T:
        return self._run(key, step)

    def settle(self, key: str, claim: str, remaining: dict[str, list], deactivate: bool = False) -> None:
        self._run(key, lambda conv: (settle_outbox(conv, claim, remaining, deactivate), None))

    def due_reminders(self, now: float, limit: int) -> list[tuple[str, float]]:
        rows = self._connection().execute(
            "SELECT key, due_at FROM reminders WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at LIMIT ?",
            (now, now, limit),
        )
        return list(rows)

    def claim_reminder(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        with self._immediate() as conn:
            row = conn.execute("SELECT due_at, lease_until FROM reminders WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] > now or row[1] > now:
                return None
            conn.execute("UPDATE reminders SET lease_until = ?, claim = ? WHERE key = ?", (now + lease, claim, key))
            return row[0]

    def release_reminder(self, key: str, claim: str) -> None:
        self._connection().execute(
            "UPDATE reminders SET lease_until = 0, claim = NULL WHERE key = ? AND claim = ?", (key, claim)
        )

    def load(self, key: str) -> Conversation | None:
        row = self._connection().execute("SELECT doc FROM conversations WHERE key = ?", (key,)).fetchone()
        return Conversation.from_dict(json.loads(row[0])) if row else None

    def suggestions(self, limit: int = 100) -> list[dict]:
        rows = self._connection().execute(
            "SELECT conversation, text, locale, created_at FROM suggestions ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [{"conversation": c, "text": t, "locale": loc, "created_at": at} for c, t, loc, at in rows]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
