"""What a person waits for: the time from their message to the bot's first (and last) reply at the platform.

The fakes and the store answer as slowly as the real ones do from Cloud Run: every Graph API call
takes LATENCY["graph"], every Telegram call LATENCY["telegram"] (the fakes wait before taking the
call), and every Firestore call LATENCY["firestore"] more (a proxy in front of the emulator holds
each chunk the client sends for that long). A reply "arrives" when the fake platform takes it.

Measured for our bot and the baseline on Messenger, for a new person (a Get Started tap from
someone never seen) and a returning one ("help" from someone known), cold (the message starts
the server, as on Cloud Run after a quiet spell) and warm.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import threading
import time

import requests

LATENCY = {"graph": 0.080, "telegram": 0.060, "firestore": 0.010}


class DelayProxy:
    """A TCP proxy that holds what the client sends for ``delay`` seconds, order kept: one more
    ``delay`` on every gRPC call to the emulator behind it (its answers pass at once)."""

    def __init__(self, target: str, delay: float) -> None:
        self.target_host, port = target.rsplit(":", 1)
        self.target_port, self.delay = int(port), delay
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True, name="delay-proxy").start()
        ready.wait(10)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer, self.delay), self._pump(up_reader, writer, 0.0))

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: float) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    sink.close()
                    return
                sink.write(data)
                await sink.drain()

        task = asyncio.create_task(forward())
        try:
            while True:
                data = await source.read(65536)
                await queue.put((self.loop.time() + delay, data))
                if not data:
                    break
        except (ConnectionError, OSError):
            await queue.put((0.0, b""))
        await task

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def post_until_taken(base: str, raw: bytes, headers: dict, timeout: float = 60.0) -> int:
    """Post the webhook, retrying while nothing listens yet (Cloud Run holds the request meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=30).status_code
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.003)


def replies_since(graph, psid: str, since: float) -> tuple[float, float]:
    """Seconds from ``since`` to the first and to the last message the fake Graph took for ``psid``."""
    arrived = [c.at for c in graph.calls_for(psid) if c.method == "POST" and c.at >= since]
    if not arrived:
        raise RuntimeError(f"no reply reached the platform for {psid}")
    return min(arrived) - since, max(arrived) - since


def measure(world, start_server, stop_server, message, cold_runs: int, warm_runs: int) -> dict:
    """Medians, in seconds, per target, person (new or returning) and temperature (cold or warm).
    ``start_server(name, env)`` returns (process, base); ``message(psid, kind)`` the body and headers."""
    results: dict = {}
    counter = iter(range(10**9))
    returning = {name: f"psid-wait-known-{name.replace(' ', '-')}" for name in ("ours", "baseline")}

    def one(name: str, base: str, kind: str, started: float | None = None) -> tuple[float, float]:
        psid = returning[name] if kind == "returning" else f"psid-wait-new-{name[:4]}-{next(counter)}"
        raw, headers = message(psid, kind)
        since = time.monotonic() if started is None else started
        status = post_until_taken(base, raw, headers)
        if status != 200:
            raise RuntimeError(f"{name}: webhook answered {status}")
        return replies_since(world.graph, psid, since)

    for name in ("ours", "baseline"):  # the returning people exist, profile and all, before anything is timed
        process, base = start_server(name)
        try:
            one(name, base, "returning")
            one(name, base, "returning")
        finally:
            stop_server(process)
    samples: dict = {}
    for _ in range(cold_runs):  # round-robin, so a slow spell of the machine falls on both alike
        for name in ("ours", "baseline"):
            for kind in ("new", "returning"):
                started = time.monotonic()
                process, base = start_server(name)
                try:
                    samples.setdefault((name, kind, "cold"), []).append(one(name, base, kind, started))
                finally:
                    stop_server(process)
    for name in ("ours", "baseline"):
        process, base = start_server(name)
        try:
            one(name, base, "new")  # warm means a process that has answered before
            for _ in range(warm_runs):
                for kind in ("new", "returning"):
                    samples.setdefault((name, kind, "warm"), []).append(one(name, base, kind))
        finally:
            stop_server(process)
    for (name, kind, temperature), values in samples.items():
        results.setdefault(name, {}).setdefault(kind, {})[temperature] = {
            "first": statistics.median(v[0] for v in values),
            "last": statistics.median(v[1] for v in values),
        }
    return results


def messenger_message(sign, fb_body, fb_postback, fb_text):
    """The bodies a person sends: Get Started when new, "help" when returning; signed."""

    def make(psid: str, kind: str) -> tuple[bytes, dict]:
        mid = f"m_wait_{time.time_ns()}"
        event = (
            fb_postback(psid, "Get Started", "GET_STARTED", mid=mid) if kind == "new" else fb_text(psid, "help", mid)
        )
        raw = json.dumps(fb_body(event)).encode()
        return raw, {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}

    return make


def with_latency(world) -> DelayProxy:
    """Slow the world down to a real platform's pace; returns the Firestore proxy (closed by the caller)."""
    world.graph.latency = LATENCY["graph"]
    world.telegram.latency = LATENCY["telegram"]
    return DelayProxy(world.emulator.host, LATENCY["firestore"])


def without_latency(world, proxy: DelayProxy) -> None:
    world.graph.latency = world.telegram.latency = 0.0
    proxy.close()


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
