"""skills.json: the shipped file is valid, and every kind of mistake is caught with its place."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import ROOT

import app as app_module
from chatbot.engine import chat, skills, skills_check
from mentor.actions import ACTIONS, CHECKS

DATA = json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))


def test_shipped_skills_file_is_valid_against_schema_and_rules():
    import jsonschema

    schema = json.loads((ROOT / "skills.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(DATA, schema)
    assert skills_check.validate(DATA, ACTIONS, CHECKS) == []


def test_the_schema_file_states_the_limits_of_the_one_table():
    # skills.schema.json is generated: `flask --app app skills schema > skills.schema.json`.
    committed = json.loads((ROOT / "skills.schema.json").read_text(encoding="utf-8"))
    assert committed == skills_check.schema()
    for where, limit in skills_check.SCHEMA_LIMITS.items():
        node = committed
        for part in where.split("/"):
            node = node[part]
        assert node == skills_check.LIMITS[limit], where


def test_a_changed_limit_reaches_the_schema(monkeypatch):
    monkeypatch.setitem(skills_check.LIMITS, "buttons", 2)
    cards = skills_check.schema()["$defs"]["reply"]["properties"]["cards"]
    assert cards["items"]["properties"]["buttons"]["maxItems"] == 2


def test_catalog_is_big_enough_and_links_are_real_https():
    assert len(DATA["catalog"]) >= 6
    for skill in DATA["catalog"]:
        assert len(skill["assignments"]) >= 5
        assert all(item["url"].startswith("https://") for item in skill["assignments"])
        assert {item["level"] for item in skill["assignments"]} == {"beginner", "intermediate", "advanced"}
        assert (ROOT / skill["image"].lstrip("/")).exists()


def test_every_locale_has_every_string():
    locales = DATA["strings"]
    assert {"en", "es"} <= set(locales)
    for table in locales.values():
        assert set(table) == set(locales["en"])


def broken(change) -> dict:
    data = copy.deepcopy(DATA)
    change(data)
    return data


CASES = {
    "missing-string-in-es": (lambda d: d["strings"]["es"].pop("welcome"), "strings.es: missing keys ['welcome']"),
    "unknown-string-key": (lambda d: d["intents"]["help"]["say"][0].update(text="nope"), "unknown string key 'nope'"),
    "quick-reply-title-over-20": (
        lambda d: d["strings"]["es"].update(btn_help="Una ayuda muy, muy larga"),
        "'btn_help' in 'es' is longer than 20",
    ),
    "too-many-quick-replies": (
        lambda d: d["menus"]["main_menu"].extend(d["menus"]["main_menu"] * 3),
        "16 buttons, the limit is 13",
    ),
    "button-template-text-over-640": (
        lambda d: (
            d["strings"]["en"].update(help="word " * 140),
            d["intents"]["help"]["say"][0].update(buttons=[{"title": "btn_help", "payload": "HELP"}]),
        ),
        "string 'help' in 'en' is longer than 640",
    ),
    "payload-nobody-handles": (
        lambda d: d["menus"]["main_menu"].append({"title": "btn_help", "payload": "NOWHERE"}),
        "payload 'NOWHERE' is not handled",
    ),
    "goto-unknown-state": (lambda d: d["intents"]["help"].update(goto="limbo"), "no state named 'limbo'"),
    "unknown-action": (lambda d: d["intents"]["help"].update(action="fly"), "no action named 'fly'"),
    "bad-regex": (lambda d: d["intents"]["help"]["triggers"]["patterns"]["en"].append("(unclosed"), "'(unclosed'"),
    "on-text-unknown-intent": (lambda d: d["states"]["suggesting"].update(on_text="ghost"), "no intent named 'ghost'"),
    "command-with-uppercase": (
        lambda d: d["intents"]["help"]["triggers"]["commands"].append("Help"),
        "'Help' must be 1-32",
    ),
    "http-link": (lambda d: d["catalog"][0]["assignments"][0].update(url="http://example.org"), "url: must be https"),
    "duplicate-skill-id": (lambda d: d["catalog"].append(copy.deepcopy(d["catalog"][0])), "'python' appears twice"),
    "card-title-over-80": (lambda d: d["catalog"][0]["assignments"][0].update(title="T" * 81), "title: longer than 80"),
    "subtitle-over-80": (
        lambda d: d["catalog"][0]["assignments"][0].update(author="A" * 70),
        "card subtitle in 'en' is longer than 80",
    ),
    "unknown-level": (lambda d: d["catalog"][0]["assignments"][0].update(level="guru"), "level: one of"),
    "one-locale-only": (lambda d: d["strings"].pop("es"), "at least two locales"),
    "fallback-missing": (lambda d: d["bot"].update(fallback="nothing"), "bot.fallback: must name an intent"),
    "skill-id-too-long": (lambda d: d["catalog"][0].update(id="a-very-long-skill-name-xy"), "id: 1-24 of a-z"),
    "command-not-a-trigger": (
        lambda d: d["commands"].append({"command": "fly", "description": "cmd_help"}),
        "/fly is not a trigger",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_validation_finds_the_mistake(name):
    change, expected = CASES[name]
    errors = skills_check.validate(broken(change), ACTIONS, CHECKS)
    assert any(expected in error for error in errors), errors


def test_longest_payload_from_ids_fits_telegram_callback_data():
    assert len(f"DONE:{'x' * 24}:{'y' * 16}".encode()) <= skills.LIMITS["callback_data"]


def test_skills_check_command(tmp_path, make_settings):
    runner = app_module.create_app(make_settings()).test_cli_runner()
    result = runner.invoke(args=["skills", "check"])
    assert result.exit_code == 0, result.output
    assert "ok: " in result.output and "10 skills, 60 assignments" in result.output


def test_skills_check_fails_on_a_broken_file(tmp_path, make_settings):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(broken(CASES["missing-string-in-es"][0])), encoding="utf-8")
    import click

    with click.Context(click.Command("check")):  # as the flask CLI builds the app
        application = app_module.create_app(make_settings(skills_file=str(path)))
    result = application.test_cli_runner().invoke(args=["skills", "check"])
    assert result.exit_code == 1
    assert "missing keys ['welcome']" in result.output


def test_a_server_refuses_to_start_with_a_broken_file_and_says_why(tmp_path, make_settings):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(broken(CASES["goto-unknown-state"][0])), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        app_module.create_app(make_settings(skills_file=str(path)))
    assert "intents." in str(stopped.value) and "no state named" in str(stopped.value)


def test_schema_catches_what_the_rules_do_not_describe(tmp_path, make_settings):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(broken(lambda d: d["bot"].update(colour="blue"))), encoding="utf-8")
    result = (
        app_module.create_app(make_settings(skills_file=str(path))).test_cli_runner().invoke(args=["skills", "check"])
    )
    assert result.exit_code == 1 and "colour" in result.output


def test_graph_is_mermaid_with_every_intent_and_state(make_settings):
    result = app_module.create_app(make_settings()).test_cli_runner().invoke(args=["skills", "graph"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "flowchart LR"
    for name in DATA["intents"]:
        assert any(line.strip().startswith(f"{name}(") for line in lines), name
    assert "    pick_skill --> state_choosing_level" in lines
    assert "    state_suggesting -- text --> save_suggestion" in lines


@pytest.mark.parametrize(
    "wanted, expected",
    [
        ("es_ES", "es"),
        ("es-419", "es"),
        ("ES", "es"),
        ("en_GB", "en"),
        ("fr_FR", "en"),
        ("", "en"),
        (None, "en"),
        ("zz", "en"),
    ],
)
def test_locale_pick_with_english_fallback(wanted, expected):
    loaded = skills.build(copy.deepcopy(DATA), ACTIONS, CHECKS)
    assert loaded.pick_locale(wanted) == expected


@pytest.mark.parametrize("value", ["{first_name}", "{0.__class__}", "{__import__('os')}", "%(x)s", "{{x}}"])
def test_fields_are_filled_as_plain_text(value):
    assert skills_check.fill("Hi {first_name}!", {"first_name": value}) == f"Hi {value}!"


def guide_json_blocks() -> list[str]:
    """The JSON examples of docs/skills.md (add a skill, add a reply), in order."""
    text = (ROOT / "docs" / "skills.md").read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```json\n")[1:]]


def test_the_guides_examples_are_valid_skills():
    skill_block, intent_block = guide_json_blocks()[-2:]
    data = copy.deepcopy(DATA)
    data["catalog"].append(json.loads(skill_block))
    name, intent = next(iter(json.loads("{" + intent_block + "}").items()))
    data["intents"][name] = intent
    for table in data["strings"].values():
        table["about"] = "Made by the Mentor team."
    assert skills_check.validate(data, ACTIONS, CHECKS) == []
    loaded = skills.build(data, ACTIONS, CHECKS)
    assert loaded.match_text(None, "es", "¿quién te hizo?") == ("about", {})


def _broken(change) -> list[str]:
    data = copy.deepcopy(DATA)
    change(data["catalog"][0])
    return skills_check.validate(data, ACTIONS, CHECKS)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda s: s["assignments"][0].pop("alternative"), "missing ['alternative']"),
        (lambda s: s["assignments"][0]["alternative"].pop("lang"), "alternative: missing ['lang']"),
        (lambda s: s["assignments"][0].pop("free"), "missing ['free']"),
        (lambda s: s["assignments"][0].update(free="no"), ".free: true or false"),
        (lambda s: s["assignments"][0].update(lang="fr"), "no string in_lang_fr"),
        (lambda s: s["assignments"][1].update(minutes=90), "a whole book takes at least 600"),
        (lambda s: s["assignments"][0]["alternative"].update(url=s["assignments"][0]["url"]), "another resource"),
        (lambda s: s["assignments"][0].update(editions={"fr": {"title": "x", "url": "https://x"}}), "editions.fr"),
        (lambda s: s.update(next=[]), ".next: one or more other skills"),
        (lambda s: s.update(next=["python"]), ".next: one or more other skills"),
        (lambda s: s["synonyms"].pop("es"), ".synonyms.es: the words people use"),
        (lambda s: s["synonyms"]["en"].append("git"), "'git' also names"),
        (lambda s: s.update(assignments=[a for a in s["assignments"] if a["level"] != "advanced"]), "advanced plan"),
    ],
)
def test_skills_check_holds_each_skill_to_what_a_learner_needs(change, problem):
    errors = _broken(change)
    assert any(problem in e for e in errors), errors


def test_a_paid_resource_and_another_language_are_said_on_the_card():
    from mentor.catalog import assignment_subtitle

    paid = next(a for s in DATA["catalog"] for a in s["assignments"] if a["free"] is False)
    assert assignment_subtitle(paid, DATA["strings"]["en"], "en").endswith(" · paid")
    english = DATA["catalog"][0]["assignments"][1]
    assert "en inglés" in assignment_subtitle(english, DATA["strings"]["es"], "es")
    assert "English" not in assignment_subtitle(english, DATA["strings"]["en"], "en")


def test_spanish_speakers_get_the_spanish_edition():
    from test_engine import send

    conv = chat.Conversation(key="web:es", profile={"language": "es"})
    for payload in ("PICK:python", "LEVEL:python:beginner", "HOURS:python:4"):
        replies = send(conv, payload=payload)
    card = next(c for r in replies for c in r.cards)
    assert card.title == "El tutorial de Python" and card.url == "https://docs.python.org/es/3/tutorial/"
    assert "en inglés" not in card.subtitle


def test_a_checked_file_is_not_checked_again_and_a_changed_one_always_is(tmp_path):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    skills.load(str(path), ACTIONS, CHECKS)
    stamp = tmp_path / "skills.json.checked"
    assert len(stamp.read_text().strip()) == 64  # the first load checked it and stamped it
    loaded = skills.load(str(path), ACTIONS, CHECKS)  # the stamp matches: loaded without the check
    assert loaded.match_text(None, "en", "help") is not None  # patterns compile on first use
    broken = copy.deepcopy(DATA)
    broken["intents"]["help"]["triggers"]["patterns"]["en"].append("(unclosed")
    path.write_text(json.dumps(broken), encoding="utf-8")  # the old stamp stays beside a changed file
    with pytest.raises(skills.SkillsError, match="unclosed|missing"):
        skills.load(str(path), ACTIONS, CHECKS)
    stamp.write_text(skills.stamp_of(path.read_bytes(), ACTIONS, ()) + "\n")  # a stamp made under other rules
    with pytest.raises(skills.SkillsError):
        skills.load(str(path), ACTIONS, CHECKS)


def test_where_no_stamp_can_be_written_the_file_still_loads_and_is_checked_every_time(tmp_path):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    (tmp_path / "skills.json.checked").mkdir()  # no file can be written there, not even by root
    assert skills.load(str(path), ACTIONS, CHECKS).intents
    broken = copy.deepcopy(DATA)
    broken["intents"]["help"]["triggers"]["patterns"]["en"].append("(unclosed")
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(skills.SkillsError, match="unclosed|missing"):
        skills.load(str(path), ACTIONS, CHECKS)


def test_patterns_that_name_a_skill_are_left_alone_until_a_message_names_one():
    loaded = skills.build(copy.deepcopy(DATA), ACTIONS, CHECKS)
    naming = [p for patterns in loaded.text_intents.values() for p, _, _ in patterns if p.needs == {"skill"}]
    assert naming
    assert loaded.match_text(None, "en", "help") == ("help", {})
    assert all(p._compiled is None for p in naming)  # neither compiled nor run for "help"
    assert loaded.match_text(None, "en", "learn sql") == ("pick_skill", {"skill": "sql"})
    assert loaded.match_text(None, "en", "pyhton") == ("pick_skill", {"skill": "python"})  # the typo, corrected
    assert loaded.match_payload("PICK:python") == ("pick_skill", {"skill": "python"})
