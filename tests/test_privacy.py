"""A person's data is theirs: "delete my data" in the chat on every channel, the owner's
`flask forget`, Meta's data deletion callback and its status page, the privacy page, and
retention; on both stores, through the real routes and commands."""

from __future__ import annotations

import json
import time

import pytest
from payloads import fb_body, fb_text, post_fb, signed_request
from transcript import MessengerUser, TelegramUser, WebUser, person_on

import app as app_module
from chatbot.delivery import relay
from chatbot.store.base import FORGOTTEN, RECEIPTS

WELCOME_NEW = "I'm Mentor. Pick a skill"
CONFIRM = "This deletes everything I keep about you here"
DONE = "text: Done. I deleted everything I had about you. If you write again, we start from scratch."


@pytest.fixture(params=["messenger", "telegram", "web"])
def person(request, store_app, each_store, graph, telegram):
    return person_on(request.param, store_app, graph, telegram, "psid-forget", 770011, "web-forget", each_store)


def learner(person) -> None:
    """A person with progress, a reminder due, and a suggestion and a broken-link report filed."""
    person.start()
    person.press("x", "quick", "PICK:python")
    person.press("x", "quick", "LEVEL:python:beginner")
    person.press("x", "quick", "HOURS:python:4")
    person.press("x", "quick", "REMIND:on")
    person.press("x", "postback", "DONE:python:py-1")
    person.say("suggest rust")
    person.press("x", "postback", "BROKEN:python:py-2")


def nothing_but_ids(doc: dict | None) -> bool:
    """What is left of a forgotten conversation: nothing, or for a couple of days its event ids alone
    (so that a redelivery in flight does not bring the person back), and no reply still to send."""
    if doc is None:
        return True
    delivery = doc.get("delivery") or {}
    kept = {k: v for k, v in delivery.items() if v not in ({}, [], 0, None)}
    return set(doc) == {FORGOTTEN, "delivery"} and set(kept) <= {"events", "next_seq", "flood"}


def stored(person) -> tuple[dict | None, dict, list]:
    store = person.store
    due = [key for key, _ in store.due(time.time() + 400 * 86400, 1000) if key == person.key]
    return store.load(person.key), store.filed_by(person.key), due


def test_delete_my_data_asks_then_deletes_everything_and_starts_afresh(person):
    learner(person)
    doc, filed, due = stored(person)
    assert doc["progress"] and filed == {"suggestions": 1, "reports": 1} and due == [person.key]

    assert CONFIRM in "\n".join(person.say("please delete my data"))
    assert stored(person)[0]["progress"], "asking deletes nothing"
    said = person.say("yes", event_id="9100001")
    assert said == [DONE]

    doc, filed, due = stored(person)
    assert doc[FORGOTTEN] and set(doc) == {FORGOTTEN, "delivery"}, "only the tombstone is left"
    assert "profile" not in doc and not doc["delivery"]["outbox"] and filed == {} and due == []
    assert all(entry["from"] == "bot" for entry in doc["delivery"]["transcript"])
    suggestions = person.store.filed("suggestions")
    assert all(s["conversation"] != person.key for s in suggestions)

    # The platform delivers the "yes" again: no second confirmation, no greeting of a new conversation.
    assert person.say("yes", event_id="9100001") == []
    assert person.statuses[-1] == 200

    greeted = "\n".join(person.say("hi"))
    assert WELCOME_NEW in greeted and "Good to see you" not in greeted
    assert relay.load_conversation(person.store, person.key).progress == {}


def test_keeping_the_data_changes_nothing(person):
    learner(person)
    before = stored(person)[0]["progress"]
    person.say("forget me")
    person.say("no")
    assert stored(person)[0]["progress"] == before and stored(person)[1] == {"suggestions": 1, "reports": 1}


def test_the_menu_entry_and_telegram_command_ask_too(store_app, telegram, graph, skills):
    client = store_app.test_client()
    tg = TelegramUser(client, telegram, 770012, first_name="Ana", language_code="es")
    assert "Esto borra todo lo que guardo sobre ti" in "\n".join(tg.say("/forget"))
    web = WebUser(client, "web-menu")
    help_taps = [line for line in web.press("Help", "quick", "HELP") if "Delete my data" in line]
    assert help_taps, "the help menu offers it"
    assert CONFIRM in "\n".join(web.press("Delete my data", "quick", "FORGET"))
    assert skills.data["bot"]["messenger_profile"]["persistent_menu"][-1]["payload"] == "FORGET"


# ---------------------------------------------------------------- the owner's command


def test_flask_forget_deletes_a_person_and_says_which(person):
    learner(person)
    runner = person.app.test_cli_runner()
    result = runner.invoke(args=["forget", person.channel, person.key.split(":", 1)[1]])
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert line.startswith(f"deleted {person.key}: the conversation, progress in 1 skill, the reminder, 1 suggestion")
    assert "1 broken-link report" in line and "/deletion?id=" in line
    doc, filed, due = stored(person)
    assert nothing_but_ids(doc) and filed == {} and due == []

    again = runner.invoke(args=["forget", person.channel, person.key.split(":", 1)[1]])
    assert again.exit_code == 0 and again.output.strip() == f"nothing stored for {person.key}: nothing to delete"

    greeted = "\n".join(person.say("hello"))
    assert WELCOME_NEW in greeted and "Good to see you" not in greeted

    code = line.rsplit("id=", 1)[1]
    page = person.app.test_client().get(f"/deletion?id={code}")
    assert page.status_code == 200 and "progress in 1 skill(s)" in page.get_data(as_text=True)


def test_flask_forget_refuses_an_unknown_channel(app):
    result = app.test_cli_runner().invoke(args=["forget", "whatsapp", "1"])
    assert result.exit_code == 2 and "whatsapp" in result.output


# ---------------------------------------------------------------- Meta's data deletion callback


def post_deletion(client, value: str | None, **kwargs):
    data = {} if value is None else {"signed_request": value}
    return client.post("/webhook/messenger/data-deletion", data=data, **kwargs)


def meta_request(user_id: str, issued_at: float | None = None) -> str:
    """A data deletion request as Meta sends it: issued now (or when told)."""
    issued = int(time.time() if issued_at is None else issued_at)
    return signed_request({"algorithm": "HMAC-SHA256", "user_id": user_id, "issued_at": issued})


def messenger_learner(store_app, graph, psid: str) -> MessengerUser:
    graph.profiles[psid] = {"first_name": "Bo", "locale": "en_US"}
    user = MessengerUser(store_app.test_client(), graph, psid)
    user.start()
    user.press("x", "quick", "PICK:sql")
    user.say("suggest haskell")
    return user


def test_meta_callback_matches_the_app_scoped_id_and_deletes(store_app, graph, each_store):
    messenger_learner(store_app, graph, "7100001")
    graph.page_ids_of["asid-000"] = []  # unrelated, must not matter
    graph.page_ids_of["4455667788"] = ["7100001"]
    client = store_app.test_client()
    payload = {"algorithm": "HMAC-SHA256", "user_id": "4455667788", "issued_at": int(time.time())}

    response = post_deletion(client, signed_request(payload))

    assert response.status_code == 200, response.data
    body = response.get_json()
    code = body["confirmation_code"]
    assert body["url"] == f"https://bot.example.test/deletion?id={code}"
    store = each_store
    assert nothing_but_ids(store.load("messenger:7100001")) and store.filed_by("messenger:7100001") == {}
    receipt = store.find(RECEIPTS, code)
    assert receipt["deleted"] == {"suggestions": 1, "conversation": 1} and receipt["matched"] == 1
    assert "7100001" not in json.dumps(receipt) and "4455667788" not in json.dumps(receipt)

    page = client.get(f"/deletion?id={code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "the conversation and its settings" in text and "1 suggested skill(s)" in text
    spanish = client.get(f"/deletion?id={code}", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert "la conversación y sus ajustes" in spanish.get_data(as_text=True)


def test_meta_callback_says_honestly_when_it_cannot_match(store_app, graph, each_store):
    messenger_learner(store_app, graph, "7100002")
    graph.page_ids_of["5566778899"] = ["7100002"]
    graph.same_business = False  # Meta links ids only for an app and a page of one business
    client = store_app.test_client()
    body = post_deletion(client, meta_request("5566778899")).get_json()
    receipt = each_store.find(RECEIPTS, body["confirmation_code"])
    assert receipt["deleted"] == {} and receipt["matched"] == 0 and "no page-scoped id" in receipt["note"]
    assert each_store.load("messenger:7100002") is not None, "nobody else's data goes"
    page = client.get(f"/deletion?id={body['confirmation_code']}").get_data(as_text=True)
    assert "could not be matched" in page and "delete my data" in page


def test_meta_callback_without_app_id_still_answers_and_says_why(make_settings, graph, store):
    application = app_module.create_app(make_settings(fb_app_id=None), store=store)
    body = post_deletion(application.test_client(), meta_request("1"))
    assert body.status_code == 200
    receipt = store.find(RECEIPTS, body.get_json()["confirmation_code"])
    assert "FB_APP_ID is not set" in receipt["note"]
    assert not [c for c in graph.calls if "ids_for_pages" in c.path]


def test_meta_callback_with_a_page_scoped_id_deletes_that_conversation(store_app, graph, each_store):
    # An owner testing the callback by hand sends the id they see in their logs.
    messenger_learner(store_app, graph, "66001")
    body = post_deletion(store_app.test_client(), meta_request("66001"))
    assert body.status_code == 200 and nothing_but_ids(each_store.load("messenger:66001"))


def test_meta_unreachable_asks_meta_to_come_back(app, graph, store):
    graph.queue(status=500, body={"error": {"message": "An unknown error occurred", "code": 1}}, match="ids_for_pages")
    response = post_deletion(app.test_client(), meta_request("1"))
    assert response.status_code == 503
    assert store.filed(RECEIPTS) == []


BAD_REQUESTS = [
    ("forged", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455"}, secret="not-the-secret"), 403),
    ("tampered", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455"})[:-3] + "AAA", 403),
    ("truncated", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455"}).split(".")[0], 400),
    ("broken base64", lambda: "%%%." + signed_request({"user_id": "1"}).split(".")[1], 400),
    ("three parts", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455"}) + ".x", 400),
    ("other algorithm", lambda: signed_request({"algorithm": "HMAC-SHA1", "user_id": "4455"}), 400),
    ("no algorithm", lambda: signed_request({"user_id": "4455"}), 400),
    ("not JSON", lambda: signed_request("user_id=4455"), 400),
    ("a list", lambda: signed_request("[1, 2]"), 400),
    ("no user", lambda: signed_request({"algorithm": "HMAC-SHA256"}), 400),
    ("no time", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455"}), 400),
    ("odd time", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "4455", "issued_at": "now"}), 400),
    ("an hour old", lambda: meta_request("4455", issued_at=time.time() - 3700), 403),
    ("from the future", lambda: meta_request("4455", issued_at=time.time() + 3600), 403),
    ("odd user", lambda: signed_request({"algorithm": "HMAC-SHA256", "user_id": "../../x"}), 400),
    ("empty", lambda: "", 400),
    ("missing", lambda: None, 400),
    ("huge", lambda: "a" * 20_000 + "." + "b" * 20_000, 413),
]


@pytest.mark.parametrize("name,make,status", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_deletion_requests_get_a_clear_4xx_and_change_nothing(store_app, graph, name, make, status, each_store):
    messenger_learner(store_app, graph, "4455")
    graph.page_ids_of["4455"] = ["4455"]
    before = each_store.load("messenger:4455")
    response = post_deletion(store_app.test_client(), make())
    assert response.status_code == status, response.data
    assert response.data.strip(), "the answer says why"
    assert each_store.load("messenger:4455") == before
    assert each_store.filed(RECEIPTS) == []


def test_a_replayed_deletion_request_deletes_nothing_new(store_app, graph, each_store):
    """A recorded request posted again once the person has written again: their new data stays, and
    the caller gets the first answer again (Meta asking twice gets one confirmation code)."""
    messenger_learner(store_app, graph, "7100009")
    graph.page_ids_of["4455667700"] = ["7100009"]
    client = store_app.test_client()
    recorded = meta_request("4455667700")
    first = post_deletion(client, recorded)
    assert first.status_code == 200 and nothing_but_ids(each_store.load("messenger:7100009"))
    messenger_learner(store_app, graph, "7100009")  # the person comes back
    again = post_deletion(client, recorded)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    kept = relay.load_conversation(each_store, "messenger:7100009")
    assert kept.slots["skill"] == "sql" and each_store.filed_by("messenger:7100009"), "the new data is still there"
    assert len(each_store.filed(RECEIPTS)) == 1


def respelled(request: str) -> list[str]:
    """The same signature written other ways base64 decoders accept: padded, in the +/ alphabet,
    with other spare bits in its last character."""
    import base64

    signature, payload = request.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    spare = alphabet[last ^ 1] if len(raw) % 3 else signature[-1]  # 32 bytes: 2 spare bits in the last
    ways = [signature + "=", base64.b64encode(raw).decode().rstrip("="), signature[:-1] + spare]
    return [f"{way}.{payload}" for way in ways if way != signature]


def test_a_replay_with_the_signature_respelled_deletes_nothing_new(store_app, graph, each_store):
    messenger_learner(store_app, graph, "7100010")
    graph.page_ids_of["4455667710"] = ["7100010"]
    client = store_app.test_client()
    recorded = meta_request("4455667710")
    assert post_deletion(client, recorded).status_code == 200
    messenger_learner(store_app, graph, "7100010")  # the person comes back
    for variant in respelled(recorded):
        assert post_deletion(client, variant).status_code == 400
    assert relay.load_conversation(each_store, "messenger:7100010").slots["skill"] == "sql"
    assert len(each_store.filed(RECEIPTS)) == 1


def test_deletion_routes_refuse_wrong_methods_and_codes(app):
    client = app.test_client()
    assert client.get("/webhook/messenger/data-deletion").status_code == 405
    assert client.post("/deletion?id=abcdefgh12").status_code == 405
    assert client.get("/deletion").status_code == 400
    assert client.get("/deletion?id=<script>").status_code == 400
    unknown = client.get("/deletion?id=abcdefgh12345")
    assert unknown.status_code == 404 and "No deletion request has this code" in unknown.get_data(as_text=True)


def test_deletion_callback_is_off_with_messenger(make_settings):
    application = app_module.create_app(make_settings(fb_app_secret=None, fb_page_access_token=None))
    response = post_deletion(application.test_client(), signed_request({"algorithm": "HMAC-SHA256", "user_id": "1"}))
    assert response.status_code == 404


def test_a_webhook_for_a_forgotten_person_is_not_greeted_twice(store_app, graph):
    """Messenger redelivers a batch that held the "yes": the tombstone's event ids answer it."""
    user = messenger_learner(store_app, graph, "7100003")
    user.say("delete my data")
    yes = fb_text("7100003", "yes", mid="m_yes_once")
    client = store_app.test_client()
    first = post_fb(client, fb_body(yes))
    sent = len(graph.messages("7100003"))
    second = post_fb(client, fb_body(yes))
    assert first.status_code == second.status_code == 200
    assert len(graph.messages("7100003")) == sent


# ---------------------------------------------------------------- the privacy page


def test_privacy_page_says_what_where_how_long_and_how_to_delete(make_settings, store_url):
    settings = make_settings(
        store_url=store_url, owner_name="Ada Lovelace", owner_contact="privacy@example.test", retention_days="90"
    )
    application = app_module.create_app(settings)
    page = application.test_client().get("/privacy")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html" and page.headers["Content-Language"] == "en"
    assert "run by Ada Lovelace" in text and 'href="mailto:privacy@example.test"' in text
    assert "expires 90 days after it was last written" in text
    assert "/forget does the same" in text and "Apps and Websites" in text and "Telegram" in text
    where = "Firestore database" if store_url.startswith("firestore") else "database file on the computer"
    assert where in text
    spanish = application.test_client().get("/privacy?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in spanish and "caduca 90 días" in spanish and 'hreflang="en"' in spanish


def test_privacy_page_follows_the_channels_and_escapes_the_owner(make_settings):
    settings = make_settings(telegram_bot_token=None, telegram_secret_token=None, owner_name="<b>Eve</b>")
    text = app_module.create_app(settings).test_client().get("/privacy").get_data(as_text=True)
    assert "/forget" not in text and "Telegram" not in text
    assert "&lt;b&gt;Eve&lt;/b&gt;" in text and "<b>Eve</b>" not in text
    assert "has not published a contact address" in text


def test_a_retention_setting_that_is_not_a_number_stops_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("STORE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("RETENTION_DAYS", "a year")
    with pytest.raises(SystemExit) as stopped:
        app_module.create_app()
    assert str(stopped.value) == "not starting: RETENTION_DAYS='a year': use a whole number above 0"


def test_a_redelivery_after_the_owner_forgot_the_person_neither_replies_nor_brings_them_back(
    store_app, graph, each_store
):
    """Forgotten between a failed send and Meta's redelivery: the tombstone's event ids recognise the
    redelivery; the reply that was waiting goes with the person."""
    graph.profiles["7300001"] = {"first_name": "Ana", "locale": "en_US"}
    body = fb_body(fb_text("7300001", "hello", mid="m_before_forget"))
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    client = store_app.test_client()
    assert post_fb(client, body).status_code == 503  # recorded; the greeting waits in the outbox
    result = store_app.test_cli_runner().invoke(args=["forget", "messenger", "7300001"])
    assert result.exit_code == 0 and result.output.startswith("deleted messenger:7300001")
    sent = len(graph.messages("7300001"))
    assert post_fb(client, body).status_code == 200
    assert len(graph.messages("7300001")) == sent  # no greeting for someone who asked to be forgotten
    assert nothing_but_ids(each_store.load("messenger:7300001"))
