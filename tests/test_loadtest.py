"""The load test in a short form: a few users per channel, redeliveries and failing sends, on gunicorn
as deployed and the Firestore emulator. `make loadtest` runs the full one."""

from __future__ import annotations

import loadtest
import pytest
from conftest import require
from emulator import Emulator

pytestmark = pytest.mark.slow


def test_short_load_nothing_doubled_nothing_lost(firestore_url):
    require(Emulator.available(), "needs the Firestore emulator")
    report = loadtest.run(users=6, seconds=3, store_url=firestore_url, think=(0.0, 0.2))
    assert report["journeys"] >= 12
    assert report["doubled_replies"] == 0 and report["lost_replies"] == 0, report["journey_errors"]
    assert report["unexpected_statuses"] == {}
    assert report["journey_errors"] == []
    # Every 503 answered a send the fake platform failed on purpose (or, rarely, a twin that found the
    # other still holding the replies after its wait); each was delivered again.
    assert set(report["retry_reasons"]) <= {"send failed", "replies pending"}, report["retry_reasons"]
    assert report["retry_reasons"].get("send failed", 0) == report["platform_calls_failed"]


def test_short_load_with_workers_killed_loses_nothing(tmp_path):
    """Workers SIGKILLed every 1.5 s under load: no reply lost, and no person gets more messages twice
    than workers were killed (a worker killed while answering several people may have had one message
    in flight to each)."""
    report = loadtest.run(users=4, seconds=6, store_url=f"sqlite:///{tmp_path}/k.db", think=(0.0, 0.2), kill_every=1.5)
    assert report["workers_killed"] >= 2 and report["journeys"] >= 8
    assert report["lost_replies"] == 0, report["journey_errors"]
    assert report["most_doubled_for_one_person"] <= report["workers_killed"], report
    assert loadtest.passed(report), report


def test_a_thousand_hostile_bodies_per_webhook_no_5xx(tmp_path):
    import malformed

    report = malformed.run(1000, f"sqlite:///{tmp_path}/m.db")
    assert report["server_errors"] == 0 and report["server_alive"] and report["still_answers"], report
    assert sum(sum(per.values()) for per in report["statuses"].values()) == 2000


def test_short_flood_costs_a_few_dozen_writes_and_others_lose_nothing():
    import floodtest

    # The others here are scripts (a journey in ~15 s), so the limit is raised to 60 a minute for them.
    report = floodtest.run(flood_messages=300, seconds=5, users=4, think=(0.3, 0.6), per_minute=60)
    assert report["flood_statuses"] == {200: 300}, "every flooded message is acknowledged"
    assert report["flooder_slow_downs"] == 1
    # 60 accepted messages and the few the bucket refills meanwhile (a write each, and one more once
    # their replies are sent), one warning: the other ~235 messages are read and dropped without a write.
    assert report["flooder_writes"] <= 2 * (60 + 5) + 2, report
    for phase in report["others"].values():
        assert phase["journeys"] >= 4 and phase["doubled_replies"] == phase["lost_replies"] == 0, phase


def test_short_broadcast_by_two_runs_at_once_reaches_everyone_once(firestore_emulator):
    import broadcasttest

    firestore_emulator.clear()
    report = broadcasttest.run(300, rate=200, project=firestore_emulator.url().removeprefix("firestore://"))
    assert report["people_who_got_it"] == 300 and report["people_who_got_it_twice"] == 0, report
    assert sum(sum(r["sent"].values()) for r in report["sent_by_the_two_runs"]) == 300
    assert all(r["failed"] == 0 for r in report["sent_by_the_two_runs"])
