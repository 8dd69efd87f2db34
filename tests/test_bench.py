"""`make bench` in a tiny form, so that it keeps working as the code it measures changes.

Only the shape of the report is checked here, and the operation counts, which are facts; the timings
are the bench's business (`make bench`), never an assertion in the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, require
from emulator import Emulator

pytestmark = pytest.mark.slow


@pytest.mark.timeout(300)
def test_the_bench_runs_end_to_end_and_reports_every_section(tmp_path):
    require(Emulator.available(), "needs the Firestore emulator")
    env = os.environ | {
        "BENCH_RUNS": "1",
        "BENCH_SECONDS": "0.3",
        "BENCH_SENDERS": "4",
        "BENCH_HISTORY": "1,3",
        "BENCH_WAIT_COLD_RUNS": "1",
        "BENCH_WAIT_WARM_RUNS": "1",
        "BENCH_PAIR_ROUNDS": "1",
        "BENCH_WARMUP_SECONDS": "0.3",
        "BENCH_OUT": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "bench/run.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = (tmp_path / "results.md").read_text()
    for heading in ("## Targets", "## 1. Cold start", "## What a person waits for", "## 2–3. Throughput",
                    "## 4. Firestore operations", "## 5. Growth", "## 6. Monthly cost"):  # fmt: skip
        assert heading in report
    assert "nan" not in report.lower()
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["cold_start_s"]) == {
        "ours health", "ours message", "ours new", "baseline health", "baseline message", "baseline new",
        "bare flask health",
    }  # fmt: skip
    # Every reply the waiting section timed reached the fake platform, first no later than last.
    for target in ("ours", "baseline"):
        for kind in ("new", "returning"):
            for temperature in ("cold", "warm"):
                timed = results["waiting_s"][target][kind][temperature]
                assert 0 < timed["first"] <= timed["last"], (target, kind, temperature, timed)
    assert len(results["targets"]) == 9 and all(isinstance(t["met"], bool) for t in results["targets"])
    # The run joined the history and the chart drew it.
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and set(history[0]["targets"]) == {t["name"].split(" (")[0] for t in results["targets"]}
    chart = (tmp_path / "history.svg").read_text()
    assert chart.startswith("<svg") and "<circle" in chart
    assert all(run["errors"] == 0 and run["ok"] > 0 for run in results["throughput"].values()), results["throughput"]
    assert list(results["operations"].values()) == [
        {"reads": 0, "writes": 2},  # this instance wrote the conversation last
        {"reads": 1, "writes": 3},  # another did: the write from memory is refused, then a read and two writes
        {"reads": 1, "writes": 0},  # a redelivery: read to be sure (memory may be out of date), nothing written
    ]
    assert [g["reads"] for g in results["growth"].values()] == [0, 0]


@pytest.mark.timeout(180)
def test_the_cpu_profile_names_where_a_message_goes():
    require(Emulator.available(), "needs the Firestore emulator")
    done = subprocess.run(
        [sys.executable, "bench/cpu_profile.py", "--messages", "5", "--top", "5", "--callers", "clone"],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for target in ("ours", "baseline"):
        assert f"=== {target}: top 5 by own time" in done.stdout
        assert f"=== {target}: top 5 by cumulative" in done.stdout
        assert f"{target}: " in done.stdout and "ms of CPU per message" in done.stdout
    assert "--- ours: callers of clone" in done.stdout
