"""The store a ``STORE_URL`` names."""

from __future__ import annotations

from urllib.parse import urlparse

from chatbot.store.base import RETENTION_DAYS, Backend


def open_store(url: str, retention_days: int = RETENTION_DAYS) -> Backend:
    """``sqlite:///PATH`` (the default) or ``firestore://[PROJECT[/DATABASE]]``; ValueError names the fix."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        from chatbot.store.sqlite import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        return SQLiteStore(path or "chatbot.db", retention_days)
    if parsed.scheme == "firestore":
        from chatbot.store.firestore import FirestoreStore

        return FirestoreStore(parsed.netloc or None, parsed.path.strip("/") or None, retention_days)
    raise ValueError(f"STORE_URL: unknown scheme {parsed.scheme!r}: use sqlite:///PATH or firestore://[PROJECT]")
