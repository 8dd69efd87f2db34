"""What this process wrote last to each conversation, so that its next message needs no read."""

from __future__ import annotations

import random
import threading
from collections import OrderedDict

from chatbot.core.copies import clone
from chatbot.store.firestore_shapes import PACKED, set_path

RECENT = 2_000  # conversations whose last write this process made, kept to skip the next message's read
RECENT_MAX_CHARS = 32_768  # a conversation's packed state is 1-3 KiB; a larger one is read each time


class Stale(Exception):
    """A write made from what this process wrote last was refused: someone wrote since."""


class Unchecked(Stale):
    """A step made from what this process wrote last wrote nothing: its answer wants a read."""


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
