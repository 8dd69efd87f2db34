"""People talking to the real server while it fails, and the rule every outcome is held to.

A world is the fake Telegram on loopback, a real gunicorn serving the app on SQLite or the
Firestore emulator, and a few people, each sending a scripted conversation one update at a time
the way Telegram does: a non-2xx or a broken connection means the same update again, a moment
later, until it is answered 200. The server is started with faults at named points of a delivery
(chatbot/core/faults.py): SIGKILL the worker, fail the store call, or pause there while the test
moves the worker's wall clock. What each person receives is then held against what the same
conversation receives from a server with no fault at all:

- every message arrives, in order (no loss);
- a message arrives twice only right after itself, and to each person no more often than faults
  happened: a process that dies may have had one message in flight to each person it was
  answering, sent and not yet recorded (the floor: neither platform takes an idempotency key);
- no update is answered 200 while a reply it caused has not arrived.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from payloads import TG_SECRET, platform_env, tg_callback, tg_in_topic, tg_message
from servers import ROOT, free_port, start_gunicorn, stop

SCRIPT = ["/start", "/skills", "cb:PICK:git", "cb:LEVEL:git:beginner", "cb:HOURS:git:4", "/help", "/progress"]
TASKS_TOKEN = "tasks-token-for-the-crash-world"  # the scheduler's, for /tasks/reminders
CLOCK_SHIFT = Path(__file__).resolve().parent / "clockshift" / "clockshift.c"  # a wall clock a test can move


# A learner and the owner talking through a handoff (chatbot/delivery/handoff.py): the owner writes in
# the learner's topic of the fake Telegram's forum, whose id the server only makes up as it goes.
HANDOFF_CHAT = "-1001234567890"  # the fake's forum (fakes.Forum)
HANDOFF_SCRIPT = [
    ("learner", "/start"),
    ("learner", "/human"),
    ("learner", "my exercise fails"),
    ("owner", "which step?"),
    ("learner", "the second one"),
    ("owner", "try git status first"),
    ("owner", "/done"),
    ("learner", "/progress"),
]


def handoff_updates(user: int, first_update: int) -> list:
    """The script, each owner's line made when it is sent (in the learner's topic as it is by then)."""
    made: list = []
    for n, (who, text) in enumerate(HANDOFF_SCRIPT):
        update_id = first_update + n
        if who == "learner":
            made.append(tg_message(user, text, update_id=update_id, first_name=f"Ana{user}", language_code="en"))
        else:
            made.append(lambda telegram, text=text, update_id=update_id: owner_line(telegram, user, text, update_id))
    return made


def threads_of(telegram, user: int) -> set[int]:
    """The learner's topics in the owner's forum (one; another only if a process died making the first)."""
    return {thread for thread, topic in telegram.forum.topics.items() if topic["name"].startswith(f"Ana{user} ")}


def owner_line(telegram, user: int, text: str, update_id: int) -> dict:
    """What the owner writes in the learner's topic: the one the bot wrote the request into."""
    posted = {(c.body or {}).get("message_thread_id") for c in telegram.calls_for(HANDOFF_CHAT) if c.status == 200}
    thread = next(t for t in sorted(threads_of(telegram, user)) if t in posted)
    return tg_in_topic(HANDOFF_CHAT, thread, text, update_id=update_id)


def seen(telegram, person) -> list[str]:
    """What a person receives; for a learner handed to the owner, with what reaches their topic, in order."""
    calls = telegram.calls_for(str(person.user))
    if person.handoff:
        threads = threads_of(telegram, person.user)
        mine = [c for c in telegram.calls_for(HANDOFF_CHAT) if (c.body or {}).get("message_thread_id") in threads]
        calls = sorted(calls + mine, key=lambda c: c.at)
    return [where(call) + text for call in calls if (text := shown(call))]


def where(call) -> str:
    return "topic: " if str((call.body or {}).get("chat_id")) == HANDOFF_CHAT else ""


def clockshift_library(folder: Path) -> Path | None:
    """tests/clockshift/clockshift.c built for LD_PRELOAD; None without a C compiler."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    library = folder / "libclockshift.so"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(CLOCK_SHIFT), "-ldl"], check=True)
    return library


def updates_for(user: int, first_update: int) -> list[dict]:
    made = []
    for n, step in enumerate(SCRIPT):
        update_id = first_update + n
        if step.startswith("cb:"):
            made.append(tg_callback(user, step[3:], update_id=update_id, first_name="Ana", language_code="en"))
        else:
            made.append(tg_message(user, step, update_id=update_id, first_name="Ana", language_code="en"))
    return made


def shown(call) -> str | None:
    """A message as the person sees it; None for what is not a message (a button's spinner)."""
    method = call.path.rsplit("/", 1)[-1]
    body = call.body or {}
    if method not in ("sendMessage", "sendPhoto"):
        return None
    keyboard = json.dumps(body.get("reply_markup", {}), sort_keys=True)
    return f"{method} {body.get('text') or body.get('caption') or ''} {body.get('photo', '')} {keyboard}"


@dataclass
class Person:
    user: int
    updates: list[dict]
    answered: list[tuple[int, int]] = field(default_factory=list)  # (update index, messages received by then)
    lost: list[int] = field(default_factory=list)  # updates never answered 200
    handoff: bool = False  # a learner who asks for a person: the owner's lines are among the updates


class World:
    """The fake Telegram, the servers (one, or several sharing a store), and the people."""

    def __init__(
        self,
        telegram,
        store_url: str,
        tmp: Path,
        people: int = 4,
        first_user: int = 930000,
        clockshift=None,
        handoffs: int = 0,
    ) -> None:
        self.telegram, self.store_url, self.tmp, self.clockshift = telegram, store_url, Path(tmp), clockshift
        self.people = [Person(first_user + n, updates_for(first_user + n, 700000 + 100 * n)) for n in range(people)]
        self.people += [
            Person(first_user + 50 + n, handoff_updates(first_user + 50 + n, 760000 + 100 * n), handoff=True)
            for n in range(handoffs)
        ]
        self.servers: list[tuple[subprocess.Popen, str]] = []
        self.mark = self.tmp / "faults.mark"
        self.clocks: list[Path] = []

    def env(self, faults: str = "", clock_offset: float | None = None, lease: int = 2) -> dict[str, str]:
        env = (
            os.environ
            | platform_env("http://127.0.0.1:9", self.telegram.url)
            | {
                "PORT": str(free_port()),
                "HOST": "127.0.0.1",
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": "8",
                "STORE_URL": self.store_url,
                "SKILLS_FILE": str(ROOT / "skills.json"),
                "PUBLIC_URL": "https://bot.example.test",
                "LOG_LEVEL": "ERROR",
                "FLOOD_PER_MINUTE": "1000",
                "CLAIM_LEASE_SECONDS": str(lease),
                "TASKS_TOKEN": TASKS_TOKEN,
                "CHATBOT_FAULTS": faults,
                "CHATBOT_FAULT_MARK": str(self.mark),
                "CHATBOT_FAULT_PAUSE": "1.5",
            }
        )
        if any(person.handoff for person in self.people):
            env["HANDOFF_TELEGRAM_CHAT_ID"] = HANDOFF_CHAT
        if clock_offset is not None:
            clock = self.tmp / f"clock-{len(self.clocks)}"
            clock.write_text(str(clock_offset))
            self.clocks.append(clock)
            env["LD_PRELOAD"] = str(self.clockshift)
            env["TEST_CLOCK_OFFSET_FILE"] = str(clock)
        return env

    def start(self, **env) -> str:
        process, base = start_gunicorn(self.env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append((process, base))
        return base

    def stop(self) -> None:
        for process, _ in self.servers:
            stop(process)

    def faults(self) -> list[str]:
        """The faults that fired: one line each, "point action pid"."""
        return self.mark.read_text().split("\n")[:-1] if self.mark.exists() else []

    def received(self, person: Person) -> list[str]:
        return seen(self.telegram, person)

    def talk(self, give_up: float = 60.0, twins: bool = False, during=None) -> None:
        """Every person sends their script, one update at a time, redelivering until 200. ``twins``:
        some updates go to two servers at once (Telegram may deliver an update twice)."""
        threads = [threading.Thread(target=self._talk, args=(p, give_up, twins)) for p in self.people]
        for thread in threads:
            thread.start()
        if during is not None:
            during()
        for thread in threads:
            thread.join()

    def _talk(self, person: Person, give_up: float, twins: bool) -> None:
        chooser = random.Random(person.user)  # noqa: S311 - which server, not a secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        for index, line in enumerate(person.updates):
            update = line(self.telegram) if callable(line) else line
            deadline = time.monotonic() + give_up
            while True:
                bases = [base for _, base in self.servers]
                targets = bases if twins and chooser.random() < 0.3 else [chooser.choice(bases)]
                statuses = post_all(targets, update, headers)
                if 200 in statuses:
                    person.answered.append((index, len(self.received(person))))
                    break
                if time.monotonic() > deadline:
                    person.lost.append(index)
                    break
                time.sleep(0.3)


def post_all(targets: list[str], update: dict, headers: dict) -> list[int]:
    statuses: list[int] = []

    def post(base: str) -> None:
        try:
            statuses.append(
                requests.post(f"{base}/webhook/telegram", json=update, headers=headers, timeout=20).status_code
            )
        except requests.RequestException:
            statuses.append(0)  # the worker died mid-request: the platform sees a broken connection

    threads = [threading.Thread(target=post, args=(base,)) for base in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def reference(telegram, make_app, people: list[Person]) -> dict[int, tuple[list[str], list[int]]]:
    """What each person receives with no fault: their messages, and how many had arrived when each
    update was answered. ``make_app`` builds the app on a fresh SQLite file."""
    app = make_app()
    client = app.test_client()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    out = {}
    for person in people:
        before = len(seen(telegram, person))
        counts = []
        for line in person.updates:
            update = line(telegram) if callable(line) else line
            assert client.post("/webhook/telegram", json=update, headers=headers).status_code == 200
            counts.append(len(seen(telegram, person)) - before)
        out[person.user] = (seen(telegram, person)[before:], counts)
    return out


def problems(world: World, expected: dict, allowed_doubles: int) -> list[str]:
    """Everything that breaks the rule, in words (empty: the rule held). ``allowed_doubles``: per
    person, the faults that happened."""
    found = []
    for person in world.people:
        messages, counts = expected[person.user]
        got = world.received(person)
        if person.lost:
            found.append(f"{person.user}: updates {person.lost} were never answered 200")
        extra, ok = collapse(got, messages)
        if not ok:
            found.append(f"{person.user}: received {len(got)} messages that are not the expected {len(messages)}")
        if extra > allowed_doubles:
            found.append(f"{person.user}: {extra} messages arrived twice, more than the {allowed_doubles} faults")
        for index, arrived in person.answered:
            if arrived < counts[index]:
                found.append(f"{person.user}: update {index} answered 200 with {counts[index] - arrived} reply unsent")
    return found


def doubles(world: World, expected: dict) -> int:
    """How many messages arrived twice, everyone together."""
    return sum(collapse(world.received(p), expected[p.user][0])[0] for p in world.people)


def collapse(got: list[str], expected: list[str]) -> tuple[int, bool]:
    """How many messages of ``got`` repeat the one just before them (a resend of the one in flight);
    and whether ``got`` without them is exactly ``expected``, in order."""
    extra, j = 0, 0
    for message in got:
        if j < len(expected) and message == expected[j]:
            j += 1
        elif j and message == expected[j - 1]:
            extra += 1
        else:
            return extra, False
    return extra, j == len(expected)


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp}/crash.db"


def temporary() -> Path:
    return Path(tempfile.mkdtemp(prefix="crashworld-"))


if __name__ == "__main__":  # pragma: no cover - a quick look by hand
    sys.exit("run through tests/test_crash.py")
