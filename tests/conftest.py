"""Fixtures: the app per test on a temporary SQLite file, wired to fake platforms on loopback."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(ROOT / "bench"))  # the load tests' scripts, run here in a short form

from emulator import Emulator  # noqa: E402
from fakes import FakeGraph, FakeTelegram  # noqa: E402
from payloads import FB_SECRET, FB_TOKEN, TG_TOKEN, platform_env  # noqa: E402

import app as app_module  # noqa: E402
import mentor  # noqa: E402
from chatbot.core.settings import Settings  # noqa: E402
from chatbot.engine import loader  # noqa: E402
from chatbot.store.url import open_store  # noqa: E402


def _catalog_pages() -> int:
    """How many pages the catalog takes ("page 1 of N"), from skills.json as it is."""
    import json

    data = json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))
    size = data["bot"].get("catalog_page_size", 4)
    return -(-len(data["catalog"]) // size)


CATALOG_PAGES = _catalog_pages()


def pytest_collection_modifyitems(config, items):
    # Tests that need a system part (a browser, the emulator) say so with a marker; the rest run everywhere.
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.timeout(180))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a system part is missing; in CI (CI=true) a missing part is a failure."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------- nothing leaves the machine

OFF_MACHINE: list[str] = []  # where something in this process tried to go


def on_this_machine(host: object) -> bool:
    name = str(host).lower().strip("[]")
    # As a destination, 0.0.0.0 and :: mean this machine.
    return name in ("localhost", "::1", "0.0.0.0", "::", "") or name.startswith("127.")  # noqa: S104


def _guarded(original):
    def call(host, *args, **kwargs):
        if not on_this_machine(host):
            OFF_MACHINE.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"tests reach loopback only, not {host}")
        return original(host, *args, **kwargs)

    return call


def _guarded_connect(original):
    def connect(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not on_this_machine(address[0]):
            OFF_MACHINE.append(str(address[0]))
            raise ConnectionRefusedError(f"tests reach loopback only, not {address[0]}")
        return original(self, address, *args)

    return connect


@pytest.fixture(scope="session", autouse=True)
def only_loopback():
    """Every platform a test talks to is a fake on loopback: a name or address anywhere else (the
    live Graph or Bot API, a default URL left in place) is refused before any packet leaves."""
    saved = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex
    socket.getaddrinfo = _guarded(saved[0])
    socket.socket.connect, socket.socket.connect_ex = _guarded_connect(saved[1]), _guarded_connect(saved[2])
    yield
    socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = saved


@pytest.fixture(autouse=True)
def stays_on_this_machine(only_loopback):
    """A test that tried to reach another host fails, even when the code under test swallowed the error."""
    OFF_MACHINE.clear()
    yield
    assert not OFF_MACHINE, f"this test tried to leave the machine: {sorted(set(OFF_MACHINE))}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def graph():
    server = FakeGraph(FB_TOKEN, app_secret=FB_SECRET)
    yield server
    server.close()


@pytest.fixture(scope="session")
def telegram():
    server = FakeTelegram(TG_TOKEN)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _reset_fakes(request):
    for name in ("graph", "telegram"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()
    yield


@pytest.fixture(scope="session")
def firestore_emulator():
    """One emulator for the session; every test that uses it starts from an empty database."""
    require(Emulator.available(), "the Firestore emulator needs the gcloud SDK (cloud-firestore-emulator) and Java")
    emulator = Emulator(free_port())
    emulator.start()
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host  # read by the client library itself
    yield emulator
    emulator.stop()
    if previous is None:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    else:
        os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@pytest.fixture
def firestore_url(firestore_emulator):
    firestore_emulator.clear()
    return firestore_emulator.url()


@pytest.fixture(params=["sqlite", "firestore"])
def store_url(request, tmp_path):
    """Run a test on both stores: SQLite always, Firestore against the real emulator."""
    if request.param == "firestore":
        return request.getfixturevalue("firestore_url")
    return f"sqlite:///{tmp_path}/chatbot.db"


@pytest.fixture
def make_settings(tmp_path, graph, telegram):
    def build(**overrides) -> Settings:
        env = {
            "STORE_URL": f"sqlite:///{tmp_path}/chatbot.db",
            "SKILLS_FILE": str(ROOT / "skills.json"),
            "PUBLIC_URL": "https://bot.example.test",
            "LOG_LEVEL": "WARNING",
            "FLOOD_PER_MINUTE": "1000",  # scripted people type faster than anyone; test_flood.py tests the limit
            **platform_env(graph.url, telegram.url),
        }
        env.update({k.upper(): v for k, v in overrides.items() if v is not None})
        for key in [k for k, v in overrides.items() if v is None]:
            env.pop(key.upper(), None)
        return Settings.from_env(env)

    return build


@pytest.fixture(scope="session")
def skills():
    """The bot in the box's skills.json, loaded and checked as the service loads it."""
    return loader.load(str(ROOT / "skills.json"), mentor.ACTIONS, mentor.CHECKS)


@pytest.fixture
def store(tmp_path):
    """The SQLite store the ``app`` fixture runs on, for a test to look into."""
    opened = open_store(f"sqlite:///{tmp_path}/chatbot.db")
    yield opened
    opened.close()


@pytest.fixture
def app(make_settings, store):
    return app_module.create_app(make_settings(), store=store)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def each_store(store_url):
    """Each store in turn (SQLite, the Firestore emulator)."""
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def store_app(make_settings, store_url, each_store):
    """The app on each store in turn (SQLite, the Firestore emulator)."""
    return app_module.create_app(make_settings(store_url=store_url), store=each_store)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records(app):
    """Every record the app logs during the test (the app's logger does not propagate)."""
    handler = _Collect()
    logger = logging.getLogger("chatbot")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(previous)
