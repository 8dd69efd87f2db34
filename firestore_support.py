"""What the Firestore backend needs besides its class: errors mapped to the Store's, a bound on
every call, and the stored shapes of documents (``expire_at`` for the TTL policy, document ids)."""

from __future__ import annotations

import functools

import store
from store import DAY, RETENTION_DAYS, StoreError, StoreUnavailable

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


def timestamp(seconds: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)


def to_document(key: str, doc: dict, now: float, retention_days: float = RETENTION_DAYS) -> dict:
    """The stored shape: the document and when Firestore's TTL policy may delete it (if ever)."""
    expire = store.expires_at(key, doc, now, retention_days)
    return doc if expire is None else doc | {"expire_at": timestamp(expire)}


def from_document(data: dict | None) -> dict | None:
    return None if data is None else {k: v for k, v in data.items() if k != "expire_at"}


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
