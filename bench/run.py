"""`make bench`: cold start, throughput and CPU, memory, Firestore operations, growth, and cost.

Everything runs on loopback against the fake platforms and the Firestore emulator.
Every figure that depends on the machine is also given as a ratio to a reference
measured in the same run (bare Flask, or the baseline bot in bench/baseline_bot.py).
Writes bench/results.md and bench/results.json.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import history as bench_history  # noqa: E402
import latency  # noqa: E402
from emulator import Emulator  # noqa: E402
from fakes import FakeGraph, FakeSecretManager, FakeTelegram  # noqa: E402
from payloads import (  # noqa: E402
    FB_SECRET,
    FB_TOKEN,
    TG_SECRET,
    TG_TOKEN,
    fb_body,
    fb_postback,
    fb_text,
    platform_env,
    sign,
    tg_message,
)

RUNS = int(os.environ.get("BENCH_RUNS", "10"))
WAIT_COLD_RUNS = int(os.environ.get("BENCH_WAIT_COLD_RUNS", "9"))
WAIT_WARM_RUNS = int(os.environ.get("BENCH_WAIT_WARM_RUNS", "15"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "20"))  # per bot, before the Firestore runs
SENDERS = int(os.environ.get("BENCH_SENDERS", "64"))
# The Messenger comparison, ours against the baseline, alternates this many times; medians reported.
PAIR_ROUNDS = int(os.environ.get("BENCH_PAIR_ROUNDS", "4"))  # even: each side goes first as often
HISTORY = tuple(int(n) for n in os.environ.get("BENCH_HISTORY", "1,100,10000").split(","))
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench"))  # results and scratch databases
PROJECT = "demo-bench"
CLK = os.sysconf("SC_CLK_TCK")
PYTHON = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class World:
    """The fakes and the emulator every target talks to."""

    def __init__(self) -> None:
        self.graph = FakeGraph(FB_TOKEN)
        self.telegram = FakeTelegram(TG_TOKEN)
        self.secrets = FakeSecretManager()
        self.secrets.secrets[f"projects/{PROJECT}/secrets/fb-app-secret/versions/latest"] = FB_SECRET
        self.emulator = Emulator(free_port())
        self.emulator.start()
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.emulator.host

    def env(self, store: str = "firestore") -> dict:
        return os.environ | {
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "FIRESTORE_EMULATOR_HOST": self.emulator.host,
            "SECRET_MANAGER_ENDPOINT": self.secrets.url,
            "STORE_URL": f"firestore://{PROJECT}" if store == "firestore" else f"sqlite:///{OUT}/.bench.db",
            # As deployed: Cloud Run's --set-secrets hands secrets over as variables (no fetch at start).
            # The baseline fetches its secret from Secret Manager at import, as such bots do.
            **platform_env(self.graph.url, self.telegram.url),
            "LOG_LEVEL": "WARNING",
            "HOST": "127.0.0.1",
            # Each sender writes hundreds of messages a minute: measured as handled, not as a flood dropped.
            "FLOOD_PER_MINUTE": "1000000",
            "FLOOD_PER_DAY": "1000000",
        }

    def close(self) -> None:
        self.emulator.stop()
        for server in (self.graph, self.telegram, self.secrets):
            server.close()


def gunicorn(target: str, port: int, workers: int, threads: int, config: bool) -> list[str]:
    command = [PYTHON, "-m", "gunicorn"]
    if config:
        command += ["-c", "gunicorn.conf.py"]
    else:
        command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    return command + ["--workers", str(workers), "--threads", str(threads), target]


TARGETS = {
    # name: (wsgi target, our gunicorn config?, working directory)
    "ours": ("app:create_app()", True, ROOT),
    "baseline": ("baseline_bot:app", False, ROOT / "bench"),
    "bare flask": ("hello_app:create_app()", False, ROOT / "bench"),
}


def start(world: World, name: str, workers: int = 1, threads: int = 8, store: str = "firestore"):
    target, config, cwd = TARGETS[name]
    port = free_port()
    env = world.env(store) | {"PORT": str(port), "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
    if name == "baseline":
        threads = 1  # its style: one worker, one thread
    command = gunicorn(target, port, workers, threads, config)
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(probe, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if probe():
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.003)
    raise RuntimeError("no answer")


_counter = iter(range(10**9))
RETURNING_USER = "psid-bench-returning"  # a cold start is usually woken by someone who wrote before


def signed_message(base: str, new: bool = False) -> bool:
    """A returning person's "help", or (``new``) a Get Started tap from someone never seen."""
    n = next(_counter)
    mid = f"m_bench_{time.time_ns()}_{n}"
    event = (
        fb_postback(f"psid-bench-new-{mid}", "Get Started", "GET_STARTED", mid)
        if new
        else fb_text(RETURNING_USER, "help", mid)
    )
    raw = json.dumps(fb_body(event)).encode()
    headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
    return requests.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=30).status_code == 200


# ---------------------------------------------------------------- 1. cold start


def cold_start(world: World) -> dict:
    results = {}
    # As the image is built (Dockerfile: compileall), every target starts from bytecode, not from source.
    subprocess.run([PYTHON, "-m", "compileall", "-q", "-l", str(ROOT), str(ROOT / "bench")], check=True)
    for name in ("ours", "baseline"):  # the returning user exists for both before the timed runs
        process, base = start(world, name)
        try:
            wait_for(lambda b=base: signed_message(b))
        finally:
            stop(process)
    cases = [("ours", "health"), ("ours", "message"), ("ours", "new"), ("baseline", "health"),
             ("baseline", "message"), ("baseline", "new"), ("bare flask", "health")]  # fmt: skip
    samples: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    # Round-robin, so that a slow spell of the machine falls on every target alike and not on one of them.
    for _ in range(RUNS):
        for name, probe_name in cases:
            target, config, cwd = TARGETS[name]
            port = free_port()
            env = world.env() | {"PORT": str(port), "WEB_CONCURRENCY": "1"}
            command = gunicorn(target, port, 1, 8 if name == "ours" else 1, config)
            base = f"http://127.0.0.1:{port}"
            probe = (
                (lambda b=base: requests.get(b + "/health", timeout=30).status_code == 200)
                if probe_name == "health"
                else (lambda b=base, new=probe_name == "new": signed_message(b, new))
            )
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(probe)
                samples[name, probe_name].append(time.perf_counter() - started)
            finally:
                stop(process)
    for (name, probe_name), values in samples.items():
        results[f"{name} {probe_name}"] = statistics.median(values)
    return results


def import_profile() -> list[tuple[str, float]]:
    """What our process imports before it can answer /health, slowest first (python -X importtime)."""
    code = "import app; app.create_app()"
    env = os.environ | {"STORE_URL": f"firestore://{PROJECT}", "LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    ).stderr
    rows = []
    for line in out.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = [p.strip() for p in line[len("import time:") :].split("|")]
            if parts[1].isdigit() and parts[2].count(" ") == 0:  # top-level imports only
                rows.append((parts[2], int(parts[1]) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:8]


# ---------------------------------------------------------------- what a person waits for (bench/latency.py)


def waiting(world: World) -> dict:
    proxy = latency.with_latency(world)

    def start_server(name: str):
        target, config, cwd = TARGETS[name]
        port = free_port()
        env = world.env() | {"PORT": str(port), "WEB_CONCURRENCY": "1", "FIRESTORE_EMULATOR_HOST": proxy.host}
        command = gunicorn(target, port, 1, 8 if name == "ours" else 1, config)
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return process, f"http://127.0.0.1:{port}"

    message = latency.messenger_message(sign, fb_body, fb_postback, fb_text)
    try:
        return latency.measure(world, start_server, stop, message, WAIT_COLD_RUNS, WAIT_WARM_RUNS)
    finally:
        latency.without_latency(world, proxy)


# ---------------------------------------------------------------- 2. throughput and CPU


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and all its descendants."""
    total = 0.0
    pids = [root_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == root_pid:
                pids.append(int(entry.name))
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK
        except (OSError, ValueError, IndexError):
            pass
    return total


def worker_pss_mib(root_pid: int) -> list[float]:
    sizes = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != root_pid:
                    continue
                rollup = (entry / "smaps_rollup").read_text()
            except (OSError, ValueError, IndexError):
                continue
            kb = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
            sizes.append(kb / 1024)
    return sizes


def load(base: str, make_request, senders: int, seconds: float) -> dict:
    """``senders`` threads sending back to back for ``seconds``: count, throughput, latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def sender(index: int) -> None:
        session = requests.Session()
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok = make_request(session, base, index, n)
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
            n += 1

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
    return {
        "ok": len(latencies),
        "errors": errors[0],
        "per_second": len(latencies) / wall,
        "p50_ms": pick(0.5) * 1000,
        "p99_ms": pick(0.99) * 1000,
    }


def telegram_message(session, base: str, index: int, n: int) -> bool:
    body = tg_message(700000 + index, "/help", update_id=int(time.time_ns() // 1000) * 100 + index)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    return session.post(base + "/webhook/telegram", json=body, headers=headers, timeout=30).status_code == 200


def messenger_message(session, base: str, index: int, n: int) -> bool:
    raw = json.dumps(fb_body(fb_text(f"psid-load-{index}", "help", mid=f"m_{time.time_ns()}_{index}_{n}"))).encode()
    headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
    return session.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=30).status_code == 200


def health_request(session, base: str, index: int, n: int) -> bool:
    return session.get(base + "/health", timeout=30).status_code == 200


def measured_run(
    world: World, name: str, make_request, workers: int, store: str = "firestore", senders: int = SENDERS
) -> dict:
    process, base = start(world, name, workers=workers, store=store)
    try:
        wait_for(lambda: requests.get(base + "/health", timeout=5).status_code == 200)
        load(base, make_request, min(senders, 8), 1.0)  # warm-up: imports, connections, first lookups
        cpu_before = tree_cpu_seconds(process.pid)
        result = load(base, make_request, senders, SECONDS)
        cpu = tree_cpu_seconds(process.pid) - cpu_before
        result["cpu_ms_per_request"] = 1000 * cpu / max(1, result["ok"] + result["errors"])
        result["pss_mib_per_worker"] = statistics.mean(worker_pss_mib(process.pid) or [float("nan")])
        return result
    finally:
        stop(process)


def warm_up(world: World, name: str) -> None:
    process, base = start(world, name, workers=2 if name == "ours" else 1)
    try:
        wait_for(lambda: requests.get(base + "/health", timeout=5).status_code == 200)
        load(base, messenger_message, SENDERS, WARMUP_SECONDS)
    finally:
        stop(process)


def messenger_pairs(world: World) -> dict:
    """Ours and the baseline on Messenger, in turns, PAIR_ROUNDS times: one 6-second run swings by
    ±15 % with the machine and the emulator, so the target ratios come from medians. Who goes first
    alternates (ours, baseline; baseline, ours; ...): the emulator keeps changing speed as it runs
    (faster while its JVM compiles, slower as documents pile up), and a fixed order would hand one
    side the better emulator in every round."""
    pairs = [("ours messenger, firestore", "ours", 2), ("baseline messenger, firestore", "baseline", 1)]
    samples: dict = {label: [] for label, _, _ in pairs}
    for round_ in range(PAIR_ROUNDS):
        for label, name, workers in pairs if round_ % 2 == 0 else pairs[::-1]:
            samples[label].append(measured_run(world, name, messenger_message, workers))
    runs = {}
    for label, results in samples.items():
        middle = sorted(results, key=lambda r: r["per_second"])[len(results) // 2]
        runs[label] = middle | {  # latencies from the middle run; rate and CPU, medians
            "per_second": statistics.median(r["per_second"] for r in results),
            "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in results),
            "rounds": len(results),
        }
    return runs


# ---------------------------------------------------------------- 4, 5. Firestore operations and growth (in process)


HAPPY_PATH = "happy path: this instance wrote the conversation last"


def operations_and_growth(world: World) -> dict:
    import app as app_module
    from chatbot.core.settings import Settings
    from chatbot.store.firestore import FirestoreStore
    from chatbot.store.firestore_shapes import to_document

    env = world.env() | {"STORE_URL": f"firestore://{PROJECT}"}
    store = FirestoreStore(PROJECT)
    settings = Settings.from_env(env)
    application = app_module.create_app(settings, store=store)
    counts = {"reads": 0, "writes": 0}
    api = store.client()._firestore_api
    original_get, original_commit = api.batch_get_documents, api.commit

    def counting_get(request=None, **kwargs):
        counts["reads"] += len(request["documents"])
        return original_get(request=request, **kwargs)

    def counting_commit(request=None, **kwargs):
        counts["writes"] += len(request["writes"])
        return original_commit(request=request, **kwargs)

    api.batch_get_documents, api.commit = counting_get, counting_commit
    client = application.test_client()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

    def send(user: int, update_id: int) -> tuple[float, int, int]:
        counts.update(reads=0, writes=0)
        started = time.perf_counter()
        assert (
            client.post(
                "/webhook/telegram", json=tg_message(user, "/help", update_id=update_id), headers=headers
            ).status_code
            == 200
        )
        return time.perf_counter() - started, counts["reads"], counts["writes"]

    send(990001, 1)
    _, reads, writes = send(990001, 2)
    _, re_reads, re_writes = send(990001, 2)  # redelivery
    # Another instance writes the conversation meanwhile: this one's write from memory is refused.
    from chatbot.store.base import Change

    other = FirestoreStore(PROJECT)
    other.transact("telegram:990001", lambda doc: (Change({**doc, "created_at": doc["created_at"] - 1}), None))
    other.close()
    _, other_reads, other_writes = send(990001, 4)
    ops = {
        HAPPY_PATH: {"reads": reads, "writes": writes},
        "another instance wrote it last (one write refused, nothing applied)": {
            "reads": other_reads,
            "writes": other_writes,
        },
        "redelivery": {"reads": re_reads, "writes": re_writes},
    }

    # Growth: a conversation with 1, 100 and 10,000 earlier messages. The history is built on SQLite
    # (fast), then the document is copied into Firestore and measured there.
    import tg
    import web
    from chatbot.delivery import flood, relay
    from chatbot.store.sqlite import SQLiteStore

    growth = {}
    sqlite_path = OUT / ".growth.db"
    sqlite_path.unlink(missing_ok=True)
    scratch = SQLiteStore(str(sqlite_path))
    quiet = web.WebChat(settings)  # builds the same history without sending 10,000 messages
    quiet.keeps_transcript = False  # as for the Telegram conversation it stands in for: no transcript kept
    import mentor
    from chatbot.engine import loader

    skills = loader.load(settings.skills_file, mentor.ACTIONS, mentor.CHECKS)
    unlimited = flood.Guard(flood.Limit(per_minute=10**9, per_day=10**9))  # 10,000 messages in seconds, on purpose
    done = 0
    calls_before = len(world.telegram.calls)
    send(990003, 3)
    platform_calls = len(world.telegram.calls) - calls_before
    for history in HISTORY:
        while done < history:
            update = tg.parse(tg_message(990002, "/help", update_id=10_000_000 + done))
            relay.deliver(update, quiet, scratch, skills, guard=unlimited)
            done += 1
        doc = scratch.load("telegram:990002")
        store.client().collection("conversations").document("telegram:990002").set(
            to_document("telegram:990002", doc, time.time())
        )
        samples = [send(990002, 20_000_000 + history * 10 + i) for i in range(5)]
        growth[history] = {
            "ms": statistics.median(s[0] for s in samples) * 1000,
            "reads": samples[-1][1],
            "writes": samples[-1][2],
            "document_kib": len(json.dumps(scratch.load("telegram:990002"))) / 1024,
        }
    scratch.close()
    sqlite_path.unlink(missing_ok=True)
    store.close()
    return {"operations": ops, "growth": growth, "platform_calls_per_message": platform_calls}


# ---------------------------------------------------------------- 6. cost


PLATFORM_CALL_SECONDS = 0.15  # assumed round trip from Cloud Run to the Graph or Bot API (loopback here)

PRICES = {
    "date": "2026-11-24",
    "source": "cloud.google.com/run/pricing, /firestore/pricing, /secret-manager/pricing (list prices, USD)",
    "run_vcpu_second": 0.000024,  # Tier 1, CPU allocated only while handling requests
    "run_gib_second": 0.0000025,
    "run_per_million_requests": 0.40,
    "run_free_vcpu_seconds": 180_000,  # per month
    "run_free_gib_seconds": 360_000,
    "run_free_requests": 2_000_000,
    "firestore_per_100k_reads": 0.03,  # us-central1 (regional); multi-region is twice that
    "firestore_per_100k_writes": 0.09,
    "firestore_free_reads_per_day": 50_000,
    "firestore_free_writes_per_day": 20_000,
    "secret_versions": 0.06,  # per active version per month, six free
    "secret_per_10k_accesses": 0.03,  # 10,000 free per month
}


def cost_model(per_message_seconds: float, memory_gib: float, reads: float, writes: float) -> dict:
    """Monthly cost by daily volume. Billable time per message is the time a request keeps the
    instance busy (Cloud Run bills allocated vCPU and memory while requests run, in 100 ms steps)."""
    table = {}
    for per_day in (100, 10_000, 1_000_000):
        month = per_day * 30
        # Each message is its own short busy period at low volume (at least 100 ms); at volume they overlap.
        busy = month * (max(0.1, per_message_seconds) if per_day < 50_000 else per_message_seconds)
        vcpu = max(0.0, busy - PRICES["run_free_vcpu_seconds"]) * PRICES["run_vcpu_second"]
        mem = max(0.0, busy * memory_gib - PRICES["run_free_gib_seconds"]) * PRICES["run_gib_second"]
        req = max(0, month - PRICES["run_free_requests"]) / 1e6 * PRICES["run_per_million_requests"]
        fs_reads = (
            max(0.0, per_day * reads - PRICES["firestore_free_reads_per_day"])
            * 30
            / 1e5
            * PRICES["firestore_per_100k_reads"]
        )
        fs_writes = (
            max(0.0, per_day * writes - PRICES["firestore_free_writes_per_day"])
            * 30
            / 1e5
            * PRICES["firestore_per_100k_writes"]
        )
        table[per_day] = {
            "cloud_run": vcpu + mem + req,
            "firestore": fs_reads + fs_writes,
            "total": vcpu + mem + req + fs_reads + fs_writes,
        }
    free_limits = [
        PRICES["firestore_free_writes_per_day"] / writes if writes else float("inf"),
        PRICES["firestore_free_reads_per_day"] / reads if reads else float("inf"),
        PRICES["run_free_vcpu_seconds"] / 30 / max(0.1, per_message_seconds),
        PRICES["run_free_requests"] / 30,
    ]
    return {"by_volume": table, "largest_free_daily_volume": int(min(free_limits))}


# ---------------------------------------------------------------- report


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


STEPS = 5


def step(n: int, text: str) -> None:
    print(f"[{n}/{STEPS}] {text}", flush=True)


def main() -> None:
    started = time.perf_counter()
    world = World()
    out: dict = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}, "prices": PRICES}
    try:
        step(1, f"cold start: {RUNS} rounds of 7 server starts (about {RUNS * 10} s)")
        out["cold_start_s"] = cold_start(world)
        out["import_profile_s"] = import_profile()
        step(
            2, f"what a person waits for, with real platform latency ({WAIT_COLD_RUNS} cold and {WAIT_WARM_RUNS} warm)"
        )
        out["waiting_s"] = waiting(world)
        step(
            3,
            f"throughput, CPU and memory: {WARMUP_SECONDS:.0f} s of warm-up per bot, then {4 + 2 * PAIR_ROUNDS} runs of {SECONDS:.0f} s",
        )
        # The emulator is a JVM: its first seconds under load run slower (measured: the same run gained 50 %
        # when repeated), and each bot's kind of write warms up on its own (ours: conditional updates of a
        # few fields; the baseline's: whole-document sets). Without this, whichever Firestore run came
        # first would pay for the warm-up.
        for name in ("ours", "baseline"):
            warm_up(world, name)
        runs = {
            "ours telegram, sqlite": measured_run(world, "ours", telegram_message, 2, store="sqlite"),
            "ours telegram, firestore": measured_run(world, "ours", telegram_message, 2),
            **messenger_pairs(world),
            "ours /health": measured_run(world, "ours", health_request, 1, senders=8),
            "bare flask /health": measured_run(world, "bare flask", health_request, 1, senders=8),
        }
        out["throughput"] = runs
        step(4, "Firestore operations per message and growth of one conversation")
        out.update(operations_and_growth(world))
    finally:
        world.close()
        (OUT / ".bench.db").unlink(missing_ok=True)
    # Billed as if every message read first (as when many instances share the traffic): an upper bound.
    ops = {
        "reads": max(o["reads"] for o in out["operations"].values()),
        "writes": out["operations"][HAPPY_PATH]["writes"],
    }
    # Service time of one message: measured alone (no queueing), plus the platform round trips that
    # loopback hides. Under load the p50 above is mostly waiting in line, which is not billed per message.
    busy = out["growth"][1]["ms"] / 1000 + out["platform_calls_per_message"] * PLATFORM_CALL_SECONDS
    out["busy_seconds_per_message"] = busy
    out["cost"] = cost_model(busy, 0.5, ops["reads"], ops["writes"])
    out["targets"] = targets(out)
    out["seconds"] = time.perf_counter() - started
    step(5, "report, history and chart")
    (OUT / "results.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    bench_history.record(OUT / "history.json", out)
    bench_history.chart(OUT / "history.json", OUT / "history.svg")
    report = render(out)
    (OUT / "results.md").write_text(report)
    print(report)


def targets(out: dict) -> list[dict]:
    """Each target as measured in this run: its ratio, the bound, and whether it holds."""
    cold, runs, wait = out["cold_start_s"], out["throughput"], out["waiting_s"]
    ours_m, base_m = runs["ours messenger, firestore"], runs["baseline messenger, firestore"]
    ours_h, bare_h = runs["ours /health"], runs["bare flask /health"]
    rows = [
        ("cold start to the first 200, new person (× baseline)", cold["ours new"] / cold["baseline new"], "≤", 0.85),
        ("cold start to the first 200, returning person (× baseline)", cold["ours message"] / cold["baseline message"], "≤", 0.85),
        ("server CPU per Messenger message (× baseline)", ours_m["cpu_ms_per_request"] / base_m["cpu_ms_per_request"], "≤", 1.3),
        ("Messenger messages per second (× baseline)", ours_m["per_second"] / base_m["per_second"], "≥", 1.1),
        ("/health CPU per request (× bare Flask)", ours_h["cpu_ms_per_request"] / bare_h["cpu_ms_per_request"], "≤", 1.25),
    ]  # fmt: skip
    for kind in ("new", "returning"):
        for temperature in ("cold", "warm"):
            ours, base = wait["ours"][kind][temperature]["first"], wait["baseline"][kind][temperature]["first"]
            rows.append((f"time to the first reply, {kind} person, {temperature} (× baseline)", ours / base, "≤", 1.0))
    return [
        {"name": name, "ratio": value, "bound": f"{op} {bound}", "met": value <= bound if op == "≤" else value >= bound}
        for name, value, op, bound in rows
    ]


def render(out: dict) -> str:
    cold, runs, growth = out["cold_start_s"], out["throughput"], out["growth"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `make bench` on {out['machine']['cores']} cores, Python {out['machine']['python']}, "
        f"loopback only (fake Graph and Telegram servers, Firestore emulator), in {out['seconds']:.0f} s. "
        "Absolute numbers depend on the machine; the ratios compare with references measured in the same run.",
        "",
        "## Targets (ratios measured in this run)",
        "",
        "| measure | ratio | target | |",
        "|---|---|---|---|",
        *(
            f"| {t['name']} | {t['ratio']:.2f}× | {t['bound']}× | {'met' if t['met'] else '**not met**'} |"
            for t in out["targets"]
        ),
        "",
        "The chart of these ratios across runs is bench/history.svg (kept in bench/history.json).",
        "",
        f"## 1. Cold start (median of {RUNS} runs, process start to first 200)",
        "",
        "| target | /health | signed Messenger message from a returning user (reads and writes state) | Get Started from a new person |",
        "|---|---|---|---|",
        f"| ours (gunicorn.conf.py, 1 worker, secrets from the environment) | {cold['ours health']:.2f} s ({ratio(cold['ours health'], cold['bare flask health'])} bare Flask) "
        f"| {cold['ours message']:.2f} s ({ratio(cold['ours message'], cold['baseline message'])} baseline) "
        f"| {cold['ours new']:.2f} s ({ratio(cold['ours new'], cold['baseline new'])} baseline) |",
        f"| baseline bot | {cold['baseline health']:.2f} s | {cold['baseline message']:.2f} s | {cold['baseline new']:.2f} s |",
        f"| bare Flask | {cold['bare flask health']:.2f} s | | |",
        "",
        "Slowest imports before our first answer: "
        + ", ".join(f"{name} {secs * 1000:.0f} ms" for name, secs in out["import_profile_s"]),
        "",
        *waiting_section(out["waiting_s"]),
        f"## 2–3. Throughput, CPU and memory ({SENDERS} concurrent senders, {SECONDS:.0f} s each; "
        f"the two Messenger rows: medians of {PAIR_ROUNDS} runs each, in turns, each side first as often)",
        "",
        "| run | messages/s | p50 | p99 | errors | server CPU per request | PSS per worker |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        lines.append(
            f"| {name} | {r['per_second']:.0f} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['errors']} "
            f"| {r['cpu_ms_per_request']:.2f} ms | {r['pss_mib_per_worker']:.0f} MiB |"
        )
    ours_h, bare_h = runs["ours /health"], runs["bare flask /health"]
    ours_m, base_m = runs["ours messenger, firestore"], runs["baseline messenger, firestore"]
    lines += [
        "",
        f"- Stateless route CPU per request: {ratio(ours_h['cpu_ms_per_request'], bare_h['cpu_ms_per_request'])} bare Flask (target ≤ 1.25×).",
        f"- Messenger messages per second: {ratio(ours_m['per_second'], base_m['per_second'])} the baseline; "
        f"CPU per message {ratio(ours_m['cpu_ms_per_request'], base_m['cpu_ms_per_request'])} the baseline's "
        "(ours also verifies, deduplicates, renders within limits and records what was sent).",
        f"- Memory (PSS) per worker: {ratio(ours_m['pss_mib_per_worker'], base_m['pss_mib_per_worker'])} the baseline.",
        "",
        "## 4. Firestore operations per message",
        "",
        "| case | reads | writes |",
        "|---|---|---|",
    ]
    for case, o in out["operations"].items():
        lines.append(f"| {case} | {o['reads']} | {o['writes']} |")
    lines += [
        "",
        "A message starts from what this process wrote last, if it did, and reads only when someone else wrote since "
        "(its write, conditional on the version it remembers, is refused: nothing applied). "
        "The baseline bot does 1 read + 1 write but records neither the event (a redelivery replies twice) nor what was sent.",
        "",
        "## 5. Growth: the same user after many messages",
        "",
        "| earlier messages | time per message | reads | writes | conversation document |",
        "|---|---|---|---|---|",
    ]
    for history, g in growth.items():
        lines.append(
            f"| {int(history):,} | {g['ms']:.1f} ms | {g['reads']} | {g['writes']} | {g['document_kib']:.1f} KiB |"
        )
    cost = out["cost"]
    p = out["prices"]
    lines += [
        "",
        "## 6. Monthly cost",
        "",
        f"Prices: {p['source']}, as of {p['date']}: Cloud Run ${p['run_vcpu_second']}/vCPU-s, ${p['run_gib_second']}/GiB-s, "
        f"${p['run_per_million_requests']}/million requests (free: {p['run_free_vcpu_seconds']:,} vCPU-s, {p['run_free_gib_seconds']:,} GiB-s, "
        f"{p['run_free_requests']:,} requests a month); Firestore ${p['firestore_per_100k_reads']}/100k reads, "
        f"${p['firestore_per_100k_writes']}/100k writes (free: {p['firestore_free_reads_per_day']:,} reads, {p['firestore_free_writes_per_day']:,} writes a day); "
        "Secret Manager is left out: six versions and 10,000 accesses are free, and each optional secret past six adds $0.06 a month (see Cost). "
        f"Model: 1 vCPU, 512 MiB; each message keeps an instance busy {out['busy_seconds_per_message'] * 1000:.0f} ms "
        f"(its measured service time plus {PLATFORM_CALL_SECONDS * 1000:.0f} ms per platform call, at least 100 ms at low volume); "
        "Firestore operations as in section 4, with a read for every message (as when many instances share the traffic).",
        "",
        "| messages a day | Cloud Run | Firestore | total a month |",
        "|---|---|---|---|",
    ]
    for per_day, c in cost["by_volume"].items():
        lines.append(f"| {int(per_day):,} | ${c['cloud_run']:.2f} | ${c['firestore']:.2f} | ${c['total']:.2f} |")
    lines += [
        "",
        f"Largest daily volume that stays at $0: about {cost['largest_free_daily_volume']:,} messages a day.",
        "",
    ]
    return "\n".join(lines)


def waiting_section(wait: dict) -> list[str]:
    lat = latency.LATENCY
    lines = [
        "## What a person waits for: message to reply at the platform",
        "",
        f"Every Graph API call takes {lat['graph'] * 1000:.0f} ms, every Telegram call {lat['telegram'] * 1000:.0f} ms and every "
        f"Firestore call {lat['firestore'] * 1000:.0f} ms more (bench/latency.py). Medians of {WAIT_COLD_RUNS} cold runs "
        f"(from the server's start, which the message causes) and {WAIT_WARM_RUNS} warm ones. A new person taps Get Started; "
        'a returning one writes "help". Our welcome is two messages (the greeting, then the choices), the baseline\'s one.',
        "",
        "| person | | ours: first reply | baseline: first reply | ratio | ours: last reply | baseline: last reply |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("new", "returning"):
        for temperature in ("cold", "warm"):
            ours, base = wait["ours"][kind][temperature], wait["baseline"][kind][temperature]
            lines.append(
                f"| {kind} | {temperature} | {ours['first'] * 1000:.0f} ms | {base['first'] * 1000:.0f} ms "
                f"| {ratio(ours['first'], base['first'])} | {ours['last'] * 1000:.0f} ms | {base['last'] * 1000:.0f} ms |"
            )
    return [*lines, ""]


if __name__ == "__main__":
    main()
