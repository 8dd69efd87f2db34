"""Fourteen days, 54 people on each channel in six behaviours, on both stores: every reminder
delivered, held and refused follows the rules (tests/simulation.py drives it). The table of what
happened is written to test-artifacts/reminders-simulation-<store>.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulation import BEHAVIOURS, DAY, QUARTER, TZ, Clock, World, simulate

import app as app_module

# The emulator answers each write over HTTP, about three times slower than SQLite: on Firestore the
# same fourteen days run with fewer people (24 per channel), every behaviour and channel still there.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PER_BEHAVIOUR = {"sqlite": 9, "firestore": 4}  # 54 and 24 people per channel
TASKS_TOKEN = "tasks-token-for-the-simulation"


@pytest.fixture
def world(make_settings, store_url, each_store, graph, telegram):
    clock = Clock()
    application = app_module.create_app(
        make_settings(store_url=store_url, tasks_token=TASKS_TOKEN), store=each_store, clock=clock, sleep=clock.sleep
    )
    people = PER_BEHAVIOUR[store_url.split(":")[0]]
    return World(application.test_client(), graph, telegram, clock, people, store=each_store)


def local_hour(at: float, channel: str) -> float:
    return ((at + TZ[channel] * 3600) % DAY) / 3600


def check(world: World) -> list[str]:
    """Every person's reminders against the rules; the problems found."""
    problems = []
    for person in world.people:
        conv = world.conversation(person)
        late = [t for t in person.reminders if not 7 <= local_hour(t, person.channel) <= 21.5]
        if late:
            problems.append(
                f"{person.key}: reminded in the night at {[round(local_hour(t, person.channel), 2) for t in late]}"
            )
        if person.refused and person.behaviour != "blocks_day_5":
            problems.append(f"{person.key}: {person.refused} reminder(s) refused by the platform")
        problems += check_behaviour(person, conv)
    return problems


def check_behaviour(person, conv) -> list[str]:
    problems, channel, when = [], person.channel, person.reminders
    if person.behaviour in ("answers_all", "changes_hour_day_3") and channel != "web":
        gaps = [b - a for a, b in zip(when, when[1:], strict=False)]
        if len(when) < 5 or max(gaps, default=0) > 3 * DAY:
            problems.append(f"{person.key}: {len(when)} reminders, gaps {[round(g / DAY, 1) for g in gaps]} days")
    if person.behaviour == "silent_after_day_2" and channel == "messenger":
        after = [t for t in when if t > person.last_answer_at]
        if len(after) != 1 or conv.held != "REMINDER":
            problems.append(f"{person.key}: {len(after)} nudges after going quiet, held={conv.held!r}")
    if (
        person.behaviour == "blocks_day_5"
        and channel != "web"
        and ([t for t in when if t > person.gone_at] or conv.active)
    ):
        problems.append(f"{person.key}: reminded after blocking, or still active")
    if person.behaviour == "off_day_4" and [t for t in when if t > person.off_at + QUARTER]:
        problems.append(f"{person.key}: reminded after turning reminders off")
    if person.behaviour == "changes_hour_day_3" and channel == "telegram":
        hours = [round(local_hour(t, channel), 2) for t in when if t > person.hour_changed_at + DAY]
        if not hours or not all(8 <= h < 8.5 for h in hours):
            problems.append(f"{person.key}: after choosing 8:00, reminded at {hours}")
    if channel == "web" and person.behaviour == "answers_all" and person.welcomed_back < 5:
        problems.append(f"{person.key}: shown {person.welcomed_back} held reminders on opening the page")
    return problems


def table(world: World, store: str) -> str:
    people = PER_BEHAVIOUR[store]
    lines = [f"# Reminders over 14 days ({store}): per behaviour and channel, summed over {people} people", "",
             "| behaviour | channel | delivered | held, then shown on return | still held at the end | refused |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for behaviour in BEHAVIOURS:
        for channel in ("messenger", "telegram", "web"):
            group = [p for p in world.people if p.behaviour == behaviour and p.channel == channel]
            held_now = sum(world.conversation(p).held == "REMINDER" for p in group)
            delivered = sum(len(p.reminders) for p in group if channel != "web")
            shown = sum(p.welcomed_back for p in group)
            refused = sum(p.refused for p in group)
            lines.append(f"| {behaviour} | {channel} | {delivered} | {shown} | {held_now} | {refused} |")
    return "\n".join(lines) + "\n"


def test_fourteen_days_of_reminders_follow_every_platforms_rules(world, store_url):
    def run_task():
        answer = world.client.post("/tasks/reminders", json={"budget_seconds": 600},
                                   headers={"Authorization": f"Bearer {TASKS_TOKEN}"})  # fmt: skip
        assert answer.status_code == 200, answer.data

    def slow_down_telegram():
        # Telegram asks for patience now and then: the bot waits and sends again, never twice.
        too_many = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1}}  # fmt: skip
        world.telegram.queue(429, too_many, match="sendPhoto", times=10)

    simulate(world, run_task, once_started=slow_down_telegram)
    store = store_url.split(":")[0]
    report = table(world, store)
    out = Path(__file__).resolve().parent.parent / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / f"reminders-simulation-{store}.md").write_text(report, encoding="utf-8")
    print(report)
    problems = check(world)
    assert problems == [], "\n".join(problems)
    # Telegram's 429s were waited out: every reminder it refused for now went out once, later.
    assert sum(1 for c in world.telegram.calls if c.status == 429) == 10
