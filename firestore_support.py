"""What the Firestore backend needs besides its class: errors mapped to the Store's, a bound on
every call, and the stored shapes of documents (``expire_at`` for the TTL policy, document ids)."""

from __future__ import annotations

import functools
import json
import random
import threading
from collections import OrderedDict

import store
from plain import clone
from store import DAY, RETENTION_DAYS, StoreError, StoreUnavailable

EXPIRY_STEP = 3600.0  # the TTL field moves an hour at a time: a conversation's writes within one leave it out
RECENT = 2_000  # conversations whose last write this process made, kept to skip the next message's read
RECENT_MAX_CHARS = 32_768  # a conversation's packed state is 1-3 KiB; a larger one is read each time
STORE_DEADLINE = 8.0  # seconds a request waits for Firestore; the client's own retries run for minutes
CREDENTIALS_HINT = (
    "locally run `gcloud auth application-default login` (or set FIRESTORE_EMULATOR_HOST); on Cloud Run "
    "give the runtime service account roles/datastore.user; check the project and database in STORE_URL"
)


def classify(error: Exception) -> Exception:
    """Map a Google API error to StoreUnavailable (retry later) or StoreError (give up)."""
    from google.api_core import exceptions

    transient = (
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.TooManyRequests,
        exceptions.Aborted,
        exceptions.Unknown,
        exceptions.RetryError,
    )
    message = f"firestore: {type(error).__name__}: {str(error)[:200]}"
    if isinstance(error, exceptions.PermissionDenied | exceptions.Unauthenticated | exceptions.NotFound):
        return StoreError(f"{message} ({CREDENTIALS_HINT})")
    if isinstance(error, exceptions.Aborted):
        return StoreUnavailable(message, contention=True)
    if isinstance(error, transient):
        return StoreUnavailable(message)
    return StoreError(message)


@functools.cache
def bounded() -> dict:
    """Retry and timeout for every call: the client's defaults retry for minutes, far past what any
    caller waits; ``Deadline.limits`` narrows them further to the time a call has left."""
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.ResourceExhausted,
    )
    policy = retry.Retry(predicate=transient, initial=0.1, maximum=1.0, multiplier=2.0, timeout=STORE_DEADLINE)
    return {"retry": policy, "timeout": STORE_DEADLINE}


def timestamp(seconds: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)


# The conversation's parts that no query looks into travel as one JSON string, "packed". The client
# library turns every nested field into a protobuf message of its own, in Python, on each write and
# read: a conversation of a few hundred small fields cost more CPU than all the rest of a message
# (bench/cpu_profile.py). What queries and aggregations read stays a field: key, dates, active,
# news, learning, the profile (patched after a lookup), and under delivery the tally, the
# announcements and the outbox (patched in place).
PACKED = "packed"
PACKED_TOP = frozenset({"state", "slots", "progress", "choices", "dropped", "reminder", "wake", "held", "updated_at"})
PACKED_DELIVERY = frozenset({"events", "next_seq", "payload_keys", "transcript", "flood"})


def to_document(key: str, doc: dict, now: float, retention_days: float = RETENTION_DAYS) -> dict:
    """The stored shape: the queried fields, the rest packed, and when the TTL policy may delete it,
    rounded down to the hour (never later than promised; the policy itself acts within about a day)."""
    packed = {k: doc[k] for k in PACKED_TOP if k in doc}
    data = {k: v for k, v in doc.items() if k not in PACKED_TOP}
    delivery = doc.get("delivery")
    if isinstance(delivery, dict):
        inner = {k: delivery[k] for k in PACKED_DELIVERY if k in delivery}
        if inner:
            packed["delivery"] = inner
        data["delivery"] = {k: v for k, v in delivery.items() if k not in PACKED_DELIVERY}
    if packed:
        data[PACKED] = json.dumps(packed, ensure_ascii=False, separators=(",", ":"))
    expire = store.expires_at(key, doc, now, retention_days)
    return data if expire is None else data | {"expire_at": timestamp(expire // EXPIRY_STEP * EXPIRY_STEP)}


def from_document(data: dict | None) -> dict | None:
    """The document as the store hands it out; one written before packing reads as it was."""
    if data is None:
        return None
    # A copy: the store compares what a step returns with what it read, field by field.
    doc = clone({k: v for k, v in data.items() if k not in ("expire_at", PACKED)})
    if PACKED in data:
        packed = json.loads(data[PACKED])
        inner = packed.pop("delivery", None)
        doc.update(packed)
        if inner:
            doc["delivery"] = {**(doc.get("delivery") or {}), **inner}
    return doc


def changes(stored: dict, data: dict, depth: int = 2, at: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """What turns ``stored`` into ``data``, as field paths: a map found in both is compared key by
    key, ``depth`` levels down (today's counters change, earlier days' do not); a value that changed
    is sent whole; a key that went away is deleted (``store.DELETE``). The client encodes each value
    it sends, in Python, so a message's write sends only what changed."""
    out: dict[tuple[str, ...], object] = {}
    for name, value in data.items():
        old = stored.get(name, store.DELETE)
        if old == value:
            continue
        if depth and value and isinstance(value, dict) and isinstance(old, dict):
            out.update(changes(old, value, depth - 1, (*at, name)))
        else:
            out[(*at, name)] = value
    for name in stored.keys() - data.keys():
        out[(*at, name)] = store.DELETE
    return out


def api_paths(fields: dict[tuple[str, ...], object]) -> dict[str, object]:
    """Field paths and values as the client's ``update`` takes them (names quoted where needed)."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.field_path import FieldPath

    return {
        FieldPath(*path).to_api_repr(): firestore.DELETE_FIELD if value is store.DELETE else value
        for path, value in fields.items()
    }


def pick(data: dict, field: str):
    """The value at a dotted field path of a document, or None."""
    value: object = data
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def document_id(key: str) -> str:
    """A Firestore document id for a conversation key: ids may not contain "/"."""
    return key.replace("%", "%25").replace("/", "%2F")


def filed_document(key: str, record: dict, now: float, retention_days: float = RETENTION_DAYS) -> dict:
    created = record.get("created_at", now)
    expire = timestamp(created + retention_days * DAY)
    return {**record, "conversation": key, "created_at": created, "expire_at": expire}


def set_path(doc: dict, path: tuple[str, ...], value: object) -> None:
    """Set the field at ``path`` (or delete it: ``store.DELETE``) as a Firestore update does: a set
    makes the maps on its way, a delete does not. Each map on the way is copied first, so that other
    versions sharing it are left as they were."""
    parent = doc
    for name in path[:-1]:
        child = parent.get(name)
        if not isinstance(child, dict):
            if value is store.DELETE:
                return
            child = {}
        parent[name] = child = dict(child)
        parent = child
    if value is store.DELETE:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = clone(value)


class Stale(Exception):
    """A write made from what this process wrote last was refused: someone wrote since."""


class Recent:
    """What this process last wrote to each conversation it served lately, with that write's update
    time. The next message for one of them starts from it instead of a read; its write is
    conditional on that update time, so if anyone wrote since (another instance, an owner's command)
    Firestore refuses it and the message reads and tries again at once. At a hobby bot's volume one
    instance serves everyone and the read before each reply goes away. With many instances most
    would miss, each costing a refused write: after a run of misses the read comes first again,
    and one message in ten still tries, to notice when one instance is back to serving alone."""

    def __init__(self, size: int = RECENT) -> None:
        self.size = size
        self.hit_rate = 1.0  # of the writes tried from memory lately
        self._docs: OrderedDict[str, tuple[object, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[object, dict] | None:
        """(update time, stored document) of this process's last write to ``key``, worth trying."""
        if self.hit_rate < 0.5 and random.random() >= 0.1:  # noqa: S311 - sampling, not crypto
            return None
        with self._lock:
            return self._docs.get(key)

    def outcome(self, hit: bool) -> None:
        self.hit_rate = 0.9 * self.hit_rate + 0.1 * hit

    def keep(self, key: str, update_time, stored: dict) -> None:
        """After our own write: ``stored`` is copied, since callers go on changing what they wrote.
        An unusually large conversation is not kept: memory stays about RECENT times a few KiB."""
        if len(stored.get(PACKED) or "") > RECENT_MAX_CHARS:
            self.forget(key)
            return
        doc = clone(stored)
        with self._lock:
            self._docs[key] = (update_time, doc)
            self._docs.move_to_end(key)
            while len(self._docs) > self.size:
                self._docs.popitem(last=False)

    def patched(self, key: str, before, after, fields: dict[tuple[str, ...], object]) -> None:
        """After a patch made on top of the write at ``before``: the same fields set or deleted here."""
        with self._lock:  # one critical section: a write of ours kept meanwhile is never replaced by this
            entry = self._docs.get(key)
            if entry is None or entry[0] != before:
                return  # a later write of ours is kept already, or none: the next message reads
            doc = dict(entry[1])  # a new version: another thread may be reading the kept one
            for path, value in fields.items():
                set_path(doc, path, value)
            self._docs[key] = (after, doc)
            self._docs.move_to_end(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._docs.pop(key, None)
