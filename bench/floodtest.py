"""Flood test: one person sends a thousand messages in a minute while others chat normally.

    python bench/floodtest.py --flood 1000 --seconds 60 --users 50      (make loadtest)

gunicorn as deployed, on a SQLite file whose own triggers count every write to the
flooder's conversation (the database counts, not our code). Three phases of the same
length: others alone, others with the flooder, others alone again; the two quiet phases
give the run-to-run noise that the flood phase's p99 is compared with. The flooder must
get one "slow down" per flood and cost a few dozen writes; the others must see every reply
once. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent.parent / "tests"  # the fakes and payloads the tests use
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from fakes import FakeGraph, FakeTelegram  # noqa: E402
from loadtest import LoadTelegramUser, Stats, compare  # noqa: E402
from payloads import FB_TOKEN, TG_SECRET, TG_TOKEN, platform_env, tg_message  # noqa: E402
from servers import free_port, start_gunicorn, stop  # noqa: E402
from transcript import mentor_journey  # noqa: E402

from chatbot.store.sqlite import SQLiteStore  # noqa: E402

FLOODER = 4_242_424
COUNT_WRITES = """
CREATE TABLE IF NOT EXISTS write_log (op TEXT);
CREATE TRIGGER IF NOT EXISTS flood_insert AFTER INSERT ON conversations WHEN NEW.key = 'telegram:4242424'
BEGIN INSERT INTO write_log VALUES ('insert'); END;
CREATE TRIGGER IF NOT EXISTS flood_update AFTER UPDATE ON conversations WHEN NEW.key = 'telegram:4242424'
BEGIN INSERT INTO write_log VALUES ('update'); END;
"""


def others(base: str, telegram: FakeTelegram, users: int, seconds: float, think, phase: int) -> dict:
    """``users`` people walking the mentor journey for ``seconds``; their latency and replies."""
    stats, results, lock = Stats(), [], threading.Lock()
    deadline = time.monotonic() + seconds

    def walk(index: int) -> None:
        rng = random.Random(phase * 10_000 + index)
        time.sleep(rng.uniform(0, think[1]))
        journey = 0
        while time.monotonic() < deadline:
            user = LoadTelegramUser(base, telegram, 5_000_000 + phase * 100_000 + index * 100 + journey, rng, stats)
            user.think = think
            error = ""
            try:
                mentor_journey(user)
            except Exception as failure:
                error = f"{type(failure).__name__}: {str(failure)[:100]}"
            doubled, lost = compare(user.everything(), "telegram")
            with lock:
                results.append((doubled, lost, error))
            journey += 1

    threads = [threading.Thread(target=walk, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(stats.latencies)
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
        "journeys": len(results),
        "doubled_replies": sum(r[0] for r in results),
        "lost_replies": sum(r[1] for r in results),
        "errors": [r[2] for r in results if r[2]][:3],
    }


def flood(base: str, count: int, seconds: float, statuses: dict) -> None:
    """One person sending ``count`` messages evenly over ``seconds``, one after another."""
    session = requests.Session()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    started = time.monotonic()
    for n in range(count):
        wait = started + n * seconds / count - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        body = json.dumps(tg_message(FLOODER, f"spam {n}", first_name="Flo", language_code="en"))
        status = session.post(base + "/webhook/telegram", data=body, headers=headers, timeout=10).status_code
        statuses[status] = statuses.get(status, 0) + 1


def run(flood_messages: int, seconds: float, users: int, think=(1.0, 4.0), per_minute: int = 20) -> dict:
    folder = tempfile.mkdtemp(prefix="floodtest-")
    path = os.path.join(folder, "flood.db")
    SQLiteStore(path)._connection().executescript(COUNT_WRITES)  # the tables, then the counting triggers
    graph, telegram = FakeGraph(FB_TOKEN), FakeTelegram(TG_TOKEN)
    port = free_port()
    env = os.environ | platform_env(graph.url, telegram.url) | {
        "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "8",
        "STORE_URL": f"sqlite:///{path}", "PUBLIC_URL": "https://bot.example.test", "LOG_LEVEL": "ERROR",
        "FLOOD_PER_MINUTE": str(per_minute),
    }  # fmt: skip
    server, base = start_gunicorn(env)
    statuses: dict[int, int] = {}
    try:
        quiet_before = others(base, telegram, users, seconds, think, phase=1)
        flooder = threading.Thread(target=flood, args=(base, flood_messages, seconds, statuses))
        flooder.start()
        flooded = others(base, telegram, users, seconds, think, phase=2)
        flooder.join()
        quiet_after = others(base, telegram, users, seconds, think, phase=3)
    finally:
        stop(server)
        graph.close()
    with sqlite3.connect(path) as db:
        writes = db.execute("SELECT COUNT(*) FROM write_log").fetchone()[0]
    sent = telegram.sent("sendMessage", chat_id=str(FLOODER))
    telegram.close()
    slow_downs = sum(1 for _, params in sent if "faster than I can keep up" in params.get("text", ""))
    quiet = [p["p99_ms"] for p in (quiet_before, quiet_after) if p["p99_ms"] is not None]
    return {
        "flood_messages": flood_messages,
        "flood_per_minute": per_minute,
        "seconds_per_phase": seconds,
        "flood_statuses": statuses,
        "flooder_writes": writes,
        "flooder_replies": len(sent) - slow_downs,
        "flooder_slow_downs": slow_downs,
        "others": {"quiet_before": quiet_before, "flooded": flooded, "quiet_after": quiet_after},
        "p99_noise_ms": round(abs(quiet[0] - quiet[1]), 1) if len(quiet) == 2 else None,
        "p99_change_ms": round(abs(flooded["p99_ms"] - statistics.mean(quiet)), 1) if quiet else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000, help="messages the flooder sends in one phase")
    parser.add_argument("--seconds", type=float, default=60, help="length of each of the three phases")
    parser.add_argument("--users", type=int, default=50, help="people chatting normally meanwhile")
    args = parser.parse_args()
    report = run(args.flood, args.seconds, args.users)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "floodtest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    phases = report["others"].values()
    correct = all(p["doubled_replies"] == 0 and p["lost_replies"] == 0 for p in phases)
    cheap = report["flooder_writes"] <= 60 and set(report["flood_statuses"]) == {200}
    steady = report["p99_change_ms"] is not None and report["p99_change_ms"] <= max(report["p99_noise_ms"], 10.0)
    print("PASS" if correct and cheap and steady else f"FAIL (correct={correct} cheap={cheap} steady={steady})")
    return 0 if correct and cheap else 1


if __name__ == "__main__":
    sys.exit(main())
