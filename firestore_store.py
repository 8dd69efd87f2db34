"""The Firestore implementation of the ``Store`` protocol (see store.py).

One document per conversation in ``conversations/{channel}:{user_id}``; every
message is one conditional write on it. The client library is imported and the client
created on first use, so start-up and /health never pay for them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from chat import Conversation
from store import StoreError, StoreUnavailable, settle_outbox

T = TypeVar("T")

CONVERSATIONS = "conversations"
SUGGESTIONS = "suggestions"
REMINDERS = "reminders"
CONVERSATION_TTL = 400 * 24 * 3600  # a conversation idle for ~13 months is deleted by the TTL policy
SUGGESTION_TTL = 2 * 365 * 24 * 3600
WRITE_ATTEMPTS = 12  # concurrent messages from one user (across instances) race for one document
STORE_DEADLINE = 8.0  # seconds a request waits for Firestore; the client's own retries run for minutes


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
    if isinstance(error, exceptions.Aborted):
        return StoreUnavailable(message, contention=True)
    if isinstance(error, transient):
        return StoreUnavailable(message)
    return StoreError(message)


@functools.cache
def bounded() -> dict:
    """Retry and timeout for every call: the client's defaults retry for minutes, which would
    keep an abandoned call (see FirestoreStore._bounded) busy long after its request ended."""
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.ResourceExhausted,
    )
    policy = retry.Retry(predicate=transient, initial=0.1, maximum=1.0, multiplier=2.0, timeout=STORE_DEADLINE)
    return {"retry": policy, "timeout": STORE_DEADLINE}


def to_document(conv: Conversation, now: float) -> dict:
    """The Firestore shape: outbox items as JSON text (Firestore has no arrays of arrays)."""
    from datetime import UTC, datetime

    data = conv.to_dict()
    data.pop("suggestions", None)
    data["outbox"] = {
        seq: entry | {"items": json.dumps(entry["items"], ensure_ascii=False)} for seq, entry in data["outbox"].items()
    }
    data["expire_at"] = datetime.fromtimestamp(now + CONVERSATION_TTL, tz=UTC)
    return data


def from_document(data: dict) -> Conversation:
    data = dict(data)
    data.pop("expire_at", None)
    outbox = data.get("outbox") or {}
    data["outbox"] = {
        seq: entry
        | {"items": json.loads(entry["items"]) if isinstance(entry.get("items"), str) else entry.get("items", [])}
        for seq, entry in outbox.items()
    }
    return Conversation.from_dict(data)


class FirestoreStore:
    """Production state: one document per conversation, one conditional write per message.

    Happy path: a message reads the document once and writes it once; after
    sending, ``settle`` writes once more with a precondition (the document is as we
    left it) instead of reading it again. The client is created on first use.
    """

    def __init__(self, project: str | None = None, database: str | None = None):
        self.project = project
        self.database = database
        self._client = None
        self._lock = threading.Lock()
        self._written: dict[str, object] = {}  # claim -> update time of the write that made it
        self._key_locks: dict[str, list] = {}  # key -> [lock, holders and waiters]
        self._pool = None

    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import firestore  # heavy: imported on first use, not at start-up

                    kwargs = {"project": self.project} if self.project else {}
                    if self.database:
                        kwargs["database"] = self.database
                    self._client = firestore.Client(**kwargs)
        return self._client

    def _ref(self, key: str):
        return self.client().collection(CONVERSATIONS).document(document_id(key))

    def _bounded(self, fn: Callable[..., T], *args) -> T:
        """Run a store call, waiting at most STORE_DEADLINE. A call given up on is told so and
        rolls back instead of writing; one whose commit was already on its way may still land,
        which is safe because what it claims carries a lease (see Conversation.claim)."""
        import concurrent.futures

        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="firestore")
        abandoned = threading.Event()
        future = self._pool.submit(fn, *args, abandoned)
        try:
            return future.result(timeout=STORE_DEADLINE)
        except concurrent.futures.TimeoutError:
            abandoned.set()
            raise StoreUnavailable(f"firestore: no answer within {STORE_DEADLINE:.0f} s") from None

    def transact(self, key: str, step: Callable[[Conversation], tuple[bool, T]]) -> T:
        return self._bounded(self._transact_retrying, key, step)

    def _transact_retrying(self, key: str, step: Callable[[Conversation], tuple[bool, T]], abandoned=None) -> T:
        # Threads of one process take turns per conversation; processes race with conditional
        # writes, and the loser reads again after a short jittered pause.
        abandoned = abandoned or threading.Event()
        with self._turn(key):
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    return self._transact_once(key, step, abandoned)
                except StoreUnavailable as error:
                    if not error.contention or attempt == WRITE_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _turn(self, key: str):
        """One lock per conversation key, kept only while someone holds or waits for it."""
        with self._lock:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._key_locks[key]

    def _transact_once(self, key: str, step: Callable[[Conversation], tuple[bool, T]], abandoned) -> T:
        """Read, apply ``step``, and write only if the document is still as read.

        Optimistic rather than a Firestore transaction: a transaction's read takes a lock, and two
        instances holding read locks on one document wait on each other until one is aborted (about
        2 s on the emulator). A conditional write never waits: of two racers one wins at once, and
        the other reads again. It also saves the BeginTransaction round trip."""
        from google.api_core import exceptions
        from google.cloud import firestore

        client = self.client()
        ref = self._ref(key)
        try:
            snapshot = ref.get(**bounded())
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error
        old = snapshot.to_dict() if snapshot.exists else None
        conv = from_document(old) if old is not None else Conversation(key=key)
        due_before = conv.reminder_due()
        changed, result = step(conv)
        if not changed:
            return result
        if abandoned.is_set():
            raise StoreUnavailable("firestore: abandoned after the deadline")  # nothing written
        now = time.time()
        data = to_document(conv, now)
        batch = client.batch()  # atomic: the conversation, its reminder and suggestions, or nothing
        if old is None:
            batch.create(ref, data)
        else:
            # Every top-level field replaced, so this is a full overwrite, made conditional.
            gone = {name: firestore.DELETE_FIELD for name in old.keys() - data.keys()}
            batch.update(ref, data | gone, option=client.write_option(last_update_time=snapshot.update_time))
        if conv.reminder_due() != due_before:
            # The reminders index follows the conversation, in the same commit.
            reminder_ref = client.collection(REMINDERS).document(document_id(key))
            if conv.reminder_due() is None:
                batch.delete(reminder_ref)
            else:
                batch.set(reminder_ref, {"key": key, "due_at": conv.reminder_due(), "lease_until": 0.0, "claim": None})
        for item in conv.suggestions:
            batch.create(client.collection(SUGGESTIONS).document(), suggestion_document(key, item, now))
        try:
            results = batch.commit(**bounded())
        except (exceptions.FailedPrecondition, exceptions.Conflict, exceptions.NotFound) as error:
            raise StoreUnavailable("firestore: the conversation changed meanwhile", contention=True) from error
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error
        conv.suggestions = []
        for entry in conv.outbox.values():
            if entry.get("claim"):
                self._remember(entry["claim"], results[0].update_time)
        return result

    def _remember(self, claim: str, update_time) -> None:
        with self._lock:
            self._written[claim] = update_time
            while len(self._written) > 10_000:
                self._written.pop(next(iter(self._written)))

    def settle(self, key: str, claim: str, remaining: dict[str, list], deactivate: bool = False) -> None:
        self._bounded(self._settle, key, claim, remaining, deactivate)

    def _settle(self, key: str, claim: str, remaining: dict[str, list], deactivate: bool, abandoned) -> None:
        from google.api_core import exceptions
        from google.cloud import firestore
        from google.cloud.firestore_v1.field_path import FieldPath

        with self._lock:
            update_time = self._written.pop(claim, None)
        # A user who blocked the bot also leaves the reminders index: that needs the full write,
        # which keeps the index in step with the conversation. It is rare.
        if update_time is not None and not deactivate:
            fields: dict = {}
            for seq, items in remaining.items():
                path = FieldPath("outbox", seq).to_api_repr()
                if items:
                    fields[path + ".items"] = json.dumps(items, ensure_ascii=False)
                    fields[path + ".claim"] = None
                    fields[path + ".lease_until"] = 0
                else:
                    fields[path] = firestore.DELETE_FIELD
            if deactivate:
                fields["active"] = False
            if not fields:
                return
            try:
                # One write, no read: valid only if nobody wrote the document since our own write.
                option = self.client().write_option(last_update_time=update_time)
                self._ref(key).update(fields, option=option, **bounded())
                return
            except exceptions.FailedPrecondition:
                pass  # another message for this user came in meanwhile: read, settle, write
            except exceptions.GoogleAPIError as error:
                raise classify(error) from error
        self._transact_retrying(key, lambda conv: (settle_outbox(conv, claim, remaining, deactivate), None), abandoned)

    def due_reminders(self, now: float, limit: int) -> list[tuple[str, object]]:
        return self._bounded(self._due_reminders, now, limit)

    def _due_reminders(self, now: float, limit: int, abandoned=None) -> list[tuple[str, object]]:
        from google.api_core import exceptions
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self.client().collection(REMINDERS).where(filter=FieldFilter("due_at", "<=", now))
        try:
            snapshots = list(query.order_by("due_at").limit(limit).stream(**bounded()))
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error
        # The lease is checked here rather than in the query: two range filters would need a composite index.
        return [
            (s.get("key"), (s.update_time, s.get("due_at"))) for s in snapshots if (s.get("lease_until") or 0) <= now
        ]

    def claim_reminder(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        return self._bounded(self._claim_reminder, key, now, lease, claim, version)

    def _claim_reminder(self, key, now, lease, claim, version, abandoned=None) -> float | None:
        """One conditional write, no lock: it succeeds only if the reminder is exactly as the query
        saw it, so of several runs that saw it, one wins."""
        from google.api_core import exceptions

        ref = self.client().collection(REMINDERS).document(document_id(key))
        try:
            if version is None:
                snapshot = ref.get(**bounded())
                if not snapshot.exists:
                    return None
                version = (snapshot.update_time, snapshot.get("due_at"))
            update_time, due_at = version
            if due_at is None or due_at > now:
                return None
            option = self.client().write_option(last_update_time=update_time)
            ref.update({"lease_until": now + lease, "claim": claim}, option=option, **bounded())
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            return None  # someone else claimed or changed it first
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error
        return due_at

    def release_reminder(self, key: str, claim: str) -> None:
        self._bounded(self._release_reminder, key, claim)

    def _release_reminder(self, key: str, claim: str, abandoned=None) -> None:
        from google.api_core import exceptions

        ref = self.client().collection(REMINDERS).document(document_id(key))
        try:
            snapshot = ref.get(**bounded())
            if snapshot.exists and snapshot.get("claim") == claim:
                ref.update(
                    {"lease_until": 0.0, "claim": None},
                    option=self.client().write_option(last_update_time=snapshot.update_time),
                    **bounded(),
                )
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            pass  # it moved on already
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error

    def load(self, key: str) -> Conversation | None:
        snapshot = self._ref(key).get()
        return from_document(snapshot.to_dict()) if snapshot.exists else None

    def suggestions(self, limit: int = 100) -> list[dict]:
        from google.cloud import firestore

        query = self.client().collection(SUGGESTIONS).order_by("created_at", direction=firestore.Query.DESCENDING)
        items = [doc.to_dict() for doc in query.limit(limit).stream()]
        return [{k: item[k] for k in ("conversation", "text", "locale", "created_at")} for item in items]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None


def document_id(key: str) -> str:
    """A Firestore document id for a conversation key: ids may not contain "/"."""
    return key.replace("%", "%25").replace("/", "%2F")


def suggestion_document(key: str, item: dict, now: float) -> dict:
    from datetime import UTC, datetime

    created = item.get("at", now)
    return {
        "conversation": key,
        "text": item["text"],
        "locale": item.get("locale", ""),
        "created_at": created,
        "expire_at": datetime.fromtimestamp(created + SUGGESTION_TTL, tz=UTC),
    }
