"""Start the real server the way it is deployed, for tests, load tests and the benchmark."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, timeout: float = 30.0, **popen) -> tuple[subprocess.Popen, str]:
    """gunicorn with gunicorn.conf.py on ``env["PORT"]``; returns once /health answers 200."""
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, **popen)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"gunicorn did not answer /health on {base}")


def nginx_installed() -> bool:
    """Whether the front the image runs (deploy/serve.sh) can run here: nginx, maybe outside a user's PATH."""
    return shutil.which("nginx") is not None or os.access("/usr/sbin/nginx", os.X_OK)


def start_served(env: dict, timeout: float = 30.0, **popen) -> tuple[subprocess.Popen, str]:
    """The server as the image runs it (deploy/serve.sh: nginx in front of gunicorn) on ``env["PORT"]``,
    with this interpreter's gunicorn; returns once /health answers 200 through nginx."""
    env = env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"}
    process = subprocess.Popen([str(ROOT / "deploy" / "serve.sh")], cwd=ROOT, env=env, **popen)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"deploy/serve.sh did not answer /health on {base}")


def stop(process: subprocess.Popen, timeout: float = 20.0) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def sigterm_while_answering(
    process: subprocess.Popen, base: str, graph, prefix: str, people: int = 4
) -> tuple[list[int], int, float]:
    """Signed Messenger messages from ``people`` people while the Graph API takes 2.5 s to accept each
    reply, then SIGTERM once all of them are waiting on it. Returns their statuses, the process's exit
    code, and the seconds from the signal to its exit."""
    from payloads import fb_body, fb_text, sign  # the tests' payloads, beside this module

    graph.queue(200, {"recipient_id": "x", "message_id": "m"}, match="/me/messages", delay=2.5, times=people)
    statuses: list[int] = []

    def send(n: int) -> None:
        raw = json.dumps(fb_body(fb_text(f"{prefix}-{n}", "help"))).encode()
        headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}
        statuses.append(requests.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(people)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # all of them are waiting on the slow Graph
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    code = process.wait(timeout=15)
    return statuses, code, time.monotonic() - started
