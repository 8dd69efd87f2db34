"""Firestore in earnest, against the emulator: operations per message, faults, permanent errors."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import CATALOG_PAGES, free_port
from emulator import Emulator
from payloads import fb_body, fb_postback, fb_text, post_fb, post_tg, tg_message

import app as app_module
from chatbot.delivery import relay
from chatbot.store.base import Change, StoreError, StoreUnavailable
from chatbot.store.firestore import FirestoreStore
from chatbot.store.url import open_store


class OperationCounter:
    """Counts documents read and written by the RPCs the client library actually makes."""

    def __init__(self, store: FirestoreStore, monkeypatch) -> None:
        self.reads = self.writes = 0
        api = store.client()._firestore_api

        def batch_get(original):
            def wrapped(request=None, **kwargs):
                self.reads += len(request["documents"])
                return original(request=request, **kwargs)

            return wrapped

        def commit(original):
            def wrapped(request=None, **kwargs):
                self.writes += len(request["writes"])
                return original(request=request, **kwargs)

            return wrapped

        monkeypatch.setattr(api, "batch_get_documents", batch_get(api.batch_get_documents))
        monkeypatch.setattr(api, "commit", commit(api.commit))

    def take(self) -> tuple[int, int]:
        counts, self.reads, self.writes = (self.reads, self.writes), 0, 0
        return counts


@pytest.fixture
def fs_store(firestore_url):
    store = open_store(firestore_url)
    yield store
    store.close()


@pytest.fixture
def fs_app(make_settings, firestore_url, fs_store):
    return app_module.create_app(make_settings(store_url=firestore_url), store=fs_store)


def test_operations_per_message(fs_app, telegram, monkeypatch, fs_store):
    """One write for the state change with its replies claimed, then one per message sent (each is
    recorded as soon as Telegram took it, so a crash can resend at most the one in flight)."""
    client = fs_app.test_client()
    store = fs_store
    counter = OperationCounter(store, monkeypatch)
    post_tg(client, tg_message(5100, "/start"))  # first message creates the document
    counter.take()

    def sent_since(before: int) -> int:
        return len([c for c in telegram.calls[before:] if not c.path.endswith("/answerCallbackQuery")])

    calls = len(telegram.calls)
    update = tg_message(5100, "/help", update_id=990001)
    assert post_tg(client, update).status_code == 200
    # This process wrote the conversation last, so no read.
    assert sent_since(calls) == 1 and counter.take() == (0, 2)
    calls = len(telegram.calls)
    assert post_tg(client, tg_message(5100, "/skills", update_id=990004)).status_code == 200
    assert counter.take() == (0, 1 + sent_since(calls))  # the catalog page: several messages
    assert post_tg(client, update).status_code == 200
    # A redelivery finds nothing to do: read to be sure, since what this process remembers may be out of
    # date (another instance may have written), and a step that writes nothing has no write to refuse it.
    assert counter.take() == (1, 0)
    # Another instance writes the conversation meanwhile: the write made from memory is refused
    # (nothing applied), the message reads and writes again, and the other's change is kept.
    other = FirestoreStore(project=store.project)
    other.transact("telegram:5100", lambda doc: (Change({**doc, "created_at": 12345.0}), None))
    other.close()
    assert post_tg(client, tg_message(5100, "/help", update_id=990002)).status_code == 200
    assert counter.take() == (1, 3)
    assert store.load("telegram:5100")["created_at"] == 12345.0
    counter.take()
    assert post_tg(client, tg_message(5100, "/help", update_id=990003)).status_code == 200
    assert counter.take() == (0, 2)  # and from then on it is this process's write again


def test_a_get_started_from_someone_new_creates_the_conversation_without_a_read(
    fs_app, make_settings, monkeypatch, fs_store, graph
):
    # A process that has not yet heard Firestore's time reads first: nothing it writes is stamped by
    # its own clock, which may be wrong.
    counter = OperationCounter(fs_store, monkeypatch)
    cold = fb_body(fb_postback("psid-cold", "Get Started", "GET_STARTED", mid="m_cold_1"))
    assert post_fb(fs_app.test_client(), cold).status_code == 200
    assert counter.take() == (1, 1 + len(graph.messages("psid-cold")))
    # From then on, someone new is created without a read; then each message recorded as it went out.
    first = fb_body(fb_postback("psid-fresh", "Get Started", "GET_STARTED", mid="m_fresh_1"))
    assert post_fb(fs_app.test_client(), first).status_code == 200
    sent = len(graph.messages("psid-fresh"))
    assert counter.take() == (0, 1 + sent)
    # An instance that never wrote for them gets a second tap: it reads (cold), then writes.
    other_store = open_store(f"firestore://{fs_store.project}")
    other = app_module.create_app(make_settings(store_url=f"firestore://{fs_store.project}"), store=other_store)
    counter = OperationCounter(other_store, monkeypatch)
    again = fb_body(fb_postback("psid-fresh", "Get Started", "GET_STARTED", mid="m_fresh_2"))
    assert post_fb(other.test_client(), again).status_code == 200
    assert counter.take() == (1, 1 + len(graph.messages("psid-fresh")) - sent)
    record = relay.read("messenger:psid-fresh", other_store.load("messenger:psid-fresh"))[1]
    assert record.seen("m_fresh_1") and record.seen("m_fresh_2") and record.outbox == {}
    other_store.close()


def test_what_a_process_remembers_of_its_writes_is_what_firestore_holds(fs_app, graph, fs_store):
    client, store = fs_app.test_client(), fs_store
    graph.profiles["psid-mem"] = {"first_name": "Noor", "locale": "es_ES"}
    events = [fb_postback("psid-mem", "Get Started", "GET_STARTED", mid="m_mem_0")]
    events += [fb_text("psid-mem", text, mid=f"m_mem_{n}") for n, text in enumerate(["hola", "python", "ayuda"], 1)]
    for event in events:  # receipts, the profile lookup's patch and the state changes, each kept
        assert post_fb(client, fb_body(event)).status_code == 200
        update_time, kept = store._recent.get("messenger:psid-mem")
        snapshot = store._ref("messenger:psid-mem").get()
        assert (update_time, kept) == (snapshot.update_time, snapshot.to_dict())


def test_redelivery_and_failed_send_on_firestore(fs_app, graph, fs_store):
    client = fs_app.test_client()
    graph.profiles["psid-fs"] = {"first_name": "Ana"}
    body = fb_body(fb_postback("psid-fs", "Get Started", "GET_STARTED", mid="m_fs_1"))
    graph.queue(200, {"recipient_id": "psid-fs", "message_id": "m"}, match="/me/messages")
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    assert post_fb(client, body).status_code == 503
    assert post_fb(client, body).status_code == 200
    assert post_fb(client, body).status_code == 200
    texts = [m["message"].get("text") for m in graph.messages("psid-fs")]
    assert texts[1:] == ["Where would you like to start?"] * 2 and len(texts) == 3
    record = relay.read("messenger:psid-fs", fs_store.load("messenger:psid-fs"))[1]
    assert record.outbox == {} and record.seen("m_fs_1")


def test_document_too_large_is_a_permanent_error(firestore_url):
    store = FirestoreStore(project=firestore_url.removeprefix("firestore://"))
    with pytest.raises(StoreError):
        store.transact("web:huge", lambda doc: (Change({"blob": "x" * 1_100_000}), None))
    store.close()


def test_a_write_the_store_refuses_is_not_acknowledged(fs_app, graph, log_records, fs_store):
    store = fs_store
    # A conversation at the edge of Firestore's 1 MiB document limit: the next write cannot fit.
    big = {"slots": {"blob": "y" * 1_047_500}, "profile": {"looked_up": True}}
    store.transact("messenger:psid-big", lambda doc: (Change(big), None))
    response = post_fb(fs_app.test_client(), fb_body(fb_text("psid-big", "help " * 50)))
    # Nothing was recorded, so nothing is acknowledged: Meta redelivers, and nothing was sent.
    assert response.status_code == 503 and graph.messages("psid-big") == []
    assert any(r.getMessage() == "store failed, asking for a retry" for r in log_records)


@pytest.mark.timeout(60)  # the client's own default retries would go on for minutes
def test_a_call_given_up_on_does_not_linger(monkeypatch):
    from chatbot.store.base import StoreUnavailable

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nobody listens
    store = FirestoreStore(project="demo-nobody")
    # The caller's own thread gives up at the deadline (each call gets the time left): a message's
    # write, a patch, and a plain read alike.
    with pytest.raises(StoreUnavailable):
        store.transact("web:linger", lambda doc: (Change({}), None))
    with pytest.raises(StoreUnavailable):
        store.patch("web:linger", "no-such-token", {("a",): 1}, lambda doc: (Change({}), None))
    with pytest.raises(StoreUnavailable):
        store.load("web:linger")
    store.close()


@pytest.fixture
def own_emulator(monkeypatch):
    """An emulator of this test's own, to freeze and thaw without disturbing the others."""
    emulator = Emulator(free_port())
    emulator.start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    yield emulator
    if emulator.process is not None:
        os.killpg(emulator.process.pid, signal.SIGCONT)
    emulator.stop()


def freeze(emulator, tmp_path):
    """Unreachable: connections hang."""
    os.killpg(emulator.process.pid, signal.SIGSTOP)

    def thaw():
        os.killpg(emulator.process.pid, signal.SIGCONT)
        time.sleep(1.0)  # let any abandoned call wake up and roll back

    return thaw


def restart(emulator, tmp_path):
    """Gone: connections refused. It comes back on the same port with the same documents."""
    saved = emulator.export(str(tmp_path / "export"))
    emulator.stop()
    return lambda: emulator.start(import_data=saved)


def load_once_back(store, key: str, patience: float = 60.0):
    """The record, as soon as the store answers again: after an outage the client reconnects with a
    backoff, and until it does a read is refused as unavailable, as the webhook's 503 says."""
    give_up = time.monotonic() + patience
    while True:
        try:
            return store.load(key)
        except StoreUnavailable:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.5)


@pytest.mark.parametrize("fault", [freeze, restart], ids=["frozen", "stopped-and-started"])
def test_store_lost_mid_conversation(own_emulator, make_settings, graph, log_records, tmp_path, fault):
    store = open_store(own_emulator.url())
    application = app_module.create_app(make_settings(store_url=own_emulator.url()), store=store)
    client = application.test_client()
    graph.profiles["psid-down"] = {"first_name": "Ana"}
    assert post_fb(client, fb_body(fb_text("psid-down", "hi"))).status_code == 200
    before = store.load("messenger:psid-down")
    sent_before = len(graph.messages("psid-down"))

    mend = fault(own_emulator, tmp_path)
    body = fb_body(fb_text("psid-down", "browse", mid="m_while_down"))
    started = time.monotonic()
    response = post_fb(client, body)
    waited = time.monotonic() - started
    assert response.status_code == 503 and response.data == b"store unavailable, retry later\n"
    assert waited < 15  # well inside Messenger's 20-second window
    assert not [r for r in log_records if r.exc_info]  # a clean warning, no traceback
    assert len(graph.messages("psid-down")) == sent_before

    mend()
    after = load_once_back(store, "messenger:psid-down")
    if after != before:
        # Nothing half written: a write already on its way when the store froze (a message starts from
        # what this process wrote last, without a read) lands whole once it thaws, the event taken and
        # its replies queued under the claim of the delivery that gave up. A redelivery meanwhile is
        # answered 503 (nobody is sending them); once the claim runs out, the next one sends them, once.
        record = relay.read("messenger:psid-down", after)[1]
        assert record.seen("m_while_down") and len(record.outbox) == 1
        assert post_fb(client, body).status_code == 503
        assert len(graph.messages("psid-down")) == sent_before

        def a_minute_on(doc):
            conv, record = relay.read("messenger:psid-down", doc)
            for entry in record.outbox.values():
                entry["lease_until"] = time.time() - 1
            return Change(relay.document(conv, record)), None

        store.transact("messenger:psid-down", a_minute_on)
    assert post_fb(client, body).status_code == 200
    assert post_fb(client, body).status_code == 200
    catalog = [
        m
        for m in graph.messages("psid-down")[sent_before:]
        if f"page 1 of {CATALOG_PAGES}" in m["message"].get("text", "")
    ]
    assert len(catalog) == 1  # the redelivered event was processed once
    assert relay.read("messenger:psid-down", store.load("messenger:psid-down"))[1].seen("m_while_down")
    store.close()
