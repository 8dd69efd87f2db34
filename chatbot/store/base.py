"""Conversation state: the ``Store`` protocol, its errors, and what one step writes.

A conversation is one document (a plain dict) keyed ``channel:user_id``. Every
message is one atomic read-modify-write of that document: a step function
reads it and returns a ``Change``, and the store writes it back only if nobody
wrote it meanwhile, or not at all. What a change writes besides the document
(the entry in the wake index that outreach queries by time, records filed in
queues) is decided once, here, by ``plan``; each backend only translates the
``Writes`` it returns into SQL or one Firestore batch.

The store knows nothing of the engine or of delivery: two fields of the
document matter to it, ``wake.at`` and ``active``, through ``wake_due``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

WAKES = "reminders"  # the wake index's table or collection (its name from before wakes were general)
CONVERSATIONS = "conversations"
QUEUES = ("suggestions", "reports")  # queues that hold what a person sent: erased with the person
RECEIPTS = "deletions"  # what a deletion removed and when, found by its code; no user id in it
DELETE = object()  # in ``Store.patch``: remove this field
DAY = 24 * 3600
RETENTION_DAYS = 400  # the default: a conversation idle for ~13 months, and any filed record that old, expires
TOMBSTONE_SECONDS = 2 * DAY  # a forgotten person's event ids, kept so a redelivery is not applied twice
SERVICE_KEYS = "settings:"  # documents of the service itself, not of a person: they never expire
FORGOTTEN = "forgotten_at"  # marks a tombstone: event ids and unsent replies only, nothing about the person


class StoreUnavailable(RuntimeError):
    """The store could not be reached, refused us, or failed in a way we did not expect:
    nothing was recorded, so the platform must retry later (503)."""

    def __init__(self, message: str, contention: bool = False):
        super().__init__(message)
        self.contention = contention  # another writer won the document; worth retrying now


class StoreError(StoreUnavailable):
    """The store refused for a reason a retry will not fix soon (permissions, a missing
    database). Still nothing was recorded: callers answer it like any unavailability."""


@dataclass
class Change:
    """What a step wants written: the whole new document, and records filed with it."""

    doc: dict | None  # None (with ``erase``) deletes the document
    filed: list[tuple[str, dict]] = field(default_factory=list)  # (queue, record)
    erase: bool = False  # the person is forgotten: what they filed and their wake go with the document


@dataclass
class Writes:
    """Everything one committed step writes, atomically."""

    key: str
    doc: dict | None  # None: delete the document
    wake_changed: bool  # the wake index entry must follow
    wake_due: float | None  # its new due time; None removes it
    filed: list[tuple[str, dict]]
    erase: bool = False  # delete every record of QUEUES this conversation filed

    @property
    def filed_as(self) -> str:
        """The conversation new records are linked to: none for an erasing write's receipts."""
        return "" if self.erase else self.key


Step = Callable[[dict | None], "tuple[Change | None, Any]"]
Where = list[tuple[str, str, Any]]  # (dotted field path, "==" ">=" ">" "<" or "contains", value), all of them true
WHERE_OPS = ("==", ">=", ">", "<", "contains")


def wake_due(doc: dict | None) -> float | None:
    """When outreach should next look at this conversation; None when never."""
    if not doc or doc.get("active") is False:
        return None
    wake = doc.get("wake") or {}
    return float(wake["at"]) if wake.get("at") else None


def plan(key: str, before: dict | None, change: Change) -> Writes:
    """The rule for what a change writes, for every backend."""
    due = wake_due(change.doc)
    changed = due != wake_due(before) or change.erase
    return Writes(
        key=key, doc=change.doc, wake_changed=changed, wake_due=due, filed=list(change.filed), erase=change.erase
    )


def expires_at(key: str, doc: dict, now: float, retention_days: float) -> float | None:
    """When a written document may be deleted: a tombstone soon, a conversation after the retention
    period, the service's own settings (the web identities' signing key) never."""
    if key.startswith(SERVICE_KEYS):
        return None
    return now + (TOMBSTONE_SECONDS if doc.get(FORGOTTEN) else retention_days * DAY)


class Store(Protocol):
    """What a conversation needs: read and write its one document atomically, and a clock every
    process sharing the store agrees on. A backend with these five runs the bot; the interfaces
    below add reminders, the owner's queries and expiry."""

    def transact(self, key: str, step: Step, *, token: str = "", fresh: bool = False) -> Any:
        """Read the document (None if missing), run ``step`` and, if it returns a change,
        write it and its ``plan`` atomically. ``step`` may run more than once on contention,
        so it must not act outside its return value. With ``token``, the store remembers
        which version it wrote, for a later ``patch`` under the same token. ``fresh``: the
        event usually comes from someone never seen (a Get Started tap, a /start), so a store
        may try creating the document before reading it."""

    def patch(self, key: str, token: str, fields: dict[tuple[str, ...], Any], step: Step) -> None:
        """Set (or ``DELETE``) fields of a document this store wrote under ``token``, without
        reading it, if nobody wrote it since; otherwise run ``step`` as ``transact`` would.
        ``fields`` must not touch what ``plan`` reads (``wake``, ``active``). A backend for which
        a read costs nothing may simply run ``step``."""

    def load(self, key: str) -> dict | None: ...

    def now(self) -> float:
        """The store's time, in seconds: the same for every instance sharing the store, and not moved
        by a machine's wall clock jumping. Claims on replies (who is sending them, until when) are
        judged by it, never by one instance's own clock."""

    def close(self) -> None: ...


def service_clock(store: Store | None) -> Callable[[], float]:
    """The time the service works by (when a reminder is due, when an announcement may go, how old a
    message is): the store's, so that two instances whose own clocks disagree agree on it. Should the
    store not be able to say (unreachable before it ever answered), this machine's clock: a request
    that needs the store fails on the store itself, and answers 503."""
    if store is None:
        return time.time

    def clock() -> float:
        try:
            return store.now()
        except Exception:  # whatever a broken store raises: the claims themselves still ask it, and fail
            return time.time()

    return clock


class WakeIndex(Protocol):
    """When conversations want the bot to speak first (``plan`` keeps it with every write), for
    the scheduled job: what is due, leased to one run at a time."""

    def due(self, now: float, limit: int) -> list[tuple[str, object]]:
        """(key, version) of wakes due by ``now`` and not leased, oldest first."""

    def claim_due(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        """Lease a due wake to this run; its due time, or None if it is not due or someone has it."""

    def release_due(self, key: str, claim: str) -> None:
        """Give a claimed wake back (its send failed): the next run retries it."""


class OwnerQueries(Protocol):
    """What the owner's side reads across conversations: filed records (suggestions, reports,
    receipts), counts and sums for the stats, and the audience of a broadcast."""

    def filed(self, queue: str, limit: int = 100) -> list[dict]:
        """The newest records of a queue, newest first, each with ``conversation`` and ``created_at``."""

    def filed_by(self, key: str) -> dict[str, int]:
        """How many records of each of QUEUES this conversation filed (the ones an erase deletes)."""

    def find(self, queue: str, record_id: str) -> dict | None:
        """The record filed with this ``id`` field (a receipt, say), or None."""

    def count(self, where: Where) -> int:
        """How many conversation documents match (one aggregation query on Firestore)."""

    def sums(self, fields: list[str], where: Where | None = None) -> dict[str, float]:
        """The sum of each numeric field over the matching conversation documents (missing counts 0)."""

    def scan(self, fields: list[str], where: Where) -> list[dict]:
        """The given fields (dotted paths, keys of the result) of every matching conversation document."""


class Expiring(Protocol):
    def sweep(self, now: float) -> int:
        """Delete what expired (past ``expire_at`` or the retention period); how many records went.
        Firestore's TTL policy does this by itself there."""


class Backend(Store, WakeIndex, OwnerQueries, Expiring, Protocol):
    """Everything both backends here implement (SQLite and Firestore), and the service uses."""
