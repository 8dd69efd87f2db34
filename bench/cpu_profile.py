"""Where a Messenger message's CPU goes: a profile over N messages handled in process, ours and the baseline.

    .venv/bin/python bench/cpu_profile.py [--messages 300] [--top 25] [--target ours|baseline|both] [--callers deepcopy ...]

Both run against the Firestore emulator and the fake Graph server on loopback, with the same
signed "help" messages from returning users. yappi measures CPU time in every thread (the
Firestore client's gRPC callbacks run in threads of their own); the top functions are printed
by own time and by cumulative time, and the CPU per message is comparable between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yappi

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from emulator import Emulator  # noqa: E402
from fakes import FakeGraph, FakeSecretManager, FakeTelegram  # noqa: E402
from payloads import FB_SECRET, FB_TOKEN, TG_TOKEN, fb_body, fb_text, platform_env, sign  # noqa: E402

PROJECT = "demo-profile"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(target: str, env: dict):
    os.environ.update(env)
    if target == "ours":
        import app as app_module
        from chatbot.core.settings import Settings

        return app_module.create_app(Settings.from_env(os.environ)).test_client()
    import baseline_bot

    return baseline_bot.app.test_client()


def run(target: str, messages: int, top: int, env: dict, callers: tuple[str, ...] = ()) -> float:
    client = client_for(target, env)

    def one(n: int) -> None:
        raw = json.dumps(fb_body(fb_text(f"psid-profile-{n % 20}", "help", mid=f"m_prof_{target}_{n}"))).encode()
        headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
        assert client.post("/webhook/messenger", data=raw, headers=headers).status_code == 200

    for n in range(40):  # warm: imports, connections, the 20 people exist
        one(n)
    started = time.process_time()
    for n in range(40, 40 + messages):  # unprofiled: the CPU per message, client side included
        one(n)
    cpu = (time.process_time() - started) / messages * 1000
    yappi.set_clock_type("cpu")
    yappi.clear_stats()
    yappi.start(builtins=True)
    for n in range(40 + messages, 40 + 2 * messages):
        one(n)
    yappi.stop()
    stats = yappi.get_func_stats()
    for order, column in (("own time", "tsub"), ("cumulative", "ttot")):
        print(f"\n=== {target}: top {top} by {order}, ms per message ({messages} messages, every thread) ===")
        for row in list(stats.sort(column))[:top]:
            where = f"{Path(row.module).name}:{row.lineno}" if row.module else ""
            print(f"{row.tsub / messages * 1000:8.3f} own {row.ttot / messages * 1000:8.3f} cum  {row.name} {where}")
    for name in callers:  # who spends the time of a function named on the command line
        print(f"\n--- {target}: callers of {name}, ms per message")
        rows = [(child.ttot, row) for row in stats for child in row.children if child.name == name]
        for spent, row in sorted(rows, key=lambda r: -r[0])[:10]:
            print(f"{spent / messages * 1000:8.3f}  {row.name} {Path(row.module).name}:{row.lineno}")
    print(f"\n{target}: {cpu:.2f} ms of CPU per message, client side included, without the profiler")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--target", choices=("ours", "baseline", "both"), default="both")
    parser.add_argument("--callers", nargs="*", default=[], help="function names whose callers to list")
    args = parser.parse_args()
    graph, telegram, secrets = FakeGraph(FB_TOKEN), FakeTelegram(TG_TOKEN), FakeSecretManager()
    secrets.secrets[f"projects/{PROJECT}/secrets/fb-app-secret/versions/latest"] = FB_SECRET
    emulator = Emulator(free_port())
    emulator.start()
    env = {
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "SECRET_MANAGER_ENDPOINT": secrets.url,
        "STORE_URL": f"firestore://{PROJECT}",
        "LOG_LEVEL": "WARNING",
        "FLOOD_PER_MINUTE": "1000000",
        "FLOOD_PER_DAY": "1000000",
        **platform_env(graph.url, telegram.url),
    }
    try:
        for target in ("ours", "baseline") if args.target == "both" else (args.target,):
            run(target, args.messages, args.top, env, tuple(args.callers))
    finally:
        emulator.stop()
        for server in (graph, telegram, secrets):
            server.close()


if __name__ == "__main__":
    main()
