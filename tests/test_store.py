"""The Store contract, written once and run against every backend."""

from __future__ import annotations

import json
import threading

import pytest

from chat import CONVERSATION_VERSION, Conversation
from store import SQLiteStore, open_store, settle_outbox


@pytest.fixture
def store(store_url):
    backend = open_store(store_url)
    yield backend
    backend.close()


def bump(conv: Conversation):
    conv.slots["n"] = conv.slots.get("n", 0) + 1
    return True, conv.slots["n"]


def test_missing_document_reads_as_new(store):
    assert store.load("web:nobody") is None
    seen = store.transact("web:nobody", lambda conv: (False, (conv.key, conv.state, conv.events)))
    assert seen == ("web:nobody", None, [])
    assert store.load("web:nobody") is None  # nothing written when nothing changed


def test_create_and_load_round_trip(store):
    def create(conv):
        conv.state = "choosing_level"
        conv.profile["first_name"] = "Zoë 🎉"
        conv.progress["git"] = {"level": "beginner", "done": ["git-1"]}
        conv.remember("m_1")
        return True, None

    store.transact("messenger:1", create)
    loaded = store.load("messenger:1")
    assert loaded.state == "choosing_level"
    assert loaded.profile["first_name"] == "Zoë 🎉"
    assert loaded.progress["git"]["done"] == ["git-1"]
    assert loaded.seen("m_1") and loaded.version == CONVERSATION_VERSION


def test_a_failing_step_writes_nothing(store):
    store.transact("web:atomic", bump)

    def half_then_fail(conv):
        conv.slots["n"] = 99
        conv.remember("event-x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.transact("web:atomic", half_then_fail)
    loaded = store.load("web:atomic")
    assert loaded.slots["n"] == 1 and not loaded.seen("event-x")


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
    assert store.load("web:counter").slots["n"] == 200


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_concurrent_redeliveries_apply_an_event_once(store, instances, existing):
    if existing:  # racing to update a conversation, not to create it
        store.transact("web:dup", bump)
    applied = []
    barrier = threading.Barrier(6)

    def deliver(backend):
        barrier.wait()

        def step(conv):
            if conv.seen("m_dup"):
                return False, False
            conv.remember("m_dup")
            conv.slots["applied"] = conv.slots.get("applied", 0) + 1
            return True, True

        applied.append(backend.transact("web:dup", step))

    threads = [threading.Thread(target=deliver, args=(instances[i % 3],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert applied.count(True) == 1
    assert store.load("web:dup").slots["applied"] == 1


def test_unicode_and_large_values(store):
    big = "ñ🎉字" * 20000

    def write(conv):
        conv.slots["big"] = big
        conv.slots["nested"] = {"list": list(range(500)), "quote": "\"'\\\n\t\x00"}
        return True, None

    store.transact("telegram:big", write)
    loaded = store.load("telegram:big")
    assert loaded.slots["big"] == big and loaded.slots["nested"]["quote"] == "\"'\\\n\t\x00"


def test_outbox_claim_and_settle(store):
    def queue(conv):
        conv.enqueue("e1", [{"n": 1}, {"n": 2}], now=100.0)
        conv.enqueue("e2", [{"n": 3}], now=100.0)
        return True, conv.claim("claim-a", now=100.0, lease=60)

    taken = store.transact("web:outbox", queue)
    assert [seq for seq, _ in taken] == ["1", "2"]
    # While claimed, nobody else takes them.
    assert store.transact("web:outbox", lambda c: (False, c.claim("claim-b", now=110.0, lease=60))) == []
    store.settle("web:outbox", "claim-a", {"1": [{"n": 2}], "2": []})
    left = store.load("web:outbox").outbox
    assert list(left) == ["1"] and left["1"]["items"] == [{"n": 2}] and left["1"]["claim"] is None
    # A stale settle from another claim changes nothing.
    store.settle("web:outbox", "claim-zzz", {"1": []})
    assert list(store.load("web:outbox").outbox) == ["1"]


def test_an_expired_claim_can_be_taken_over(store):
    store.transact("web:lease", lambda c: (c.enqueue("e", [{"n": 1}], 0.0) or True, c.claim("dead", now=0.0, lease=60)))
    assert store.transact("web:lease", lambda c: (False, c.claim("alive", now=30.0, lease=60))) == []
    # The same claimant again (its write landed, the answer was lost, it retried) gets them back.
    assert [seq for seq, _ in store.transact("web:lease", lambda c: (False, c.claim("dead", 30.0, 60)))] == ["1"]
    taken = store.transact("web:lease", lambda c: (True, c.claim("alive", now=61.0, lease=60)))
    assert [seq for seq, _ in taken] == ["1"]


def test_settle_marks_a_user_inactive(store):
    store.transact("telegram:gone", lambda c: (c.enqueue("e", [{"n": 1}], 0.0) or True, c.claim("k", 0.0, 60)))
    store.settle("telegram:gone", "k", {"1": []}, deactivate=True)
    assert store.load("telegram:gone").active is False


def test_suggestions_are_filed_with_the_conversation(store):
    def suggest(conv):
        conv.suggestions.append({"text": "Knitting", "locale": "en", "at": 5.0})
        return True, None

    store.transact("web:s", suggest)
    assert store.suggestions()[0] == {"conversation": "web:s", "text": "Knitting", "locale": "en", "created_at": 5.0}
    assert store.load("web:s").suggestions == []


def test_a_document_from_an_older_version_is_read(store, tmp_path):
    # The shape first written by this code, minus fields added since; unknown fields are ignored.
    old = {
        "key": "web:old",
        "state": None,
        "slots": {},
        "profile": {"first_name": "Old"},
        "progress": {},
        "events": ["a"],
        "future_field": 1,
    }
    store.transact("web:old", lambda c: (False, None))  # make sure the schema exists
    if isinstance(store, SQLiteStore):
        store._connection().execute(
            "INSERT INTO conversations (key, doc, updated_at) VALUES (?, ?, 0)", ("web:old", json.dumps(old))
        )
    else:
        store.client().collection("conversations").document("web:old").set(old)
    loaded = store.load("web:old")
    assert loaded.profile["first_name"] == "Old" and loaded.outbox == {} and loaded.version == CONVERSATION_VERSION
    store.transact("web:old", bump)
    assert store.load("web:old").slots["n"] == 1


def test_recent_events_are_bounded():
    conv = Conversation(key="web:x")
    for n in range(1000):
        conv.remember(str(n))
    assert len(conv.events) == 100 and conv.seen("999") and not conv.seen("0")


def test_settle_outbox_ignores_other_claims():
    conv = Conversation(key="web:y")
    conv.enqueue("e", [{"n": 1}], 0.0)
    conv.claim("mine", 0.0, 60)
    assert settle_outbox(conv, "theirs", {"1": []}, False) is False
    assert settle_outbox(conv, "mine", {"1": []}, False) is True and conv.outbox == {}


def test_replies_unsent_for_a_day_are_dropped_not_sent():
    conv = Conversation(key="web:stale")
    conv.enqueue("old", [{"n": 1}], now=0.0)
    conv.enqueue("new", [{"n": 2}], now=90_000.0)
    taken = conv.claim("k", now=90_001.0, lease=60)
    assert [entry["event"] for _, entry in taken] == ["new"] and list(conv.outbox) == ["2"]


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
        assert stores[0].load("web:fresh").slots["n"] == 24
        for backend in stores:
            backend.close()


@pytest.mark.parametrize("key", ["web:a/b", "web:100%", "web:__x__", "web:.", "web:Zoë 🎉"])
def test_keys_with_awkward_characters(store, key):
    store.transact(key, bump)
    store.transact(key, bump)
    assert store.load(key).slots["n"] == 2
