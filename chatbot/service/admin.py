"""``/admin``: the owner's dashboard, signed in with ADMIN_TOKEN."""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from chatbot.core import logs
from chatbot.owner import dashboard, inbox, stats, status
from chatbot.service import watch
from chatbot.service.answers import HTML
from chatbot.service.attempts import Attempts
from chatbot.service.parts import Services


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("admin", __name__)

    attempts = Attempts(services.clock)

    def html_page(status: int, body: str, headers: dict | None = None) -> Response:
        return Response(body, status=status, headers=dashboard.SECURITY_HEADERS | (headers or {}), mimetype=HTML)

    def numbers() -> dict:
        days = request.args.get("days", "30")  # ASCII digits only: "²".isdigit() is true, int("²") fails
        wanted = int(days) if days.isascii() and days.isdigit() else 30
        return stats.collect(services.backend(), wanted, services.clock())

    def held() -> tuple[int, str, dict] | None:
        """429 while this address, or everyone, is held for wrong tokens (attempts.py); nothing is checked."""
        wait = math.ceil(attempts.wait(logs.client_address(request)))
        if not wait:
            return None
        extra = {"held_for": wait, "httpRequest": logs.request_fields(request)}
        logs.get().warning("dashboard sign-in held", extra=extra)
        return 429, dashboard.sign_in_page(False, held=wait), {"Retry-After": str(wait)}

    def tried(right: bool) -> None:
        """A token was presented: count it if wrong, and log it (never the token itself)."""
        address = logs.client_address(request)
        if right:
            attempts.succeeded(address)
            return
        failures = attempts.failed(address)
        extra = {"failures": failures, "held_for": math.ceil(attempts.wait(address))}
        logs.get().warning("dashboard sign-in refused", extra=extra | {"httpRequest": logs.request_fields(request)})

    def refused() -> tuple | None:
        token = services.settings.secret("admin_token")
        # A bearer, or a sign-in cookie whose signature is to be checked: either is a guess at the token
        # until it proves right, held and counted like one typed in the form.
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        cookie = dashboard.session_checked(request.cookies.get(dashboard.COOKIE, ""), services.clock())
        guess = bool(token) and (bearer or cookie)
        problem = held() if guess else None
        if problem:
            return problem
        refusal = dashboard.refusal(token, cast(Mapping, request.headers), request.cookies, now=services.clock())
        if guess:
            tried(refusal is None)
        return refusal

    @bp.get("/admin")
    def dashboard_page():
        problem = refused()
        if problem:
            return html_page(*problem)
        now = services.clock()
        waiting = inbox.section(inbox.open_handoffs(services.backend()), now, request.args.get("said", ""))
        return html_page(200, dashboard.dashboard(numbers(), status.section(watch.now(services)), waiting))

    @bp.post("/admin/handoffs")
    def handoff_action():
        """An answer to a learner handed to a person, or the end of it, from the dashboard's form."""
        problem = refused()
        if problem:
            return html_page(*problem)
        if services.skills is None:
            return html_page(503, dashboard.page("Not configured", "<main><p>skills.json did not load.</p></main>"))
        form = request.form
        said = inbox.act(
            services.backend(),
            services.handoff,
            services.sender,
            services.skills,
            form.get("key", "")[:300],
            form.get("nonce", "")[:40] or inbox.nonce(),
            text=form.get("text", ""),
            end=form.get("do") == "end",
            clock=services.now,
            lease=services.settings.claim_lease_seconds,
        )
        where = "/admin" + (f"?{urlencode({'said': said})}" if said else "") + "#handoffs"
        return Response(status=303, headers={"Location": where})

    @bp.get("/admin/health.json")
    def health_json():
        problem = refused()
        return html_page(*problem) if problem else jsonify(watch.now(services))

    @bp.get("/admin/stats.json")
    def dashboard_json():
        problem = refused()
        return html_page(*problem) if problem else jsonify(numbers())

    @bp.post("/admin")
    def sign_in():
        token = services.settings.secret("admin_token")
        problem = held() if token else None
        if problem:
            return html_page(*problem)
        right = bool(token) and hmac.compare_digest(request.form.get("token", "").encode(), token.encode())
        if token:
            tried(right)
        if not right:
            return html_page(*dashboard.refusal(token, {}, {}, wrong=bool(token)))
        response = Response(status=303, headers={"Location": "/admin"})
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
        cookie = {"max_age": dashboard.COOKIE_MAX_AGE, "httponly": True, "samesite": "Strict", "path": "/admin"}
        value = dashboard.session_value(token, services.clock() + dashboard.COOKIE_MAX_AGE)
        response.set_cookie(dashboard.COOKIE, value, secure=secure, **cookie)
        return response

    return bp
