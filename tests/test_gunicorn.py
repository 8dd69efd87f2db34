"""The real server (nginx in front of gunicorn with several workers and threads) on one store, under concurrent load."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import ROOT, free_port, require
from payloads import TG_SECRET, fb_body, fb_text, platform_env, sign, tg_message
from servers import nginx_installed, sigterm_while_answering, start_served

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path, graph, telegram, store_url):
    port = free_port()
    env = os.environ | {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_THREADS": "4",
        "STORE_URL": store_url,
        "LOG_LEVEL": "WARNING",
        # As in the image: the service's user has no home directory (nothing may need one).
        "HOME": str(tmp_path / "no-such-home"),
        **platform_env(graph.url, telegram.url),
    }
    # As the image runs it: nginx in front of gunicorn on a unix socket (deploy/serve.sh).
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the server in the image")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - held open for the server's lifetime
    process = subprocess.Popen(
        [str(ROOT / "deploy" / "serve.sh")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        process.terminate()  # serve.sh stops nginx and gunicorn
        process.wait(timeout=15)
        pytest.fail("the server did not start: " + (tmp_path / "gunicorn.log").read_text())
    yield base
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    log.close()
    errors = [
        line
        for line in (tmp_path / "gunicorn.log").read_text().splitlines()
        # ours (JSON), gunicorn's own, nginx's (a request it could not pass on, say)
        if '"ERROR"' in line
        or "[ERROR]" in line
        or "Traceback" in line
        or any(f"[{level}]" in line for level in ("error", "crit", "alert", "emerg"))
    ]
    assert errors == []
    assert not (tmp_path / "no-such-home").exists()


def test_concurrent_users_and_redeliveries_on_several_workers(server, graph, telegram):
    users, messages = 12, 5
    deliveries = []
    for u in range(users):
        for m in range(messages):
            raw = json.dumps(fb_body(fb_text(f"psid-load-{u}", "help", mid=f"m_load_{u}_{m}"))).encode()
            deliveries += [("fb", raw)] * 2  # every event delivered twice, concurrently
            update = json.dumps(tg_message(90000 + u, "/help", update_id=700000 + u * 100 + m)).encode()
            deliveries += [("tg", update)] * 2

    def post(item) -> list[int]:
        """Deliver like the platforms do: again after a 503, until it is taken (bounded)."""
        kind, raw = item
        if kind == "fb":
            url, headers = server + "/webhook/messenger", {"X-Hub-Signature-256": sign(raw)}
        else:
            url, headers = server + "/webhook/telegram", {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        headers["Content-Type"] = "application/json"
        statuses = []
        for attempt in range(12):  # the platforms keep retrying for hours; a dozen is plenty here
            statuses.append(requests.post(url, data=raw, headers=headers, timeout=30).status_code)
            if statuses[-1] != 503:
                break
            time.sleep(min(4.0, 0.25 * 2**attempt))
        return statuses

    with ThreadPoolExecutor(max_workers=32) as pool:
        attempts = list(pool.map(post, deliveries))
    finals = [a[-1] for a in attempts]
    retried = sum(len(a) - 1 for a in attempts)
    assert set(finals) == {200}, {s: finals.count(s) for s in set(finals)}
    assert all(set(a[:-1]) <= {503} for a in attempts)  # busy is said with a 503, never a 500
    print(f"{retried} busy answers (503) in {len(deliveries)} deliveries")  # contention between workers
    for u in range(users):
        # "help" is one message: each event answered exactly once despite the duplicate delivery.
        assert len(graph.messages(f"psid-load-{u}")) == messages
        assert len(telegram.sent("sendMessage", 90000 + u)) == messages


def test_a_worker_loads_without_the_cycle_collector_and_turns_it_on_after_its_first_answer():
    # In a fresh interpreter: the hooks change the process's collector, not this test run's.
    code = """
import gc, runpy, threading
conf = runpy.run_path("gunicorn.conf.py")
assert gc.isenabled()
conf["post_fork"](None, None)
assert not gc.isenabled(), "collector on while the worker loads"
timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
assert len(timers) == 1 and timers[0].daemon, timers
import flask  # what a worker loads meanwhile is kept, and set aside by the first answer
conf["post_request"](None, None, {}, None)
assert gc.isenabled(), "collector still off after the first answer"
assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
conf["post_request"](None, None, {}, None)  # later answers change nothing
assert gc.isenabled()
gc.disable()
timers[0].function()  # a first request that runs long: the timer turns it on
assert gc.isenabled()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize(
    ("own", "files", "expected"),
    [
        ("0::/\n", {"cpu.max": "100000 100000\n"}, 1),  # cgroup v2 in a container: Cloud Run --cpu=1, docker --cpus=1
        ("0::/\n", {"cpu.max": "50000 100000\n"}, 1),  # half a CPU: still one worker
        ("0::/\n", {"cpu.max": "150000 100000\n"}, 2),
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),  # no quota: every core the process may run on
        ("0::/system.slice/bot.service\n", {"system.slice/bot.service/cpu.max": "100000 100000\n"}, 1),
        ("4:memory:/\n3:cpu,cpuacct:/bot\n",  # cgroup v1, the process in a group of its own
         {"cpu/bot/cpu.cfs_quota_us": "200000\n", "cpu/bot/cpu.cfs_period_us": "100000\n"}, 2),
        ("3:cpu,cpuacct:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ("0::/\n", {"cpu.max": "garbage\n"}, None),
        ("0::/\n", {}, None),  # nothing to read: the cores
        ("", {}, None),
    ],
)  # fmt: skip
def test_one_worker_per_cpu_the_container_may_use_not_per_host_core(tmp_path, own, files, expected):
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    (tmp_path / "cgroup").write_text(own)
    for name, text in files.items():
        (tmp_path / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / name).write_text(text)
    cores = len(os.sched_getaffinity(0))
    assert conf["usable_cpus"](str(tmp_path / "fs"), str(tmp_path / "cgroup")) == min(cores, expected or cores)


def test_the_server_starts_one_worker_per_usable_cpu_unless_told(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["workers"] == conf["usable_cpus"]()
    told = subprocess.run(
        [sys.executable, "-c", "import runpy; print(runpy.run_path('gunicorn.conf.py')['workers'])"],
        cwd=ROOT, env=os.environ | {"WEB_CONCURRENCY": "3"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert told.stdout.strip() == "3", told.stderr


def test_the_worker_count_needs_no_affinity_call_where_there_is_none(monkeypatch, tmp_path):
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    monkeypatch.delattr(os, "sched_getaffinity")  # as on macOS, where `make run` also runs this file
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert conf["usable_cpus"](str(tmp_path), str(tmp_path / "none")) == 4


def test_sigterm_stops_the_front_then_gunicorn_and_lets_requests_in_flight_finish(tmp_path, graph):
    """Cloud Run's SIGTERM reaches deploy/serve.sh: nginx stops taking connections and finishes what it
    holds while gunicorn answers it, then gunicorn stops; all within Cloud Run's 10 s."""
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the server in the image")
    env = os.environ | platform_env(graph.url, "http://127.0.0.1:9") | {
        "PORT": str(free_port()), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8",
        "STORE_URL": f"sqlite:///{tmp_path}/t.db", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    process, base = start_served(env)
    statuses, code, seconds = sigterm_while_answering(process, base, graph, "psid-front-term")
    assert code == 0 and seconds < 10
    assert statuses == [200] * 4
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/health", timeout=2)  # nothing listens any more


# ---------------------------------------------------------------- deploy/serve.sh's shutdown: Cloud Run kills at 10 s


def serve_in(tmp_path: Path, graph, **popen) -> tuple[subprocess.Popen, str, Path]:
    """deploy/serve.sh with one worker whose first delivery pauses in gunicorn (before its store write)
    for ``CHATBOT_FAULT_PAUSE`` seconds; its temp files under ``tmp_path``, its output in a log."""
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the server in the image")
    env = os.environ | platform_env(graph.url, "http://127.0.0.1:9") | {
        "PORT": str(free_port()), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "STORE_URL": f"sqlite:///{tmp_path}/s.db",
        "LOG_LEVEL": "WARNING", "TMPDIR": str(tmp_path), "CHATBOT_FAULTS": "before-write:pause@1",
        "CHATBOT_FAULT_MARK": str(tmp_path / "paused"),
    }  # fmt: skip
    env.update(popen.pop("env", {}))
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process, base = start_served(env, stdout=out, stderr=subprocess.STDOUT, **popen)
    return process, base, log


def deliver_in_background(base: str, statuses: list) -> threading.Thread:
    def send() -> None:
        raw = json.dumps(fb_body(fb_text("psid-shutdown", "help"))).encode()
        headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
        try:
            statuses.append(
                requests.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=30).status_code
            )
        except requests.RequestException as error:
            statuses.append(type(error).__name__)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def wait_for_file(path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def left_running(tmp_path: Path) -> list[str]:
    """Processes still running with serve.sh's temp folder on their command line (nginx, gunicorn)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and str(tmp_path) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


@pytest.mark.parametrize(
    ("pause", "answered"),
    [(5, True),  # finishes within the window: answered, through nginx
     (15, False)],  # does not: cut at the window's end, and the whole shutdown still fits in 10 s
)  # fmt: skip
def test_sigterm_with_a_request_paused_in_gunicorn_exits_within_10_s(tmp_path, graph, pause, answered):
    """nginx and gunicorn are stopped together, not one after the other (nginx's window, then gunicorn's,
    took up to 15 s): whatever gunicorn answers before its graceful timeout still goes out through nginx."""
    process, base, log = serve_in(tmp_path, graph, env={"CHATBOT_FAULT_PAUSE": str(pause)})
    statuses: list = []
    thread = deliver_in_background(base, statuses)
    wait_for_file(tmp_path / "paused")  # the delivery is in gunicorn, paused before its write
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=15)
    finally:
        thread.join(timeout=30)
    took = time.monotonic() - started
    assert code == 0 and took < 10, (code, took, log.read_text()[-2000:])
    assert (statuses == [200]) is answered, statuses
    assert left_running(tmp_path) == []


def test_ctrl_c_from_a_terminal_stops_both_gracefully_and_exits_0(tmp_path, graph):
    """`make run`, then Ctrl-C: the terminal sends SIGINT to its whole foreground group. Only serve.sh may
    take it (nginx and gunicorn run in sessions of their own); it stops both as on SIGTERM, and exits 0."""
    process, base, log = serve_in(tmp_path, graph, env={"CHATBOT_FAULT_PAUSE": "2"}, start_new_session=True)
    statuses: list = []
    thread = deliver_in_background(base, statuses)
    wait_for_file(tmp_path / "paused")
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does: serve.sh leads the foreground group here
    try:
        code = process.wait(timeout=15)
    finally:
        thread.join(timeout=30)
    output = log.read_text()
    assert code == 0 and time.monotonic() - started < 10, (code, output[-2000:])
    assert statuses == [200], (statuses, output[-2000:])  # the request in hand was finished, not cut
    assert left_running(tmp_path) == []
    assert "SIGKILL" not in output and "Traceback" not in output, output[-2000:]
