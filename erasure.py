"""Forgetting a person: the owner's command and Meta's data deletion callback.

Both delete the conversation document, its wake, and every record the person
filed (suggestions, broken-link reports) in one atomic write, and file a
receipt (what went, when; no user id) that ``GET /deletion?id=CODE`` shows.
In the chat, "delete my data" does the same through the relay, keeping only
the event ids a redelivery needs (see relay.tombstone).

Meta's callback names the person by their app-scoped id, while Messenger
conversations are keyed by page-scoped ids. The ID Matching API
(``GET /{app-scoped id}/ids_for_pages``) turns one into the other when the
app and the page belong to the same business; without ``FB_APP_ID`` or that
link, the receipt says the request could not be matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time

import fb
import logs
import outbound
import relay
from outbound import SendFailed
from store import FORGOTTEN, RECEIPTS, Change, Store

CODE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_SIGNED_REQUEST = 4096  # Meta's are a few hundred bytes
GRAPH_TIMEOUT = (3.05, 8.0)


class Refused(ValueError):
    """A request this module will not act on, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def new_code() -> str:
    return secrets.token_urlsafe(12)


def summary(doc: dict | None, filed: dict[str, int]) -> dict:
    """What a deletion removes, in counts (no content): for the receipt and the owner's one line."""
    deleted: dict = {k: v for k, v in filed.items() if v}
    if doc is None or doc.get(FORGOTTEN):
        return deleted
    conv, record = relay.read("x:x", doc)
    deleted["conversation"] = 1
    if conv.progress or conv.dropped:
        deleted["skills"] = len(conv.progress) + len(conv.dropped)
    if conv.wake or conv.reminder.get("enabled"):
        deleted["reminder"] = 1
    if record.transcript:
        deleted["transcript"] = len(record.transcript)
    return deleted


def forget(
    store: Store, keys: list[str], requested_by: str, *, now: float | None = None, always: bool = True, **about
) -> dict:
    """Delete everything kept about each of ``keys`` (one person's conversations). Returns the
    receipt: {"id", "deleted": counts, ...}. It is stored for ``GET /deletion`` with the last
    deletion, in the same write, when anything was deleted or ``always``."""
    now = time.time() if now is None else now
    record: dict = {"id": new_code(), "channel": keys[0].split(":", 1)[0], "requested_by": requested_by}
    record.update(about, created_at=now, deleted={})
    for n, key in enumerate(keys):
        filed, last = store.filed_by(key), n == len(keys) - 1

        def step(doc: dict | None, filed=filed, last=last):
            found = summary(doc, filed)
            totals = {name: record["deleted"].get(name, 0) + found.get(name, 0) for name in record["deleted"] | found}
            keep = last and (always or totals)
            if not found and not keep:
                return None, totals
            return Change(None, filed=[(RECEIPTS, record | {"deleted": totals})] if keep else [], erase=True), totals

        record["deleted"] = store.transact(key, step)
    return record


def _b64(part: str) -> bytes:
    return base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)


def parse_signed_request(value: str, app_secret: str) -> dict:
    """Meta's ``signed_request``: base64url(signature) "." base64url(JSON payload), the signature
    an HMAC-SHA256 of the payload part with the app secret. Malformed: 400; forged: 403."""
    if not value or len(value) > MAX_SIGNED_REQUEST or value.count(".") != 1:
        raise Refused(400, "signed_request must be <signature>.<payload>")
    signature_part, payload_part = value.split(".")
    try:
        signature = _b64(signature_part)
        payload_bytes = _b64(payload_part)
    except (binascii.Error, ValueError):
        raise Refused(400, "signed_request is not base64url") from None
    expected = hmac.new(app_secret.encode(), payload_part.encode(), hashlib.sha256).digest()
    if not app_secret or not hmac.compare_digest(expected, signature):
        raise Refused(403, "signature does not match")
    try:
        payload = json.loads(payload_bytes)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "payload is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "payload is not an object")
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise Refused(400, "algorithm must be HMAC-SHA256")
    user_id = payload.get("user_id")
    if not isinstance(user_id, str | int) or not re.fullmatch(r"\d{1,32}", str(user_id)):
        raise Refused(400, "user_id is missing")
    return payload | {"user_id": str(user_id)}


def page_scoped_ids(page, app_id: str, app_scoped_id: str) -> tuple[list[str], str]:
    """The page-scoped ids Meta links to an app-scoped id, and why none when it cannot say.
    A transient failure raises SendFailed (the callback answers 503 and Meta asks again)."""
    if not app_id:
        return [], "FB_APP_ID is not set, so the app-scoped id could not be matched to this page"
    secret = page.settings.secret("fb_app_secret")
    token = f"{app_id}|{secret}"
    proof = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    status, body = outbound.request(
        page.session,
        "GET",
        f"{page.graph}/{app_scoped_id}/ids_for_pages",
        params={"access_token": token, "appsecret_proof": proof, "limit": 100},
        timeout=GRAPH_TIMEOUT,
    )
    if status >= 500 or status == 429:
        raise SendFailed(f"ids_for_pages: HTTP {status}", transient=True, status=status)
    if status != 200:
        error = fb.as_object(body.get("error"))
        code = error.get("code", status)
        reason = f"Meta did not match the id (code {code}): the app and the page must belong to one business"
        logs.get().warning("id matching refused", extra={"status": status, "code": error.get("code")})
        return [], reason
    listed = body.get("data")
    data = listed if isinstance(listed, list) else []
    found = [
        str(item["id"]) for item in data if isinstance(item, dict) and re.fullmatch(r"\d{1,32}", str(item.get("id")))
    ]
    return found, "" if found else "Meta knows no page-scoped id for this person"


def meta_deletion(store: Store, page, app_id: str, app_scoped_id: str, now: float | None = None) -> dict:
    """Forget every Messenger conversation of the person Meta names; one receipt for all of them."""
    psids, reason = page_scoped_ids(page, app_id, app_scoped_id)
    # The id Meta sends is tried as it is too: a bot whose owner tests the callback with a
    # page-scoped id is served, and an app-scoped id never names another person's conversation.
    keys = [f"messenger:{user_id}" for user_id in dict.fromkeys([*psids, app_scoped_id])]
    return forget(store, keys, "meta", now=now, matched=len(psids), note="" if psids else reason)
