"""Broadcast load test: one announcement to many people on the Firestore emulator, by two runs at once.

    python bench/broadcasttest.py --people 10000      (make loadtest)

The people are written straight into the emulator (four in five on Telegram, the rest on
Messenger inside the 24-hour window), then two broadcast runs start together, each at the pace a
broadcast keeps (25 a second). The fake platforms count what arrives: everyone must get the
announcement exactly once. Loopback only; bounded by the number of people.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "tests"  # the fakes and payloads the tests use
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from emulator import Emulator  # noqa: E402
from fakes import FakeGraph, FakeTelegram  # noqa: E402
from payloads import FB_SECRET, FB_TOKEN, platform_env  # noqa: E402
from servers import free_port  # noqa: E402

import fb  # noqa: E402
import tg  # noqa: E402
from chatbot.core.settings import Settings  # noqa: E402
from chatbot.engine import loader  # noqa: E402
from chatbot.engine.types import Update  # noqa: E402
from chatbot.outreach import wakes  # noqa: E402
from chatbot.store.firestore import FirestoreStore  # noqa: E402
from chatbot.store.firestore_shapes import document_id, to_document  # noqa: E402
from mentor import actions  # noqa: E402

EVENT, PAYLOAD = "announce:announce_new_skills", "ANNOUNCE:new_skills"


def seed(store: FirestoreStore, people: int, now: float) -> dict[str, int]:
    """``people`` conversations as the bot leaves them after a first message, written in batches of 500."""
    client, made = store.client(), {"telegram": 0, "messenger": 0}
    batch = client.batch()
    for n in range(people):
        channel = "messenger" if n % 5 == 0 else "telegram"
        key = f"{channel}:{9_000_000 + n}"
        doc = {"key": key, "created_at": now - 3600, "updated_at": now - 3600, "last_message_at": now - 3600,
               "active": True, "version": 2, "delivery": {"events": [f"e{n}"]}}  # fmt: skip
        batch.set(client.collection("conversations").document(document_id(key)), to_document(key, doc, now))
        made[channel] += 1
        if n % 500 == 499:
            batch.commit()
            batch = client.batch()
    batch.commit()
    return made


def run(people: int, rate: float = wakes.ANNOUNCE_RATE, project: str = "demo-broadcast") -> dict:
    emulator = None
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        emulator = Emulator(free_port())
        emulator.start()
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    graph, telegram = FakeGraph(FB_TOKEN, app_secret=FB_SECRET), FakeTelegram("123456:TEST-bot-token_abcdefghij")
    store = FirestoreStore(project)
    try:
        settings = Settings.from_env(platform_env(graph.url, telegram.url) | {"LOG_LEVEL": "ERROR"})
        skills = loader.load(str(ROOT / "skills.json"), actions.ACTIONS, actions.CHECKS)
        made = seed(store, people, time.time())
        channels = {"telegram": tg.Telegram(settings, max_inline_wait=60), "messenger": fb.Messenger(settings)}

        def update_for(channel: str, user_id: str) -> Update:
            return Update(channel=channel, user_id=user_id, event_id=EVENT, from_bot=True, payload=PAYLOAD)

        reports: list = []

        def one_run() -> None:
            reports.append(wakes.broadcast(store, channels.get, skills, update_for, "everyone", rate=rate))

        started = time.monotonic()
        runs = [threading.Thread(target=one_run) for _ in range(2)]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
        seconds = time.monotonic() - started
        got: dict[str, int] = {}
        for call in telegram.calls + graph.calls:
            body = call.body or {}
            text = str(body.get("text") or body.get("message", {}).get("text") or "")
            if call.status == 200 and "New in the catalog" in text:
                who = str(body.get("chat_id") or body.get("recipient", {}).get("id"))
                got[who] = got.get(who, 0) + 1
        sent = sum(sum(r.sent.values()) for r in reports)
        return {
            "people": made,
            "seconds": round(seconds, 1),
            "announcements_per_second": round(sent / seconds, 1),
            "sent_by_the_two_runs": [r.as_json() for r in reports],
            "people_who_got_it": len(got),
            "people_who_got_it_twice": sum(1 for n in got.values() if n > 1),
            "firestore_per_person": "1 read (the audience query) + 1 read and 2 writes (the announcement and "
            "what was sent); the second run: 1 read more for each person the first got to first",
        }
    finally:
        store.close()
        graph.close()
        telegram.close()
        if emulator:
            emulator.stop()
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    report = run(args.people)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "broadcasttest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    ok = report["people_who_got_it"] == args.people and report["people_who_got_it_twice"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
