"""Malformed input at scale: N validly signed, hostile webhook bodies per platform against gunicorn.

    python bench/malformed.py --bodies 10000      (part of make loadtest)

Bodies are real payloads mutated at random (seeded): values swapped for other types, keys
deleted or added, strings made huge, structures nested deep. Every answer must be below 500,
and the service must still answer a normal message afterwards. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent.parent / "tests"  # the fakes and payloads the tests use
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from fakes import FakeGraph, FakeTelegram  # noqa: E402
from payloads import (  # noqa: E402
    FB_TOKEN,
    TG_SECRET,
    TG_TOKEN,
    fb_body,
    fb_postback,
    fb_quick_reply,
    fb_text,
    platform_env,
    sign,
    tg_callback,
    tg_message,
)
from servers import free_port, start_gunicorn, stop  # noqa: E402

ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    1e308,
    "",
    "x" * 70_000,
    "🎉" * 500,
    [],
    {},
    [[[[[]]]]],
    {"a": {"b": {"c": {}}}},
    "\x00\ud7ff",
    "/start@",
    "DONE:",
    "~",
]


def mutate(value, rng: random.Random, depth: int = 0):
    """One random change somewhere in a JSON value (sometimes a few)."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        choice = rng.random()
        copy = dict(value)
        if choice < 0.2:
            del copy[key]
        elif choice < 0.3:
            copy[rng.choice(["extra", "is_echo", "entities", "quick_reply", "__proto__"])] = rng.choice(ODD_VALUES)
        else:
            copy[key] = mutate(value[key], rng, depth + 1)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.8:
        copy = list(value)
        index = rng.randrange(len(copy))
        copy[index] = mutate(copy[index], rng, depth + 1)
        if rng.random() < 0.2:
            copy.extend(copy * rng.randint(1, 20))
        return copy
    if rng.random() < 0.05:
        nested = value
        for _ in range(rng.randint(10, 400)):
            nested = [nested] if rng.random() < 0.5 else {"k": nested}
        return nested
    return rng.choice(ODD_VALUES)


def seeds(n: int) -> tuple[list[dict], list[dict]]:
    fb = [
        fb_body(fb_text(f"p{n}", "hi")),
        fb_body(fb_postback(f"p{n}", "Go", "GET_STARTED")),
        fb_body(fb_quick_reply(f"p{n}", "Help", "HELP")),
    ]
    tg = [tg_message(10_000 + n, "/start"), tg_message(10_000 + n, "browse"), tg_callback(10_000 + n, "PICK:git")]
    return fb, tg


def run(bodies: int, store_url: str) -> dict:
    graph, telegram = FakeGraph(FB_TOKEN), FakeTelegram(TG_TOKEN)
    port = free_port()
    env = os.environ | platform_env(graph.url, telegram.url) | {
        "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", "STORE_URL": store_url, "LOG_LEVEL": "CRITICAL",
    }  # fmt: skip
    server, base = start_gunicorn(env)
    statuses: dict[str, dict[int, int]] = {"messenger": {}, "telegram": {}}
    count = threading.Lock()  # sixteen threads add to the same tallies: a bare read-add-write loses some
    try:
        resets = [0]

        def post(session, url: str, raw: bytes, headers: dict) -> int:
            try:
                return session.post(url, data=raw, headers=headers, timeout=30).status_code
            except requests.ConnectionError:
                # After refusing a body unread (413, or 400 early) the server closes the connection;
                # a client that reused it sees a reset. Send again on a fresh one, as platforms do.
                with count:
                    resets[0] += 1
                return requests.post(url, data=raw, headers=headers, timeout=30).status_code

        def send(index: int) -> None:
            rng = random.Random(index)
            fb_seeds, tg_seeds = seeds(index)
            session = requests.Session()
            for _ in range(3):  # a few mutations on top of each other
                fb_seeds = [mutate(s, rng) for s in fb_seeds]
                tg_seeds = [mutate(s, rng) for s in tg_seeds]
            try:
                raw = json.dumps(rng.choice(fb_seeds)).encode()
            except (ValueError, RecursionError):
                raw = b"[" * 5000
            fb_headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
            fb_status = post(session, base + "/webhook/messenger", raw, fb_headers)
            try:
                raw = json.dumps(rng.choice(tg_seeds)).encode()
            except (ValueError, RecursionError):
                raw = b"{" * 5000
            tg_headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
            tg_status = post(session, base + "/webhook/telegram", raw, tg_headers)
            with count:
                for channel, status in (("messenger", fb_status), ("telegram", tg_status)):
                    statuses[channel][status] = statuses[channel].get(status, 0) + 1

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(send, range(bodies)))
        elapsed = time.monotonic() - started
        graph.profiles["psid-after-garbage"] = {"first_name": "Ana"}
        raw = json.dumps(fb_body(fb_text("psid-after-garbage", "hi"))).encode()
        after = requests.post(
            base + "/webhook/messenger", data=raw, headers={"X-Hub-Signature-256": sign(raw)}, timeout=30
        ).status_code
        answered = bool(graph.messages("psid-after-garbage"))
        alive = server.poll() is None
    finally:
        stop(server)
        graph.close()
        telegram.close()
    server_errors = sum(n for per in statuses.values() for status, n in per.items() if status >= 500)
    return {
        "bodies_per_webhook": bodies,
        "seconds": round(elapsed, 1),
        "statuses": statuses,
        "server_errors": server_errors,
        "connections_reset_then_resent": resets[0],
        "still_answers": after == 200 and answered,
        "server_alive": alive,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--store-url", help="default: a fresh SQLite file, so every run starts empty")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="malformed-") as scratch:
        report = run(args.bodies, args.store_url or f"sqlite:///{scratch}/malformed.db")
    print(json.dumps(report, indent=2))
    ok = report["server_errors"] == 0 and report["still_answers"] and report["server_alive"]
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
