"""Conversations as Firestore stores them: the queried fields and the packed rest, when the TTL
policy may delete them (``expire_at``), document ids, and the fields a write changes."""

from __future__ import annotations

import json

from chatbot.core.copies import clone
from chatbot.store import base
from chatbot.store.base import DAY, RETENTION_DAYS

EXPIRY_STEP = 3600.0  # the TTL field moves an hour at a time: a conversation's writes within one leave it out


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
PACKED_DELIVERY = frozenset({"events", "next_seq", "payload_keys", "transcript", "flood", "turns"})


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
    expire = base.expires_at(key, doc, now, retention_days)
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
    is sent whole; a key that went away is deleted (``base.DELETE``). The client encodes each value
    it sends, in Python, so a message's write sends only what changed."""
    out: dict[tuple[str, ...], object] = {}
    for name, value in data.items():
        old = stored.get(name, base.DELETE)
        if old == value:
            continue
        if depth and value and isinstance(value, dict) and isinstance(old, dict):
            out.update(changes(old, value, depth - 1, (*at, name)))
        else:
            out[(*at, name)] = value
    for name in stored.keys() - data.keys():
        out[(*at, name)] = base.DELETE
    return out


def api_paths(fields: dict[tuple[str, ...], object]) -> dict[str, object]:
    """Field paths and values as the client's ``update`` takes them (names quoted where needed)."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.field_path import FieldPath

    return {
        FieldPath(*path).to_api_repr(): firestore.DELETE_FIELD if value is base.DELETE else value
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
    """Set the field at ``path`` (or delete it: ``base.DELETE``) as a Firestore update does: a set
    makes the maps on its way, a delete does not. Each map on the way is copied first, so that other
    versions sharing it are left as they were."""
    parent = doc
    for name in path[:-1]:
        child = parent.get(name)
        if not isinstance(child, dict):
            if value is base.DELETE:
                return
            child = {}
        parent[name] = child = dict(child)
        parent = child
    if value is base.DELETE:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = clone(value)
