"""Forgery, replay and hostile input: the checks SECURITY.md promises."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payloads import fb_body, fb_text, post_fb, sign

from chatbot.delivery import relay

SIGNED = json.dumps(fb_body(fb_text("psid-forge", "browse", mid="m_forge"))).encode()
SIGNATURE = sign(SIGNED)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=len(SIGNED) - 1), value=st.integers(min_value=0, max_value=255))
def test_every_single_byte_change_to_a_signed_body_is_refused(client, graph, position, value):
    if SIGNED[position] == value:
        return
    forged = SIGNED[:position] + bytes([value]) + SIGNED[position + 1 :]
    assert post_fb(client, forged, signature=SIGNATURE).status_code == 403
    assert graph.messages() == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=7, max_value=len(SIGNATURE) - 1))
def test_every_single_character_change_to_the_signature_is_refused(client, graph, position):
    digit = SIGNATURE[position]
    forged = SIGNATURE[:position] + ("0" if digit != "0" else "1") + SIGNATURE[position + 1 :]
    assert post_fb(client, SIGNED, signature=forged).status_code == 403


def test_a_replayed_valid_body_changes_nothing(client, app, graph, store):
    assert post_fb(client, SIGNED).status_code == 200
    state = relay.load_conversation(store, "messenger:psid-forge").to_dict()
    sent = len(graph.messages())
    for _ in range(5):
        assert post_fb(client, SIGNED).status_code == 200
    assert relay.load_conversation(store, "messenger:psid-forge").to_dict() == state and len(graph.messages()) == sent


@pytest.mark.parametrize("name", ["{__class__}", "{0.__init__}", "{first_name}", "%(secret)s", "<script>x</script>"])
def test_a_profile_name_is_text_not_a_template(client, graph, name):
    graph.profiles["psid-name"] = {"first_name": name}
    for n in range(2):  # the first greeting goes out before the profile lookup answers; the second uses it
        post_fb(client, fb_body(fb_text("psid-name", "hi", mid=f"m_{n}_{hash(name)}")))
    assert graph.messages("psid-name")[-2]["message"]["text"].startswith(f"Hi {name}!")
    graph.profiles.pop("psid-name")


def test_secrets_are_only_compared_in_constant_time():
    """No `==` or `!=` on anything named like a secret, token or signature in the service code."""
    suspicious = []
    for path in [*ROOT.glob("*.py"), *(ROOT / "chatbot").rglob("*.py"), *(ROOT / "mentor").rglob("*.py")]:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                names = [ast.unparse(part) for part in (node.left, *node.comparators)]
                if any(word in name.lower() for name in names for word in ("secret", "token", "signature", "expected")):
                    suspicious.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert suspicious == []


def test_no_debug_switch_in_the_service_code():
    for path in [*ROOT.glob("*.py"), *(ROOT / "chatbot").rglob("*.py"), *(ROOT / "mentor").rglob("*.py")]:
        text = Path(path).read_text()
        assert "debug=True" not in text and "DEBUG=True" not in text, path.name


# ---------------------------------------------------------------- issue 35: what a browser is told


@pytest.mark.parametrize("path", ["/", "/privacy", "/deletion?id=abcdefgh1234", "/static/chat.js", "/health"])
def test_every_answer_says_what_it_may_load_where_it_may_be_framed_and_to_keep_https(client, path):
    answer = client.get(path)
    assert answer.status_code in (200, 404)
    policy = dict(part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy.get("base-uri") == "'none'"
    assert (
        "'unsafe-inline'" not in policy.get("script-src", "") and "*" not in answer.headers["Content-Security-Policy"]
    )
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_chat_page_may_run_only_its_own_script(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy


@pytest.mark.parametrize("header", ["sha256=\u00e9", "sha256=" + "\u00e9" * 64, "sha256=\u2603abc"])
def test_a_signature_beyond_ascii_is_refused_not_a_crash(client, graph, header):
    raw = json.dumps(fb_body(fb_text("psid-sec-ascii", "hi"))).encode()
    response = client.post(
        "/webhook/messenger",
        data=raw,
        headers={"X-Hub-Signature-256": header.encode("utf-8").decode("latin-1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 403 and graph.messages("psid-sec-ascii") == []
