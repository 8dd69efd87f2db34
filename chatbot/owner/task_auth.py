"""Who may run the scheduled tasks (``POST /tasks/reminders``).

Cloud Scheduler, with an OIDC token for our audience signed as the expected service account;
or, locally, whoever holds TASKS_TOKEN. Google's signing certificates are fetched at most once
an hour and kept here, by the object the app holds, not in a module global.
"""

from __future__ import annotations

import hmac
import threading
import time

from chatbot.core import logs
from chatbot.core.bearer import bearer_ok
from chatbot.core.settings import Settings


class TaskAuth:
    """Who may run tasks: Cloud Scheduler with an OIDC token for our audience, signed as the
    expected service account; or, locally, whoever has TASKS_TOKEN. Holds Google's signing
    certificates, fetched at most once an hour: a stranger's bad token must not make us call out."""

    CERTS_MAX_AGE = 3600.0

    def __init__(self, settings: Settings, session=None):
        self.settings = settings
        self.session = session
        self._certs: tuple[float, dict] = (0.0, {})
        self._lock = threading.Lock()

    def refused(self, headers) -> tuple[int, str] | None:
        """None when the caller may run tasks; otherwise the status and the reason to answer with."""
        settings = self.settings
        token_setting = settings.secret("tasks_token")
        if not token_setting and not settings.tasks_audience:
            return (404, "tasks are off")
        if settings.tasks_audience and not settings.tasks_invoker:
            # Any Google account can get a token for an audience: without the invoker, OIDC proves nothing.
            logs.get().error("tasks: TASKS_AUDIENCE is set without TASKS_INVOKER; set the scheduler's account")
            return (503, "tasks are misconfigured")
        header = headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return (401, "a bearer token is required")
        if token_setting and bearer_ok(headers, token_setting):
            return None
        if settings.tasks_audience:
            try:
                claims = self.verify(header[7:].strip())
            except ValueError as error:
                logs.get().warning("task token refused", extra={"reason": str(error)[:60]})
            else:
                email = str(claims.get("email", ""))
                expected = hmac.compare_digest(email.encode(), settings.tasks_invoker.encode())
                if expected and claims.get("email_verified") is True:
                    return None
                logs.get().warning("task token from an unexpected account", extra={"email": email[:120]})
        return (403, "forbidden")

    def certs(self) -> dict:
        import requests

        with self._lock:
            fetched_at, certs = self._certs
            if time.monotonic() - fetched_at > self.CERTS_MAX_AGE or not certs:
                response = (self.session or requests).get(self.settings.tasks_certs_url, timeout=5)
                response.raise_for_status()
                self._certs = (time.monotonic(), response.json())
            return self._certs[1]

    def verify(self, token: str) -> dict:
        """Signature (Google's certs), expiry, audience and issuer of a Cloud Scheduler OIDC token."""
        import google.auth.exceptions
        import requests
        from google.auth import jwt

        try:
            jwt.decode_header(token)  # malformed tokens are refused before anything is fetched
            claims = jwt.decode(token, certs=self.certs(), audience=self.settings.tasks_audience)
        except (google.auth.exceptions.GoogleAuthError, ValueError, requests.RequestException) as error:
            raise ValueError(type(error).__name__) from None  # never the text: it can quote the token
        if claims.get("iss") not in ("https://accounts.google.com", "accounts.google.com"):
            raise ValueError("wrong issuer")
        return claims
