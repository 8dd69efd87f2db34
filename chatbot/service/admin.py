"""``/admin``: the owner's dashboard, signed in with ADMIN_TOKEN."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import cast

from flask import Blueprint, Response, jsonify, request

from chatbot.core import logs
from chatbot.owner import dashboard, stats
from chatbot.service.answers import HTML
from chatbot.service.parts import Services


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("admin", __name__)

    def html_page(status: int, body: str) -> Response:
        return Response(body, status=status, headers=dashboard.SECURITY_HEADERS, mimetype=HTML)

    def numbers() -> dict:
        days = request.args.get("days", "30")
        return stats.collect(services.backend(), int(days) if days.isdigit() else 30, services.clock())

    def refused() -> tuple[int, str] | None:
        token = services.settings.secret("admin_token")
        return dashboard.refusal(token, cast(Mapping, request.headers), request.cookies)

    @bp.get("/admin")
    def dashboard_page():
        problem = refused()
        return html_page(*problem) if problem else html_page(200, dashboard.dashboard(numbers()))

    @bp.get("/admin/stats.json")
    def dashboard_json():
        problem = refused()
        return html_page(*problem) if problem else jsonify(numbers())

    @bp.post("/admin")
    def sign_in():
        token = services.settings.secret("admin_token")
        if not token or not hmac.compare_digest(request.form.get("token", "").encode(), token.encode()):
            logs.get().warning("dashboard sign-in refused", extra={"httpRequest": logs.request_fields(request)})
            return html_page(*dashboard.refusal(token, {}, {}, wrong=bool(token)))
        response = Response(status=303, headers={"Location": "/admin"})
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
        cookie = {"max_age": dashboard.COOKIE_MAX_AGE, "httponly": True, "samesite": "Strict", "path": "/admin"}
        response.set_cookie(dashboard.COOKIE, dashboard.session_value(token), secure=secure, **cookie)
        return response

    return bp
