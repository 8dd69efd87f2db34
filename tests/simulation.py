"""Fourteen days of learners and their reminders, through the real webhook and task routes.

An injected clock; the scheduler every quarter hour; people on Messenger, Telegram and the web
who behave in six ways; the fake platforms, which refuse a Messenger send outside the 24-hour
window and answer Telegram sends with 429 now and then. ``simulate`` returns what happened to
every person, for the rules to be checked against (tests/test_simulation.py).
"""

from __future__ import annotations

import datetime
import json
import random
from dataclasses import dataclass, field

from payloads import fb_body, fb_postback, fb_quick_reply, fb_text, post_fb, post_tg, tg_callback, tg_message

from chatbot.delivery import relay

DAY, QUARTER = 86400.0, 900.0
START = datetime.datetime(2026, 12, 7, 6, 0, tzinfo=datetime.UTC).timestamp()
BEHAVIOURS = ("answers_all", "answers_some", "silent_after_day_2", "blocks_day_5", "changes_hour_day_3", "off_day_4")
TZ = {"messenger": -5.0, "telegram": 1.0, "web": 5.5}  # hours from UTC, one per channel


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Person:
    channel: str
    user_id: str
    behaviour: str
    seen: int = 0  # platform calls already looked at
    answer_at: float | None = None
    answer_payload: str = ""
    answered: int = 0
    last_answer_at: float = 0.0
    reminders: list = field(default_factory=list)  # when each reminder was accepted by the platform
    refused: int = 0  # reminders the platform refused
    welcomed_back: int = 0  # held reminders shown when they wrote again
    gone_at: float | None = None
    off_at: float | None = None
    hour_changed_at: float | None = None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


class World:
    def __init__(self, client, graph, telegram, clock: Clock, people_per_behaviour: int, seed: int = 7, store=None):
        self.client, self.graph, self.telegram, self.clock = client, graph, telegram, clock
        self.store = store
        self.rng = random.Random(seed)
        groups = [
            (c, b, n) for c in ("messenger", "telegram", "web") for b in BEHAVIOURS for n in range(people_per_behaviour)
        ]
        self.people = [
            Person(
                channel, str(7700000 + index) if channel == "telegram" else f"{channel[:2]}-{behaviour}-{n}", behaviour
            )
            for index, (channel, behaviour, n) in enumerate(groups)
        ]
        graph.clock = clock

    # ---------------------------------------------------------------- what a person does

    def send(self, person: Person, text: str = "", payload: str = "") -> list[dict]:
        """One message from ``person``; what the bot answered (web) or [] (the platforms record it)."""
        if person.channel == "messenger":
            self.graph.inbound[person.user_id] = self.clock()
            if payload:
                body = fb_body(fb_quick_reply(person.user_id, payload, payload))
            else:
                body = fb_body(fb_text(person.user_id, text))
            self.deliver(lambda: post_fb(self.client, body))
            return []
        if person.channel == "telegram":
            update = tg_callback(int(person.user_id), payload) if payload else tg_message(int(person.user_id), text)
            self.deliver(lambda: post_tg(self.client, update))
            return []
        body = {"user_id": person.user_id, "utc_offset_minutes": int(TZ["web"] * 60)}
        body |= {"payload": payload} if payload else {"text": text}
        answer = self.client.post("/api/chat", json=body)
        assert answer.status_code == 200, answer.data
        return answer.get_json()["replies"]

    def press_postback(self, person: Person, payload: str) -> None:
        """A button on a Messenger card is a postback, not a quick reply."""
        self.graph.inbound[person.user_id] = self.clock()
        body = fb_body(fb_postback(person.user_id, "Done", payload))
        self.deliver(lambda: post_fb(self.client, body))

    def deliver(self, post) -> None:
        """As the platforms do: a 503 is delivered again, a little later, until it is taken."""
        for _ in range(5):
            status = post().status_code
            if status == 200:
                return
            assert status == 503, status
            self.clock.sleep(5)
        raise AssertionError("not taken after five deliveries")

    def start(self) -> None:
        for person in self.people:
            if person.channel == "messenger":
                self.graph.profiles[person.user_id] = {
                    "first_name": "Ana",
                    "locale": "en_US",
                    "timezone": TZ["messenger"],
                }
            self.send(person, text="hi")
            for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8", "REMIND:on"):
                self.send(person, payload=payload)
            if person.channel == "telegram":  # Telegram does not say the time zone: the bot asks once
                local = datetime.datetime.fromtimestamp(self.clock() + TZ["telegram"] * 3600, tz=datetime.UTC)
                self.send(person, text=local.strftime("%H:%M"))
            self.scan(person, from_task=False)
            self.clock.sleep(5)

    # ---------------------------------------------------------------- what reaches them

    def scan(self, person: Person, from_task: bool) -> list[dict]:
        """What reached ``person`` since last looked. After a scheduler run, reminder cards (accepted,
        or refused by the platform); after their own message, held reminders shown on their return."""
        if person.channel == "web":
            return []
        fake = self.graph if person.channel == "messenger" else self.telegram
        calls = fake.calls_for(person.user_id)
        fresh, person.seen = calls[person.seen :], len(calls)
        cards = []
        for call in fresh:
            text = json.dumps(call.body or {}, ensure_ascii=False)
            if not from_task:
                person.welcomed_back += "Welcome back" in text and call.status == 200
            elif "Next up:" in text and call.status == 200:
                cards.append(call.body)
                person.reminders.append(self.clock())
            elif "Next up:" in text and call.status != 429:  # a 429 is waited out and sent again, not refused
                person.refused += 1
        return cards

    def done_payload(self, body: dict) -> str:
        text = json.dumps(body)
        start = text.index('"DONE:')
        return text[start + 1 : text.index('"', start + 1)]

    # ---------------------------------------------------------------- how they behave

    def wants_to_answer(self, person: Person, day: float) -> bool:
        behaviour = person.behaviour
        if behaviour == "answers_some":  # every other reminder; on the web, the page every other day
            return int(day) % 2 == 0 if person.channel == "web" else len(person.reminders) % 2 == 1
        if behaviour == "silent_after_day_2":
            return day < 2
        if behaviour == "blocks_day_5":
            return day < 5
        if behaviour == "off_day_4":
            return day < 4
        return True

    def after_run(self) -> None:
        now = self.clock()
        day = (now - START) / DAY
        for person in self.people:
            self.life_events(person, day)
            if person.gone_at or person.channel == "web":
                continue
            for card in self.scan(person, from_task=True):
                if self.wants_to_answer(person, day):
                    person.answer_at = now + self.rng.uniform(60, 3000)  # within the hour
                    person.answer_payload = self.done_payload(card)
            if person.answer_at is not None and now >= person.answer_at:
                person.answer_at = None
                person.answered += 1
                person.last_answer_at = now
                if person.answered % 2 == 0:  # every other answer is "Tomorrow, please": the plan lasts the fortnight
                    person.answer_payload = "SNOOZE:1"
                if person.channel == "messenger":
                    self.press_postback(person, person.answer_payload)
                else:
                    self.send(person, payload=person.answer_payload)
                self.scan(person, from_task=False)

    def life_events(self, person: Person, day: float) -> None:
        now = self.clock()
        if person.behaviour == "blocks_day_5" and day >= 5 and person.gone_at is None:
            person.gone_at = now
            (self.graph.blocked if person.channel == "messenger" else self.telegram.blocked).add(person.user_id)
        if person.behaviour == "off_day_4" and day >= 4 and person.off_at is None:
            person.off_at = now
            self.send(person, text="stop reminders")
            self.scan(person, from_task=False)
        if person.behaviour == "changes_hour_day_3" and day >= 3 and person.hour_changed_at is None:
            person.hour_changed_at = now
            self.send(person, payload="REMIND_AT:8")
            self.scan(person, from_task=False)

    def open_web_pages(self) -> None:
        """Web people who answer open the page once a day, around 19:00 their time, and press Done."""
        now = self.clock()
        local = (now + TZ["web"] * 3600) % DAY
        if not 19 * 3600 <= local < 19 * 3600 + QUARTER:
            return
        day = (now - START) / DAY
        for person in (p for p in self.people if p.channel == "web" and self.wants_to_answer(p, day)):
            replies = self.send(person, text="hi")
            shown = [r for r in replies if "Welcome back" in r["text"]]
            if shown:
                person.welcomed_back += 1
                person.reminders.append(now)
                card = next(r for r in replies if r["cards"])
                self.send(person, payload=next(b["payload"] for b in card["cards"][0]["buttons"] if b.get("payload")))

    def conversation(self, person: Person):
        return relay.load_conversation(self.store, person.key)


def simulate(world: World, run_task, days: int = 14, once_started=None) -> None:
    world.start()
    if once_started:
        once_started()
    end = world.clock() + days * DAY
    while world.clock() < end:
        world.clock.sleep(QUARTER)
        run_task()
        world.after_run()
        world.open_web_pages()
