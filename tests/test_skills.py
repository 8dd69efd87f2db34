"""skills.json: the shipped file is valid, and every kind of mistake is caught with its place."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import ROOT

import app as app_module
from chatbot.engine import chat, loader, skills, skills_check
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
    from mentor.catalog import LEVELS, MIN_LEVEL_STEPS, url_problem

    assert len(DATA["catalog"]) >= 20
    # Some of the skills added for issue 36, each found under the name people type for it.
    loaded = loader.build(copy.deepcopy(DATA), ACTIONS, CHECKS)
    for name in ("javascript", "excel", "english", "public speaking", "data analysis", "cybersecurity"):
        assert loaded.match_text(None, "en", f"learn {name}")[0] == "pick_skill", name
    for skill in DATA["catalog"]:
        for level in LEVELS:
            assert sum(1 for item in skill["assignments"] if item["level"] == level) >= MIN_LEVEL_STEPS
        for item in skill["assignments"]:
            assert url_problem(item["url"]) is None and url_problem(item["alternative"]["url"]) is None
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
    assignments = sum(len(skill["assignments"]) for skill in DATA["catalog"])
    assert "ok: " in result.output and f"{len(DATA['catalog'])} skills, {assignments} assignments" in result.output


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
    loaded = loader.build(copy.deepcopy(DATA), ACTIONS, CHECKS)
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
    loaded = loader.build(data, ACTIONS, CHECKS)
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
        (lambda s: s["assignments"][0]["alternative"].update(url=s["assignments"][0]["url"]), "another resource"),
        (lambda s: s["assignments"][0].update(editions={"fr": {"title": "x", "url": "https://x"}}), "editions.fr"),
        (lambda s: s.update(next=[]), ".next: one or more other skills"),
        (lambda s: s.update(next=["python"]), ".next: one or more other skills"),
        (lambda s: s["synonyms"].pop("es"), ".synonyms.es: the words people use"),
        (lambda s: s["synonyms"]["en"].append("git"), "'git' also names"),
        (
            lambda s: s.update(assignments=[a for a in s["assignments"] if a["level"] != "advanced"]),
            "the advanced level needs at least 3 steps, it has 0",
        ),
    ],
)
def test_skills_check_holds_each_skill_to_what_a_learner_needs(change, problem):
    errors = _broken(change)
    assert any(problem in e for e in errors), errors


def _level(skill: dict, level: str) -> list[dict]:
    return [a for a in skill["assignments"] if a["level"] == level]


def _first_without_spanish(skill: dict) -> dict:
    return next(a for a in skill["assignments"] if "es" not in a.get("editions", {}))


# The rules of issue 36, one case each: a plan sized to a level and ending at a milestone, steps a
# reminder's cadence fits, a Spanish edition or a note, and links that are plainly well formed.
CATALOG_RULES = {
    "level-with-two-steps": (
        lambda s: s.update(assignments=[a for a in s["assignments"] if a not in _level(s, "intermediate")[2:]]),
        "catalog[0]: the intermediate level needs at least 3 steps, it has 2",
    ),
    "no-milestones": (lambda s: s.pop("milestones"), "catalog[0].milestones: what a learner can do"),
    "milestone-missing-a-level": (
        lambda s: s["milestones"].pop("advanced"),
        "catalog[0].milestones.advanced.en: what a learner can do",
    ),
    "milestone-missing-a-locale": (
        lambda s: s["milestones"]["beginner"].pop("es"),
        "catalog[0].milestones.beginner.es: what a learner can do",
    ),
    "milestone-empty": (
        lambda s: s["milestones"]["intermediate"].update(en=" "),
        "catalog[0].milestones.intermediate.en: what a learner can do",
    ),
    "milestone-too-long": (
        lambda s: s["milestones"]["beginner"].update(en="You can " + "do it " * 40),
        "catalog[0].milestones.beginner.en: longer than 200",
    ),
    "milestone-of-no-level": (lambda s: s["milestones"].update(expert={"en": "x"}), "milestones.expert: not a level"),
    "step-under-15-minutes": (
        lambda s: s["assignments"][0].update(minutes=10),
        "catalog[0].assignments[0].minutes: 15 to 240",
    ),
    "step-a-whole-book": (
        lambda s: s["assignments"][0].update(type="book", minutes=1800),
        "catalog[0].assignments[0].minutes: 15 to 240",
    ),
    "alternative-over-240-minutes": (
        lambda s: s["assignments"][0]["alternative"].update(minutes=241),
        "catalog[0].assignments[0].alternative.minutes: 15 to 240",
    ),
    "step-neither-spanish-edition-nor-note": (
        lambda s: s["assignments"][0].pop("editions"),
        "catalog[0].assignments[0]: neither an edition in 'es' nor a note in 'es'",
    ),
    "alternative-neither-spanish-edition-nor-note": (
        lambda s: s["assignments"][0]["alternative"].pop("note"),
        "catalog[0].assignments[0].alternative: neither an edition in 'es' nor a note in 'es'",
    ),
    "note-beside-an-edition": (
        lambda s: s["assignments"][0].update(note={"es": "Solo en inglés."}),
        "catalog[0].assignments[0].note.es: only for a language the bot speaks and the resource is not in",
    ),
    "step-without-link": (lambda s: s["assignments"][0].update(url=""), "assignments[0].url: a link is required"),
    "alternative-without-link": (
        lambda s: s["assignments"][0]["alternative"].pop("url"),
        "assignments[0].alternative: missing ['url']",
    ),
}
MALFORMED_LINKS = {
    "https://docs.python.org/3/tutorial/ introduction.html": "no spaces",
    "https://docs python.org/": "no spaces",
    "https://user:secret@docs.python.org/3/": "no user name or password",
    "https://docs.python.org:8443/3/": "no port",
    "https://docs.python.org:https/": "not a well-formed link",
    "https:///3/tutorial/": "needs a host",
    "https://#introduction": "needs a host",
    "#introduction": "must be https",
    "//docs.python.org/3/": "must be https",
    "ftp://docs.python.org/3/": "must be https",
    "https://localhost/tutorial/": "a host name with a dot",
    "https://pythondocs/3/": "a host name with a dot",
    "https://203.0.113.7/tutorial/": "not an IP address",
    "https://docs..python.org/": "not a well-formed host name",
    "https://docs.python.org/3/<tutorial>": "no spaces, quotes",
}


@pytest.mark.parametrize("name", CATALOG_RULES)
def test_skills_check_holds_the_catalog_to_plans_a_learner_can_follow(name):
    change, problem = CATALOG_RULES[name]
    errors = _broken(change)
    assert any(problem in e for e in errors), errors


@pytest.mark.parametrize("url", MALFORMED_LINKS)
@pytest.mark.parametrize("where", ["step", "alternative", "edition"])
def test_skills_check_refuses_a_malformed_link(url, where):
    def change(skill: dict) -> None:
        step = skill["assignments"][0]
        {"step": step, "alternative": step["alternative"], "edition": step["editions"]["es"]}[where]["url"] = url

    place = {"step": "assignments[0].url", "alternative": "alternative.url", "edition": "editions.es.url"}[where]
    errors = _broken(change)
    assert any(place in e and MALFORMED_LINKS[url] in e for e in errors), errors


def test_the_shipped_catalog_gives_a_spanish_reader_an_edition_or_a_note_for_every_resource():
    for skill in DATA["catalog"]:
        for step in skill["assignments"]:
            for found in (step, step["alternative"]):
                assert found["lang"] == "es" or "es" in found.get("editions", {}) or found["note"]["es"]


def test_a_paid_resource_and_another_language_are_said_on_the_card():
    from mentor.catalog import assignment_subtitle

    paid = next(a for s in DATA["catalog"] for a in s["assignments"] if a["free"] is False)
    assert assignment_subtitle(paid, DATA["strings"]["en"], "en").endswith(" · paid")
    english = _first_without_spanish(DATA["catalog"][0])
    assert "en inglés" in assignment_subtitle(english, DATA["strings"]["es"], "es")
    assert "English" not in assignment_subtitle(english, DATA["strings"]["en"], "en")


def test_spanish_speakers_get_the_spanish_edition():
    from test_engine import send

    conv = chat.Conversation(key="web:es", profile={"language": "es"})
    for payload in ("PICK:python", "LEVEL:python:beginner", "HOURS:python:4"):
        replies = send(conv, payload=payload)
    card = next(c for r in replies for c in r.cards)
    spanish = DATA["catalog"][0]["assignments"][0]["editions"]["es"]
    assert (card.title, card.url) == (spanish["title"], spanish["url"])
    assert spanish == {
        "title": "Una introducción informal a Python",
        "url": "https://docs.python.org/es/3/tutorial/introduction.html",
    }
    assert "en inglés" not in card.subtitle
    assert next(r for r in replies if r.cards).quick_replies  # no note under it: the reader has it in Spanish


def test_a_spanish_reader_gets_the_note_of_a_step_with_no_spanish_edition_under_its_card():
    from test_engine import send

    skill, step = next(
        (s, a)
        for s in DATA["catalog"]
        for a in s["assignments"]
        if a["level"] == "beginner" and "es" not in a.get("editions", {})
    )
    name = skill["id"]

    def up_to_the_step(conv: chat.Conversation) -> list:
        for payload in (f"PICK:{name}", f"LEVEL:{name}:beginner", f"HOURS:{name}:4"):
            replies = send(conv, payload=payload)
        while conv.progress[name]["next"] != step["id"]:
            replies = send(conv, payload=f"DONE:{name}:{conv.progress[name]['next']}")
        return replies

    replies = up_to_the_step(chat.Conversation(key="web:es-note", profile={"language": "es"}))
    at = next(n for n, r in enumerate(replies) if r.cards)
    card, under = replies[at].cards[0], replies[at + 1]
    assert card.title == step["title"] and "en inglés" in card.subtitle
    assert under.text == step["note"]["es"] and not under.cards
    assert [b.payload for b in under.quick_replies][:2] == [f"SKIP:{name}:{step['id']}", f"HARD:{name}:{step['id']}"]
    assert not replies[at].quick_replies  # the quick replies come with the last message, the note
    # An English reader gets the same card and no note: the resource is in their language.
    replies = up_to_the_step(chat.Conversation(key="web:en-note"))
    card = next(r for r in replies if r.cards)
    assert card.cards[0].title == step["title"] and card.quick_replies
    assert all(step["note"]["es"] != r.text for r in replies)


def test_a_checked_file_is_not_checked_again_and_a_changed_one_always_is(tmp_path):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    loader.load(str(path), ACTIONS, CHECKS)
    stamp = tmp_path / "skills.json.checked"
    assert len(stamp.read_text().strip()) == 64  # the first load checked it and stamped it
    loaded = loader.load(str(path), ACTIONS, CHECKS)  # the stamp matches: loaded without the check
    assert loaded.match_text(None, "en", "help") is not None  # patterns compile on first use
    broken = copy.deepcopy(DATA)
    broken["intents"]["help"]["triggers"]["patterns"]["en"].append("(unclosed")
    path.write_text(json.dumps(broken), encoding="utf-8")  # the old stamp stays beside a changed file
    with pytest.raises(skills.SkillsError, match="unclosed|missing"):
        loader.load(str(path), ACTIONS, CHECKS)
    stamp.write_text(loader.stamp_of(path.read_bytes(), ACTIONS, ()) + "\n")  # a stamp made under other rules
    with pytest.raises(skills.SkillsError):
        loader.load(str(path), ACTIONS, CHECKS)


def test_where_no_stamp_can_be_written_the_file_still_loads_and_is_checked_every_time(tmp_path):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    (tmp_path / "skills.json.checked").mkdir()  # no file can be written there, not even by root
    assert loader.load(str(path), ACTIONS, CHECKS).intents
    broken = copy.deepcopy(DATA)
    broken["intents"]["help"]["triggers"]["patterns"]["en"].append("(unclosed")
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(skills.SkillsError, match="unclosed|missing"):
        loader.load(str(path), ACTIONS, CHECKS)


def test_patterns_that_name_a_skill_are_left_alone_until_a_message_names_one():
    loaded = loader.build(copy.deepcopy(DATA), ACTIONS, CHECKS)
    naming = [p for patterns in loaded.text_intents.values() for p, _, _ in patterns if p.needs == {"skill"}]
    assert naming
    assert loaded.match_text(None, "en", "help") == ("help", {})
    assert all(p._compiled is None for p in naming)  # neither compiled nor run for "help"
    assert loaded.match_text(None, "en", "learn sql") == ("pick_skill", {"skill": "sql"})
    assert loaded.match_text(None, "en", "pyhton") == ("pick_skill", {"skill": "python"})  # the typo, corrected
    assert loaded.match_payload("PICK:python") == ("pick_skill", {"skill": "python"})
