"""``/admin``: the owner's dashboard, signed in with ADMIN_TOKEN."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from chatbot.owner import dashboard, inbox, stats, status
from chatbot.service import watch
from chatbot.service.answers import HTML
from chatbot.service.gate import Gate
from chatbot.service.parts import Services


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("admin", __name__)
    gate = Gate(services)

    def html_page(status: int, body: str, headers: dict | None = None) -> Response:
        return Response(body, status=status, headers=dashboard.SECURITY_HEADERS | (headers or {}), mimetype=HTML)

    def numbers() -> dict:
        days = request.args.get("days", "30")  # ASCII digits only: "²".isdigit() is true, int("²") fails
        wanted = int(days) if days.isascii() and days.isdigit() else 30
        return stats.collect(services.backend(), wanted, services.clock())

    @bp.get("/admin")
    def dashboard_page():
        problem = gate.refused()
        if problem:
            return html_page(*problem)
        now = services.clock()
        waiting = inbox.section(inbox.open_handoffs(services.backend()), now, request.args.get("said", ""))
        return html_page(200, dashboard.dashboard(numbers(), status.section(watch.now(services)), waiting))

    @bp.post("/admin/handoffs")
    def handoff_action():
        """An answer to a learner handed to a person, or the end of it, from the dashboard's form."""
        problem = gate.refused()
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
        problem = gate.refused()
        return html_page(*problem) if problem else jsonify(watch.now(services))

    @bp.get("/admin/stats.json")
    def dashboard_json():
        problem = gate.refused()
        return html_page(*problem) if problem else jsonify(numbers())

    @bp.post("/admin")
    def sign_in():
        answer = gate.sign_in()
        return answer if isinstance(answer, Response) else html_page(*answer)

    return bp
