"""The Store contract, written once and run against every backend; and the delivery record kept in it."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from chatbot.core import deadline
from chatbot.core.outbound import SendFailed
from chatbot.delivery import relay
from chatbot.delivery.relay import DeliveryRecord
from chatbot.delivery.sending import Sending
from chatbot.engine.conversation import CONVERSATION_VERSION, Conversation
from chatbot.service.parts import open_store
from chatbot.store.base import DAY, DELETE, FORGOTTEN, TOMBSTONE_SECONDS, Change, plan
from chatbot.store.firestore_recent import RECENT_MAX_CHARS, Recent
from chatbot.store.firestore_shapes import EXPIRY_STEP, PACKED, changes, to_document
from chatbot.store.sqlite import SQLiteStore


@pytest.fixture
def store(store_url):
    backend = open_store(store_url)
    yield backend
    backend.close()


def bump(doc):
    doc = dict(doc or {})
    doc["n"] = doc.get("n", 0) + 1
    return Change(doc), doc["n"]


def test_missing_document_reads_as_none_and_nothing_is_written_without_a_change(store):
    assert store.load("web:nobody") is None
    assert store.transact("web:nobody", lambda doc: (None, doc)) is None
    assert store.load("web:nobody") is None


def test_create_and_load_round_trip(store):
    doc = {"state": "choosing_level", "profile": {"first_name": "Zoë 🎉"}, "progress": {"git": {"done": ["git-1"]}}}
    store.transact("messenger:1", lambda _: (Change(doc), None))
    assert store.load("messenger:1") == doc


def test_a_step_that_changes_what_it_read_in_place_is_written_whole(store):
    # Firestore sends only what changed, map by map: a change made inside a nested field of the very
    # document the step was handed must still count, keys that went away must go at every level,
    # and names that are not plain identifiers ("3", "a.b", "`") must reach the right field.
    doc = {
        "profile": {"first_name": "Ana", "a.b": 1},
        "news": True,
        "active": True,
        "delivery": {"tally": {"d1": {"m": 1}, "d2": {"m": 0, "f": 0}}, "outbox": {"3": {"items": "[]"}}},
    }
    store.transact("telegram:inplace", lambda _: (Change(doc), None))

    def edit(before):
        before["profile"]["first_name"] = "Bea"
        before["profile"]["a.b"] += 1
        before["profile"]["`"] = "tick"
        tally = before["delivery"]["tally"]
        del tally["d1"]
        tally["d2"]["m"] += 1
        tally["d3"] = {"m": 1}
        before["delivery"]["outbox"] = {"4": {"items": "[1]"}}
        del before["news"]
        return Change(before), None

    store.transact("telegram:inplace", edit)
    assert store.load("telegram:inplace") == {
        "profile": {"first_name": "Bea", "a.b": 2, "`": "tick"},
        "active": True,
        "delivery": {"tally": {"d2": {"m": 1, "f": 0}, "d3": {"m": 1}}, "outbox": {"4": {"items": "[1]"}}},
    }


def test_a_change_that_changes_nothing_is_still_written(store):
    doc = {"state": "idle", "n": 1}
    store.transact("settings:same", lambda _: (Change(doc), None))  # a service document: no expiry field either
    assert store.transact("settings:same", lambda before: (Change(dict(before)), "written")) == "written"
    assert store.load("settings:same") == doc


def test_a_failing_step_writes_nothing(store):
    store.transact("web:atomic", bump)

    def half_then_fail(doc):
        doc["n"] = 99
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.transact("web:atomic", half_then_fail)
    assert store.load("web:atomic")["n"] == 1


@pytest.fixture
def instances(store, store_url):
    """The store as three server instances see it: one connection or client each."""
    others = [open_store(store_url) for _ in range(2)]
    yield [store, *others]
    for other in others:
        other.close()


def test_threads_updating_one_conversation_lose_no_update(store, instances):
    errors = []

    def worker(backend):
        try:
            for _ in range(25):
                backend.transact("web:counter", bump)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    # Threads of one instance take turns; instances race, and a lost race is read again.
    threads = [threading.Thread(target=worker, args=(instances[i % 3],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.load("web:counter")["n"] == 200


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_concurrent_redeliveries_apply_an_event_once(store, instances, existing):
    if existing:  # racing to update a conversation, not to create it
        store.transact("web:dup", bump)
    applied = []
    barrier = threading.Barrier(6)

    def deliver(backend):
        barrier.wait()

        def step(doc):
            conv, record = relay.read("web:dup", doc)
            if record.seen("m_dup"):
                return None, False
            record.remember("m_dup")
            conv.slots["applied"] = conv.slots.get("applied", 0) + 1
            return Change(relay.document(conv, record)), True

        applied.append(backend.transact("web:dup", step))

    threads = [threading.Thread(target=deliver, args=(instances[i % 3],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert applied.count(True) == 1
    assert relay.load_conversation(store, "web:dup").slots["applied"] == 1


def test_unicode_and_large_values(store):
    big = "ñ🎉字" * 20000
    nested = {"list": list(range(500)), "quote": "\"'\\\n\t\x00"}
    store.transact("telegram:big", lambda _: (Change({"big": big, "nested": nested}), None))
    loaded = store.load("telegram:big")
    assert loaded["big"] == big and loaded["nested"]["quote"] == "\"'\\\n\t\x00"


def test_the_wake_index_follows_the_document(store):
    def wake(at, active=True):
        return lambda _: (Change({"wake": {"at": at, "payload": "P"} if at else {}, "active": active}), None)

    store.transact("web:w", wake(100.0))
    assert store.due(99.0, 10) == [] and [k for k, _ in store.due(100.0, 10)] == ["web:w"]
    store.transact("web:w", wake(200.0))
    assert store.due(150.0, 10) == [] and [k for k, _ in store.due(250.0, 10)] == ["web:w"]
    store.transact("web:w", wake(200.0, active=False))  # gone people are never woken
    assert store.due(250.0, 10) == []
    store.transact("web:w", wake(300.0))
    store.transact("web:w", wake(None))
    assert store.due(1e12, 10) == []


def test_a_claimed_wake_is_one_runs_until_released(store):
    store.transact("web:c", lambda _: (Change({"wake": {"at": 100.0, "payload": "P"}}), None))
    ((key, version),) = store.due(150.0, 10)
    assert store.claim_due(key, 150.0, 60, "run-a", version) == 100.0
    assert store.claim_due(key, 150.0, 60, "run-b", version) is None and store.due(150.0, 10) == []
    store.release_due(key, "run-b")  # not theirs: nothing changes
    assert store.due(150.0, 10) == []
    store.release_due(key, "run-a")
    assert [k for k, _ in store.due(150.0, 10)] == ["web:c"]
    assert store.due(211.0, 10) != []  # a lease ends by itself too


def test_records_are_filed_with_the_document(store):
    record = {"text": "Knitting", "locale": "en", "created_at": round(time.time(), 3)}
    store.transact("web:s", lambda _: (Change({"n": 1}, filed=[("suggestions", record)]), None))
    assert store.filed("suggestions") == [{"conversation": "web:s", **record}]
    assert store.load("web:s") == {"n": 1}

    def fail(_):
        raise RuntimeError("engine bug")

    with pytest.raises(RuntimeError):
        store.transact("web:s", fail)
    assert len(store.filed("suggestions")) == 1


def drop_first_and_count(doc):
    """What the patch below says as fields, said as a step: the two must agree."""
    doc = dict(doc)
    doc["outbox"] = {k: v for k, v in doc["outbox"].items() if k != "1"}
    doc["seen"] = doc.get("seen", 0) + 1
    return Change(doc), None


PATCH = {("outbox", "1"): DELETE, ("seen",): 1}


def test_patch_sets_and_deletes_fields_of_what_it_wrote(store):
    doc = {"outbox": {"1": {"items": "[1]"}, "2": {"items": "[2]"}}, "n": 1}
    store.transact("web:p", lambda _: (Change(doc), None), token="tok")
    store.patch("web:p", "tok", PATCH, drop_first_and_count)
    assert store.load("web:p") == {"outbox": {"2": {"items": "[2]"}}, "n": 1, "seen": 1}


def test_patch_after_someone_else_wrote_keeps_both_changes(store):
    doc = {"outbox": {"1": {"items": "[1]"}}, "n": 1}
    store.transact("web:q", lambda _: (Change(doc), None), token="tok")
    store.transact("web:q", bump)  # another message meanwhile
    store.patch("web:q", "tok", PATCH, drop_first_and_count)
    assert store.load("web:q") == {"outbox": {}, "n": 2, "seen": 1}


def test_plan_says_when_the_index_changes():
    before = {"wake": {"at": 1.0, "payload": "P"}}
    assert plan("k", before, Change({"wake": {"at": 1.0, "payload": "P"}})).wake_changed is False
    moved = plan("k", before, Change({"wake": {"at": 2.0, "payload": "P"}}))
    assert moved.wake_changed and moved.wake_due == 2.0
    gone = plan("k", before, Change({"wake": {"at": 2.0}, "active": False}))
    assert gone.wake_changed and gone.wake_due is None


def test_a_document_from_an_older_version_is_read(store):
    # The shape first written by this code: delivery fields at the top, the reminder's due time inside it.
    old = {
        "key": "web:old",
        "state": None,
        "slots": {},
        "profile": {"first_name": "Old"},
        "progress": {},
        "events": ["a"],
        "outbox": {"3": {"event": "a", "items": [{"text": "hi"}], "created_at": 1.0}},
        "next_seq": 4,
        "reminder": {"enabled": True, "every_days": 2, "due_at": 500.0, "skill": "git"},
        "future_field": 1,
    }
    if isinstance(store, SQLiteStore):
        store._connection().execute(
            "INSERT INTO conversations (key, doc, updated_at) VALUES (?, ?, 0)", ("web:old", json.dumps(old))
        )
    else:
        store.client().collection("conversations").document("web:old").set(old)
    conv, record = relay.read("web:old", store.load("web:old"))
    assert conv.profile["first_name"] == "Old" and conv.version == CONVERSATION_VERSION
    assert conv.wake == {"at": 500.0, "payload": "REMINDER"} and "due_at" not in conv.reminder
    assert record.seen("a") and record.next_seq == 4
    assert [json.loads(r) for r in [record.outbox["3"]["items"]]] == [[{"text": "hi"}]]


def test_a_held_reminder_from_an_older_version_stays_held():
    old = {"key": "messenger:x", "reminder": {"enabled": True, "pending": True, "due_at": 5.0}}
    conv = Conversation.from_dict(old)
    assert conv.held == "REMINDER" and conv.wake == {}


def test_recent_events_are_bounded():
    record = DeliveryRecord()
    for n in range(1000):
        record.remember(str(n))
    assert len(record.events) == 100 and record.seen("999") and not record.seen("0")


class Quiet:
    """A channel that takes every message (the store tests care about the record, not the platform)."""

    name, ack, unprompted_window, keeps_transcript = "web", "", None, True

    def __init__(self, refuse: str = "") -> None:
        self.sent: list[dict] = []
        self.refuse = refuse

    def send(self, item: dict) -> None:
        if self.refuse:
            raise SendFailed("gone", transient=False, user_gone=True, status=403)
        self.sent.append(item)


def test_outbox_claim_record_and_release(store):
    def queue(doc):
        conv, record = relay.read("web:outbox", doc)
        record.enqueue("e1", [{"n": 1}, {"n": 2}], now=store.now())
        record.enqueue("e2", [{"n": 3}], now=store.now())
        taken = record.claim("claim-a", now=store.now(), lease=60)
        return Change(relay.document(conv, record)), taken

    taken = store.transact("web:outbox", queue, token="claim-a")
    assert [entry.seq for entry in taken] == ["1", "2"]

    def claim_b(doc):
        return None, relay.read("web:outbox", doc)[1].claim("claim-b", now=store.now(), lease=60)

    assert store.transact("web:outbox", claim_b) == []  # while claimed, nobody else takes them
    sending = Sending("web:outbox", "claim-a", Quiet(), store, lease=60)
    assert sending.record(taken[0], 1, last=False)  # the first message went out: recorded at once
    entry = relay.read("web:outbox", store.load("web:outbox"))[1].outbox["1"]
    assert entry["sent"] == 1 and entry["claim"] == "claim-a"
    sending.release(taken, None)  # a failed send hands both back, the first from where it stopped
    left = relay.read("web:outbox", store.load("web:outbox"))[1].outbox
    assert left["1"]["sent"] == 1 and left["1"]["claim"] is None and left["2"]["claim"] is None
    # The next delivery takes them over and sends only what is left: {"n": 2}, then {"n": 3}.
    again = store.transact("web:outbox", claim_as("b", store), token="b")
    channel = Quiet()
    assert Sending("web:outbox", "b", channel, store, lease=60).run(again)
    assert channel.sent == [{"n": 2}, {"n": 3}] and relay.read("web:outbox", store.load("web:outbox"))[1].outbox == {}


def claim_as(token: str, store):
    def step(doc):
        conv, record = relay.read("web:outbox", doc)
        taken = record.claim(token, store.now(), 60)
        return Change(relay.document(conv, record)), taken

    return step


def test_a_delivery_whose_entries_were_taken_over_stops_sending(store):
    def queue(doc):
        conv, record = relay.read("web:over", doc)
        record.enqueue("e1", [{"n": 1}, {"n": 2}], now=store.now())
        return Change(relay.document(conv, record)), record.claim("slow", store.now(), lease=60)

    taken = store.transact("web:over", queue, token="slow")

    def take_over(doc):  # its lease ran out; another delivery claims the entry
        conv, record = relay.read("web:over", doc)
        record.outbox["1"].update(claim="fast", lease_until=store.now() + 60)
        return Change(relay.document(conv, record)), None

    store.transact("web:over", take_over)
    channel = Quiet()
    assert not Sending("web:over", "slow", channel, store, lease=60).run(taken)
    assert channel.sent == [{"n": 1}]  # the one in flight; then it sees the entry is someone else's


def test_a_sent_message_is_recorded_past_the_deadline_while_the_file_is_busy_a_moment(tmp_path):
    """The platform took a message as the request's time ran out, and another process holds the
    file's write lock for a second: the record still lands (a short grace past the deadline), so the
    redelivery does not send that message again."""
    store = SQLiteStore(str(tmp_path / "busy.db"))

    def queue(doc):
        conv, record = relay.read("web:busy", doc)
        record.enqueue("e1", [{"n": 1}, {"n": 2}], now=store.now())
        taken = record.claim("k", store.now(), lease=60)
        return Change(relay.document(conv, record)), taken

    taken = store.transact("web:busy", queue, token="k")
    other = sqlite3.connect(str(tmp_path / "busy.db"), check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer, as a second worker would be
    threading.Timer(1.0, other.rollback).start()
    with deadline.within(0.2):
        assert Sending("web:busy", "k", Quiet(), store, lease=60).record(taken[0], 1, last=False)
    assert relay.read("web:busy", store.load("web:busy"))[1].outbox["1"]["sent"] == 1
    other.close()
    store.close()


def test_the_sqlite_clock_is_the_files_even_while_another_process_holds_the_write_lock(tmp_path):
    """A process that starts while another holds the file's write lock reads the clock's base (a read
    needs no lock); where there is none yet, it says it cannot tell (503), never its own wall clock."""
    from chatbot.store.base import StoreUnavailable
    from chatbot.store.sqlite import boot_id

    if not boot_id():
        pytest.skip("no boot id to key the clock on (not Linux)")
    path = str(tmp_path / "clock.db")
    first = SQLiteStore(path)
    first.load("x")  # the file and its tables
    skewed = time.time() - time.monotonic() - 90_000.0  # as the first process of this boot had it
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO clock (boot, base) VALUES (?, ?)", (boot_id(), skewed))
    other = sqlite3.connect(path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    late = SQLiteStore(path)
    assert abs(late.now() - (skewed + time.monotonic())) < 1.0  # the file's clock, a day behind this one's
    other.rollback()
    fresh_path = str(tmp_path / "fresh.db")
    SQLiteStore(fresh_path).load("x")
    other = sqlite3.connect(fresh_path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    cold = SQLiteStore(fresh_path)
    for _ in range(2):  # at once, and again within the pause before it asks the file again
        with deadline.within(0.3), pytest.raises(StoreUnavailable):
            cold.now()
    other.rollback()
    for made in (first, late, cold):
        made.close()
    other.close()


def test_an_expired_claim_can_be_taken_over():
    record = DeliveryRecord()
    record.enqueue("e", [{"n": 1}], 0.0)
    record.claim("dead", now=0.0, lease=60)
    assert record.claim("alive", now=30.0, lease=60) == []
    # The same claimant again (its write landed, the answer was lost, it retried) gets them back.
    assert [entry.seq for entry in record.claim("dead", 30.0, 60)] == ["1"]
    assert [entry.seq for entry in record.claim("alive", now=91.0, lease=60)] == ["1"]


def test_replies_wait_behind_an_earlier_entry_another_delivery_holds():
    record = DeliveryRecord()
    record.enqueue("first", [{"n": 1}], 0.0)
    record.claim("other", now=0.0, lease=60)
    record.enqueue("second", [{"n": 2}], 1.0)
    assert record.claim("mine", now=1.0, lease=60) == []  # never overtaking the first
    assert record.waiting_on_another("second", "mine", 1.0) and not record.waiting_on_another("second", "mine", 61.0)


def test_a_person_gone_is_marked_inactive_and_their_wake_dropped(store):
    def queue(doc):
        conv, record = relay.read("telegram:gone", doc)
        conv.wake_at(50.0, "REMINDER")
        record.enqueue("e", [{"n": 1}], store.now())
        taken = record.claim("k", store.now(), 60)
        return Change(relay.document(conv, record)), taken

    taken = store.transact("telegram:gone", queue, token="k")
    assert Sending("telegram:gone", "k", Quiet(refuse="gone"), store, lease=60).run(taken)
    assert relay.load_conversation(store, "telegram:gone").active is False
    assert store.due(100.0, 10) == []


def test_replies_unsent_for_a_day_by_the_stores_clock_are_dropped_not_sent():
    record = DeliveryRecord()
    record.enqueue("old", [{"n": 1}], now=0.0)
    record.enqueue("new", [{"n": 2}], now=90_000.0)
    taken = record.claim("k", now=90_001.0, lease=60)
    assert [entry.items for entry in taken] == [[{"n": 2}]] and list(record.outbox) == ["2"]


def test_a_fresh_sqlite_file_opened_by_many_threads_at_once(tmp_path):
    """Switching a new file to WAL can fail at once with "locked" when many connections race
    (gunicorn workers booting together did); every connection must get through."""
    for run in range(10):
        stores = [SQLiteStore(str(tmp_path / f"fresh-{run}.db")) for _ in range(2)]  # two "processes"
        errors: list = []

        def worker(backend, errors=errors):
            try:
                for _ in range(3):
                    backend.transact("web:fresh", bump)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(stores[n % 2],)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert stores[0].load("web:fresh")["n"] == 24
        for backend in stores:
            backend.close()


def test_suggestions_from_an_older_sqlite_file_are_carried_over(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        columns = "id INTEGER PRIMARY KEY, conversation TEXT, text TEXT, locale TEXT, created_at REAL"
        conn.execute(f"CREATE TABLE suggestions ({columns})")
        conn.execute("INSERT INTO suggestions VALUES (1, 'web:o', 'Knitting', 'en', 7.0)")
    backend = SQLiteStore(str(path))
    assert backend.filed("suggestions") == [
        {"conversation": "web:o", "text": "Knitting", "locale": "en", "created_at": 7.0}
    ]
    backend.close()


@pytest.mark.parametrize("key", ["web:a/b", "web:100%", "web:__x__", "web:.", "web:Zoë 🎉"])
def test_keys_with_awkward_characters(store, key):
    store.transact(key, bump)
    store.transact(key, bump)
    assert store.load(key)["n"] == 2


def test_an_erase_deletes_the_document_its_wake_and_what_it_filed_and_files_a_receipt(store):
    doc, now = {"n": 1, "wake": {"at": 100.0, "payload": "REMINDER"}}, time.time()
    store.transact("telegram:9", lambda _: (Change(doc, [("suggestions", {"text": "rust", "created_at": now})]), None))
    store.transact("telegram:9", lambda d: (Change(d, [("reports", {"url": "x", "created_at": now})]), None))
    go = {"text": "go", "created_at": now}
    store.transact("telegram:10", lambda _: (Change({"n": 2}, [("suggestions", go)]), None))
    assert store.filed_by("telegram:9") == {"suggestions": 1, "reports": 1}

    receipt = {"id": "receipt-code-1", "deleted": {"conversation": 1}, "created_at": now}
    store.transact("telegram:9", lambda _: (Change(None, [("deletions", receipt)], erase=True), None))

    assert store.load("telegram:9") is None and store.filed_by("telegram:9") == {}
    assert [key for key, _ in store.due(1e12, 10)] == []
    assert [s["text"] for s in store.filed("suggestions")] == ["go"], "someone else's stay"
    found = store.find("deletions", "receipt-code-1")
    assert found["deleted"] == {"conversation": 1} and found["conversation"] == "", "a receipt names nobody"
    assert store.find("deletions", "no-such-code") is None


def test_an_erase_can_leave_a_tombstone_that_expires_soon(store, store_url):
    store.transact("web:t", lambda _: (Change({"n": 1, "profile": {"first_name": "Al"}}), None))
    store.transact("web:t", lambda _: (Change({FORGOTTEN: 1.0, "delivery": {"events": ["e1"]}}, erase=True), None))
    assert store.load("web:t") == {FORGOTTEN: 1.0, "delivery": {"events": ["e1"]}}
    if store_url.startswith("sqlite"):
        assert store.sweep(time.time() + 3 * DAY) == 1 and store.load("web:t") is None
    else:
        expire = store.client().collection("conversations").document("web:t").get().get("expire_at")
        # A conversation's TTL moves an hour at a time, rounded down: never later than promised.
        assert -EXPIRY_STEP - 60 < expire.timestamp() - (time.time() + TOMBSTONE_SECONDS) < 60


def test_a_conversations_ttl_moves_an_hour_at_a_time_so_most_writes_leave_it_out():
    hour = 1_800_000_000 // EXPIRY_STEP * EXPIRY_STEP
    first = to_document("web:a", {"n": 1}, hour + 10, retention_days=30)
    assert changes(first, to_document("web:a", {"n": 2}, hour + 3500, retention_days=30)) == {("n",): 2}
    next_hour = to_document("web:a", {"n": 2}, hour + 3700, retention_days=30)
    assert changes(first, next_hour).keys() == {("n",), ("expire_at",)}
    for now, stored in ((hour + 10, first), (hour + 3700, next_hour)):
        assert now + 30 * DAY - EXPIRY_STEP < stored["expire_at"].timestamp() <= now + 30 * DAY


def test_what_a_process_remembers_follows_its_patches_as_firestore_applies_them():
    recent = Recent(size=2)
    recent.keep("a", 1, {"delivery": {"outbox": {"6": {"items": "[]"}}, "tally": {"d1": {"m": 1}}}, "n": 0})
    kept_before = recent.get("a")[1]
    fields = {("delivery", "outbox", "6"): DELETE, ("profile", "first_name"): "Noor", ("gone", "x"): DELETE}
    recent.patched("a", 1, 2, fields)
    assert recent.get("a") == (2, {"delivery": {"outbox": {}, "tally": {"d1": {"m": 1}}}, "n": 0,
                                   "profile": {"first_name": "Noor"}})  # fmt: skip
    assert kept_before["delivery"]["outbox"] == {"6": {"items": "[]"}}  # a reader of the old version is undisturbed
    recent.patched("a", 1, 3, {("n",): 5})  # made on top of an older version: the kept one stays as it is
    assert recent.get("a")[0] == 2 and recent.get("a")[1]["n"] == 0
    recent.keep("a", 1, {"n": 1})
    recent.keep("b", 1, {"n": 1})
    recent.keep("c", 1, {"n": 1})
    assert recent.get("a") is None and recent.get("c") == (1, {"n": 1})  # the oldest goes
    recent.keep("c", 2, {PACKED: "x" * (RECENT_MAX_CHARS + 1)})
    assert recent.get("c") is None  # too large to keep
    for _ in range(10):
        recent.outcome(False)
    tried = sum(recent.get("b") is not None for _ in range(2000))
    assert 100 < tried < 350  # mostly refused lately: one message in ten still tries


def test_everything_expires_after_the_retention_period(store_url):
    store = open_store(store_url, retention_days=30)
    try:
        doc = {"n": 1, "wake": {"at": time.time() + 10, "payload": "REMINDER"}}
        store.transact(
            "web:old", lambda _: (Change(doc, [("suggestions", {"text": "x", "created_at": time.time()})]), None)
        )
        if store_url.startswith("sqlite"):
            assert store.sweep(time.time() + 29 * DAY) == 0
            assert store.sweep(time.time() + 31 * DAY) == 3  # the conversation, its suggestion, its wake
            assert store.load("web:old") is None and store.filed("suggestions") == []
        else:
            client = store.client()
            for collection, ref in [
                ("conversations", client.collection("conversations").document("web:old")),
                ("reminders", client.collection("reminders").document("web:old")),
                ("suggestions", next(iter(client.collection("suggestions").list_documents()))),
            ]:
                expire = ref.get().get("expire_at")
                slack = EXPIRY_STEP if collection == "conversations" else 0
                assert -slack - 60 < expire.timestamp() - (time.time() + 30 * DAY) < 60, collection
    finally:
        store.close()


def test_an_old_sqlite_file_gains_the_expiry_column(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE conversations (key TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at REAL NOT NULL);")
    old.execute("INSERT INTO conversations VALUES ('web:a', '{\"n\": 1}', ?)", (time.time() - 500 * DAY,))
    old.execute("INSERT INTO conversations VALUES ('settings:web-identity', '{}', ?)", (time.time() - 500 * DAY,))
    old.commit()
    old.close()
    store = SQLiteStore(str(path))
    assert store.load("web:a") == {"n": 1}
    assert store.sweep(time.time()) == 1, "a conversation from before the column expires by its last write"
    assert store.load("settings:web-identity") == {}, "the service's own settings stay"
    store.close()


def test_the_services_own_settings_never_expire(store, store_url):
    """The key that signs web identities: if it expired, every browser would lose its conversation."""
    store.transact("settings:web-identity", lambda _: (Change({"key": "ab12"}), None))
    if store_url.startswith("sqlite"):
        assert store.sweep(time.time() + 10_000 * DAY) == 0
    else:
        raw = store.client().collection("conversations").document("settings:web-identity").get().to_dict()
        assert "expire_at" not in raw
    assert store.load("settings:web-identity") == {"key": "ab12"}
