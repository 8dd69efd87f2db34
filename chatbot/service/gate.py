"""Who may see the owner's dashboard: ADMIN_TOKEN as a bearer, the signed sign-in cookie, or typed in
the sign-in form. Each of them is a guess at the token until it proves right: wrong guesses are
counted per address and held (attempts.py), and logged without the token."""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from typing import cast

from flask import Response, request

from chatbot.core import logs
from chatbot.owner import dashboard
from chatbot.service.attempts import Attempts
from chatbot.service.parts import Services

Refusal = tuple  # (status, page, headers): what the dashboard answers instead


class Gate:
    """The dashboard's door, built once per app."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.attempts = Attempts(services.clock)

    def refused(self) -> Refusal | None:
        """None when the request may see the dashboard; otherwise what to answer (a sign-in page, a
        401, or a 429 while this address or everyone is held)."""
        token = self.services.settings.secret("admin_token")
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        cookie = dashboard.session_checked(request.cookies.get(dashboard.COOKIE, ""), self.services.clock())
        guess = bool(token) and (bearer or cookie)
        problem = self.held() if guess else None
        if problem:
            return problem
        refusal = dashboard.refusal(token, cast(Mapping, request.headers), request.cookies, now=self.services.clock())
        if guess:
            self.tried(refusal is None)
        return refusal

    def sign_in(self) -> Response | Refusal:
        """The sign-in form's token: right, a cookie and back to the dashboard; wrong, counted."""
        token = self.services.settings.secret("admin_token")
        problem = self.held() if token else None
        if problem:
            return problem
        right = bool(token) and hmac.compare_digest(request.form.get("token", "").encode(), token.encode())
        if token:
            self.tried(right)
        if not right:
            return dashboard.refusal(token, {}, {}, wrong=bool(token))
        response = Response(status=303, headers={"Location": "/admin"})
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
        value = dashboard.session_value(token, self.services.clock() + dashboard.COOKIE_MAX_AGE)
        response.set_cookie(
            dashboard.COOKIE,
            value,
            max_age=dashboard.COOKIE_MAX_AGE,
            secure=secure,
            httponly=True,
            samesite="Strict",
            path="/admin",
        )
        return response

    def held(self) -> Refusal | None:
        """429 while this address, or everyone, is held for wrong tokens; nothing is checked."""
        wait = math.ceil(self.attempts.wait(logs.client_address(request)))
        if not wait:
            return None
        logs.get().warning(
            "dashboard sign-in held", extra={"held_for": wait, "httpRequest": logs.request_fields(request)}
        )
        return 429, dashboard.sign_in_page(False, held=wait), {"Retry-After": str(wait)}

    def tried(self, right: bool) -> None:
        """A token was presented: count it if wrong, and log it (never the token itself)."""
        address = logs.client_address(request)
        if right:
            self.attempts.succeeded(address)
            return
        failures = self.attempts.failed(address)
        extra = {"failures": failures, "held_for": math.ceil(self.attempts.wait(address))}
        logs.get().warning("dashboard sign-in refused", extra=extra | {"httpRequest": logs.request_fields(request)})
