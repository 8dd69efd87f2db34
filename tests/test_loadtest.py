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
    # Every 503 answered a send the fake platform failed on purpose, and was delivered again.
    assert report["statuses"].get(503, 0) == report["platform_calls_failed"]


def test_a_thousand_hostile_bodies_per_webhook_no_5xx(tmp_path):
    import malformed

    report = malformed.run(1000, f"sqlite:///{tmp_path}/m.db")
    assert report["server_errors"] == 0 and report["server_alive"] and report["still_answers"], report
    assert sum(sum(per.values()) for per in report["statuses"].values()) == 2000
