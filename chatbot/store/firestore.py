"""The Firestore implementation of the ``Store`` protocol (see base.py).

One document per conversation in ``conversations/{channel}:{user_id}``; every
message is one conditional write on it. The client library is imported and the client
created on first use, so start-up and /health never pay for them.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chatbot.core import deadline
from chatbot.store import base
from chatbot.store.base import DAY, QUEUES, RETENTION_DAYS, Step, StoreError, StoreUnavailable, Where, Writes, plan
from chatbot.store.firestore_calls import CREDENTIALS_HINT, STORE_DEADLINE, Deadline, classify
from chatbot.store.firestore_recent import Recent, Stale, Unchecked
from chatbot.store.firestore_shapes import (
    api_paths,
    changes,
    document_id,
    filed_document,
    from_document,
    pick,
    timestamp,
    to_document,
)

T = TypeVar("T")

MAX_ERASED_IN_BATCH = 400  # filed records deleted in the erasing write itself; Firestore's batch limit is 500
WRITE_ATTEMPTS = 12  # concurrent messages from one user (across instances) race for one document
CLOCK_KEY = base.SERVICE_KEYS + "clock"  # read (never written) by a process asking Firestore its time


class FirestoreStore:
    """Production state: one document per conversation, one conditional write per message.

    Happy path: a message reads the document once and writes it once; after
    sending, ``patch`` writes once more with a precondition (the document is as we
    left it) instead of reading it again. The client is created on first use.
    """

    def __init__(self, project: str | None = None, database: str | None = None, retention_days: float = RETENTION_DAYS):
        self.project = project
        self.database = database
        self.retention_days = retention_days
        self._client = None
        self._lock = threading.Lock()
        self._written: dict[str, object] = {}  # token -> update time of the write made under it
        self._key_locks: dict[str, list] = {}  # key -> [lock, holders and waiters]
        self._recent = Recent()  # what this process wrote last to each conversation
        self._server_time: tuple[float, float] | None = None  # (Firestore's time, monotonic clock then)

    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import firestore  # heavy: imported on first use, not at start-up

                    kwargs = {"project": self.project} if self.project else {}
                    if self.database:
                        kwargs["database"] = self.database
                    self._client = self._call(firestore.Client, **kwargs)
        return self._client

    def _ref(self, key: str):
        return self.client().collection(base.CONVERSATIONS).document(document_id(key))

    def _bounded(self, fn: Callable[..., T], *args) -> T:
        """Run a store call in the caller's thread, within STORE_DEADLINE or what the request has left
        (core/deadline.py), whichever is sooner: each client call gets the time left
        (``Deadline.limits``) and a write is not started once it has passed, so nothing lingers after
        the caller stopped waiting and nothing is handed to another thread."""
        return fn(*args, Deadline(deadline.left(STORE_DEADLINE)))

    def now(self) -> float:
        """Firestore's time: the last time it stated (a read's read time, a write's commit time) plus
        the monotonic clock since. Every instance agrees on it, whatever its own clock says. Before the
        first answer, this machine's clock: only the first write of a brand-new conversation (a Get
        Started, made without a read) can meet that, and it judges no one else's claim."""
        seen = self._server_time
        if seen is None:
            self._bounded(self._learn_time)
            seen = self._server_time
        return time.time() if seen is None else seen[0] + (time.monotonic() - seen[1])

    def _learn_time(self, abandoned: Deadline) -> None:
        """Ask Firestore its time (a read's read time; the document need not exist) before anything is
        judged or stamped by it: a process asked the time before its first read or write."""
        snapshot = self._call(self._ref(CLOCK_KEY).get, **abandoned.limits())
        self._saw(snapshot.read_time)

    def _saw(self, stamp) -> None:
        """Firestore stated its time (a read or commit timestamp)."""
        if stamp is not None:
            self._server_time = (stamp.timestamp(), time.monotonic())

    def transact(self, key: str, step: Step, *, token: str = "", fresh: bool = False) -> Any:
        return self._bounded(self._transact_retrying, key, step, token, fresh)

    def _transact_retrying(self, key: str, step: Step, token: str, fresh: bool, abandoned: Deadline) -> Any:
        # Threads of one process take turns per conversation; processes race with conditional
        # writes, and the loser reads again after a short jittered pause.
        with self._turn(key, abandoned):
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    return self._transact_once(key, step, token, abandoned, fresh and not attempt)
                except StoreUnavailable as error:
                    if not error.contention or attempt == WRITE_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _turn(self, key: str, deadline: Deadline):
        """One lock per conversation key, kept only while someone holds or waits for it."""
        with self._lock:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=max(0.0, deadline.at - time.monotonic())):
                raise StoreUnavailable(f"firestore: no answer within {STORE_DEADLINE:.0f} s")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._key_locks[key]

    def _transact_once(self, key: str, step: Step, token: str, abandoned: Deadline, fresh: bool = False) -> Any:
        """Read, apply ``step``, and write only if the document is still as read.

        Optimistic rather than a Firestore transaction: a transaction's read takes a lock, and two
        instances holding read locks on one document wait on each other until one is aborted (about
        2 s on the emulator). A conditional write never waits: of two racers one wins at once, and
        the other reads again. It also saves the BeginTransaction round trip. A conversation this
        process wrote last starts from what it wrote, without a read (``Recent``); a ``fresh`` one
        from nothing, created only if it does not exist yet, once this process knows Firestore's time
        (``now``): a cold process reads first, so that no claim it writes is stamped by its own clock."""
        cached = self._recent.get(key)
        fresh = fresh and self._server_time is not None
        if cached is not None or fresh:
            update_time, stored = cached or (None, None)
            try:
                result = self._apply(key, step, token, abandoned, update_time, stored, speculative=True)
            except Unchecked:  # nothing to write: the answer is read from what is there
                pass
            except Stale:  # someone wrote since (or the fresh one exists): read, at once
                if cached is not None:
                    self._recent.outcome(False)
            else:
                if cached is not None:
                    self._recent.outcome(True)
                return result
        snapshot = self._call(self._ref(key).get, **abandoned.limits())
        self._saw(snapshot.read_time)
        stored = snapshot.to_dict() if snapshot.exists else None  # a deep copy: taken once
        return self._apply(key, step, token, abandoned, snapshot.update_time if stored is not None else None, stored)

    def _apply(self, key, step: Step, token, abandoned: Deadline, update_time, stored, speculative=False) -> Any:
        from google.api_core import exceptions

        before = from_document(stored)
        change, result = step(before)
        if change is None:
            if speculative:
                # What this process wrote last may not be what is there now (another instance wrote
                # since): a step that writes nothing has no write to fail, so its answer is checked
                # against a read ("already sent", "this reminder was moved" are not trusted from memory).
                raise Unchecked
            return result
        if abandoned.is_set():
            raise StoreUnavailable("firestore: abandoned after the deadline")  # nothing written
        writes = plan(key, before, change)
        erased = self._filed_refs(key, abandoned) if writes.erase else []
        batch, data = self._batch(writes, update_time, erased, stored or {})
        try:
            results = self._call(batch.commit, **abandoned.limits())
        except StoreUnavailable as error:
            self._recent.forget(key)
            if isinstance(error.__cause__, exceptions.FailedPrecondition | exceptions.Conflict | exceptions.NotFound):
                if speculative:
                    raise Stale from error
                raise StoreUnavailable("firestore: the conversation changed meanwhile", contention=True) from error
            raise
        if data is None:
            self._recent.forget(key)
        else:
            written = results[len(erased)].update_time  # the conversation's own write, after the erased records
            self._saw(written)
            self._recent.keep(key, written, data)
            if token:
                self._remember(token, written)
        return result

    def _filed_refs(self, key: str, abandoned: Deadline) -> list:
        """Every record this conversation filed in QUEUES (read before an erasing write)."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        refs = []
        for queue in QUEUES:
            query = self.client().collection(queue).where(filter=FieldFilter("conversation", "==", key))
            refs += self._call(lambda q=query: [doc.reference for doc in q.select([]).stream(**abandoned.limits())])
        for start in range(MAX_ERASED_IN_BATCH, len(refs), 400):  # a batch holds 500 writes: the surplus goes first
            batch = self.client().batch()
            for ref in refs[start : start + 400]:
                batch.delete(ref)
            self._call(batch.commit, **abandoned.limits())
        return refs[:MAX_ERASED_IN_BATCH]

    def _batch(self, writes: Writes, update_time, erased: list, stored: dict):
        """One atomic batch: the conversation (conditional on the version read, ``update_time``), its wake
        index entry, filed records, and on an erase the person's filed records. With it, the
        conversation as stored after the batch (None once deleted)."""
        client, ref, now = self.client(), self._ref(writes.key), self.now()
        batch = client.batch()
        for filed_ref in erased:
            batch.delete(filed_ref)
        data = None if writes.doc is None else to_document(writes.key, writes.doc, now, self.retention_days)
        if data is None:
            if update_time is not None:
                batch.delete(ref, option=client.write_option(last_update_time=update_time))
        elif update_time is None:
            batch.create(ref, data)
        else:
            # A full overwrite in effect, made conditional, sending only what changed; when nothing
            # did, still one conditional write, as asked.
            fields = api_paths(changes(stored, data) or {(name,): value for name, value in data.items()})
            batch.update(ref, fields, option=client.write_option(last_update_time=update_time))
        if writes.wake_changed:
            wake_ref = client.collection(base.WAKES).document(document_id(writes.key))
            if writes.wake_due is None:
                batch.delete(wake_ref)
            else:
                entry = {"key": writes.key, "due_at": writes.wake_due, "lease_until": 0.0, "claim": None}
                batch.set(wake_ref, entry | {"expire_at": timestamp(now + self.retention_days * DAY)})
        for queue, record in writes.filed:
            named = document_id(record["id"]) if record.get("id") else None  # a receipt is found by its code
            document = client.collection(queue).document(named)
            batch.create(document, filed_document(writes.filed_as, record, now, self.retention_days))
        return batch, data

    def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """One client call; whatever it raises becomes StoreUnavailable or StoreError, with the cause kept."""
        import google.auth.exceptions
        from google.api_core import exceptions

        try:
            return fn(*args, **kwargs)
        except exceptions.GoogleAPIError as error:
            raise classify(error) from error
        except google.auth.exceptions.GoogleAuthError as error:
            raise StoreError(f"firestore: {type(error).__name__} ({CREDENTIALS_HINT})") from error

    def _remember(self, token: str, update_time) -> None:
        with self._lock:
            self._written[token] = update_time
            while len(self._written) > 10_000:
                self._written.pop(next(iter(self._written)))

    def patch(self, key: str, token: str, fields: dict[tuple[str, ...], Any], step: Step) -> None:
        self._bounded(self._patch, key, token, fields, step)

    def _patch(self, key: str, token: str, fields: dict[tuple[str, ...], Any], step: Step, abandoned: Deadline) -> None:
        from google.api_core import exceptions

        with self._lock:
            update_time = self._written.pop(token, None)
        if update_time is not None and fields:
            paths = api_paths(fields)
            try:
                # One write, no read: valid only if nobody wrote the document since our own write.
                option = self.client().write_option(last_update_time=update_time)
                result = self._call(self._ref(key).update, paths, option=option, **abandoned.limits())
                self._saw(result.update_time)
                self._recent.patched(key, update_time, result.update_time, fields)
                self._remember(token, result.update_time)  # the next patch under this token builds on this one
                return
            except StoreUnavailable as error:
                self._recent.forget(key)
                if not isinstance(error.__cause__, exceptions.FailedPrecondition):
                    raise
                # another message for this user came in meanwhile: read, apply, write
        self._transact_retrying(key, step, token, False, abandoned)

    def due(self, now: float, limit: int) -> list[tuple[str, object]]:
        return self._bounded(self._due, now, limit)

    def _due(self, now: float, limit: int, abandoned: Deadline) -> list[tuple[str, object]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self.client().collection(base.WAKES).where(filter=FieldFilter("due_at", "<=", now))
        snapshots = self._call(lambda: list(query.order_by("due_at").limit(limit).stream(**abandoned.limits())))
        # The lease is checked here rather than in the query: two range filters would need a composite index.
        # Due by the caller's clock (the engine's); leased by Firestore's.
        store_now = self.now()
        return [
            (s.get("key"), (s.update_time, s.get("due_at")))
            for s in snapshots
            if (s.get("lease_until") or 0) <= store_now
        ]

    def claim_due(self, key: str, now: float, lease: float, claim: str, version=None) -> float | None:
        return self._bounded(self._claim_due, key, now, lease, claim, version)

    def _claim_due(self, key, now, lease, claim, version, abandoned: Deadline) -> float | None:
        """One conditional write, no lock: it succeeds only if the entry is exactly as the query
        saw it, so of several runs that saw it, one wins."""
        from google.api_core import exceptions

        ref = self.client().collection(base.WAKES).document(document_id(key))
        try:
            if version is None:
                snapshot = self._call(ref.get, **abandoned.limits())
                self._saw(snapshot.read_time)
                if not snapshot.exists or (snapshot.get("lease_until") or 0) > self.now():
                    return None
                version = (snapshot.update_time, snapshot.get("due_at"))
            update_time, due_at = version
            if due_at is None or due_at > now:
                return None
            option = self.client().write_option(last_update_time=update_time)
            leased = {"lease_until": self.now() + lease, "claim": claim}  # by Firestore's clock, as due() reads it
            self._call(ref.update, leased, option=option, **abandoned.limits())
        except StoreUnavailable as error:
            if isinstance(error.__cause__, exceptions.FailedPrecondition | exceptions.NotFound):
                return None  # someone else claimed or changed it first
            raise
        return due_at

    def release_due(self, key: str, claim: str) -> None:
        self._bounded(self._release_due, key, claim)

    def _release_due(self, key: str, claim: str, abandoned: Deadline) -> None:
        from google.api_core import exceptions

        ref = self.client().collection(base.WAKES).document(document_id(key))
        try:
            snapshot = self._call(ref.get, **abandoned.limits())
            if snapshot.exists and snapshot.get("claim") == claim:
                option = self.client().write_option(last_update_time=snapshot.update_time)
                self._call(ref.update, {"lease_until": 0.0, "claim": None}, option=option, **abandoned.limits())
        except StoreUnavailable as error:
            if not isinstance(error.__cause__, exceptions.FailedPrecondition | exceptions.NotFound):
                raise  # otherwise it moved on already

    def load(self, key: str) -> dict | None:
        snapshot = self._bounded(lambda abandoned: self._call(self._ref(key).get, **abandoned.limits()))
        return from_document(snapshot.to_dict()) if snapshot.exists else None

    def filed(self, queue: str, limit: int = 100) -> list[dict]:
        query = self.client().collection(queue).order_by("created_at", direction="DESCENDING").limit(limit)
        snapshots = self._bounded(lambda abandoned: self._call(lambda: list(query.stream(**abandoned.limits()))))
        return [{k: v for k, v in snap.to_dict().items() if k != "expire_at"} for snap in snapshots]  # newest first

    def filed_by(self, key: str) -> dict[str, int]:
        return self._bounded(self._filed_by, key)

    def _filed_by(self, key: str, abandoned: Deadline) -> dict[str, int]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        counts = {}
        for queue in QUEUES:
            query = self.client().collection(queue).where(filter=FieldFilter("conversation", "==", key))
            result = self._call(lambda q=query: q.count().get(**abandoned.limits()))
            if int(result[0][0].value):
                counts[queue] = int(result[0][0].value)
        return counts

    def find(self, queue: str, record_id: str) -> dict | None:
        ref = self.client().collection(queue).document(document_id(record_id))
        snapshot = self._bounded(lambda abandoned: self._call(ref.get, **abandoned.limits()))
        if not snapshot.exists:
            return None
        return {k: v for k, v in snapshot.to_dict().items() if k != "expire_at"}

    def _query(self, where: Where):
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self.client().collection(base.CONVERSATIONS)
        for field, op, value in where:
            query = query.where(filter=FieldFilter(field, "array_contains" if op == "contains" else op, value))
        return query

    def count(self, where: Where) -> int:
        query = self._query(where)
        return int(self._bounded(lambda abandoned: self._call(query.count().get, **abandoned.limits()))[0][0].value)

    def sums(self, fields: list[str], where: Where | None = None) -> dict[str, float]:
        """Up to five sums per aggregation query (Firestore's limit), each query one round trip."""
        totals: dict[str, float] = {}
        for start in range(0, len(fields), 5):
            group = fields[start : start + 5]
            aggregation = self._query(where or []).sum(group[0], alias="s0")
            for n, field in enumerate(group[1:], start=1):
                aggregation = aggregation.sum(field, alias=f"s{n}")
            results = self._bounded(lambda abandoned, a=aggregation: self._call(a.get, **abandoned.limits()))
            values = {result.alias: result.value for result in results[0]}
            totals.update({field: float(values.get(f"s{n}") or 0) for n, field in enumerate(group)})
        return totals

    def scan(self, fields: list[str], where: Where) -> list[dict]:
        query = self._query(where).select(fields)
        snapshots = self._bounded(lambda abandoned: self._call(lambda: list(query.stream(**abandoned.limits()))))
        return [{field: pick(snapshot.to_dict(), field) for field in fields} for snapshot in snapshots]

    def sweep(self, now: float) -> int:
        return 0  # the TTL policy on expire_at deletes expired documents (within about a day)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
