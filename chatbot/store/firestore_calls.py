"""Every call the Firestore backend makes, bounded: the time a caller waits (``Deadline``), the
client's retries narrowed to it, and Google's errors mapped to the Store's."""

from __future__ import annotations

import functools
import time

from chatbot.store.base import StoreError, StoreUnavailable

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


class Deadline:
    """When a store call's caller stops waiting: each call gets the time left, and a write is not
    started after it (nothing is written that the caller would not know of)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def is_set(self) -> bool:
        return time.monotonic() >= self.at

    def limits(self) -> dict:
        left = self.at - time.monotonic()
        if left <= 0:
            raise StoreUnavailable(f"firestore: no answer within {STORE_DEADLINE:.0f} s")
        policy = bounded()
        return {"retry": policy["retry"].with_timeout(left), "timeout": min(left, policy["timeout"])}
