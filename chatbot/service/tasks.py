"""``POST /tasks/reminders``: what Cloud Scheduler runs every few minutes."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from chatbot.core import logs
from chatbot.outreach import wakes
from chatbot.owner import inbox, stats
from chatbot.service import watch
from chatbot.service.answers import TEXT
from chatbot.service.parts import Services

DEFAULT_BUDGET = 50.0  # seconds of sending per run; the job's attempt deadline is 120 s


def budget_from(body: object) -> float:
    budget = body.get("budget_seconds", DEFAULT_BUDGET) if isinstance(body, dict) else DEFAULT_BUDGET
    return float(budget) if isinstance(budget, int | float) and 1 <= budget <= 600 else DEFAULT_BUDGET


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("tasks", __name__)

    @bp.post("/tasks/reminders")
    def reminders_task():
        refused = services.tasks.refused(request.headers)
        if refused:
            return Response(refused[1] + "\n", status=refused[0], mimetype=TEXT)
        if services.store is None or services.skills is None:
            return jsonify(error="not configured"), 503
        try:  # no body (Cloud Scheduler sends none) is the defaults; a body must be JSON
            raw = request.get_data(cache=False)
            budget = budget_from(json.loads(raw) if raw.strip() else {})
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return Response("the body must be JSON\n", status=400, mimetype=TEXT)
        try:
            report = wakes.run_due(
                services.store,
                services.channels.get,
                services.skills,
                clock=services.now,
                sleep=services.sleep,
                budget=budget,
                lease=services.settings.claim_lease_seconds,
            )
        except Exception as error:
            logs.get().warning("reminders: store failed", extra={"error": type(error).__name__})
            return jsonify(error="store unavailable"), 503
        logs.get().info("reminders run", extra=report.as_json())
        try:  # the stats' daily roll-up rides on the scheduled job; a failure waits for the next run
            stats.roll_up(services.store, services.clock())
        except Exception as error:
            logs.get().warning("stats roll-up failed", extra={"error": type(error).__name__})
        try:  # handoffs nobody wrote in for HANDOFF_IDLE_HOURS end; topics that could not be made are made
            handed = inbox.scheduled(
                services.store,
                services.handoff,
                services.sender,
                services.skills,
                services.now(),
                clock=services.now,
                lease=services.settings.claim_lease_seconds,
            )
            if handed["open"]:
                logs.get().info("handoffs looked after", extra=handed)
        except Exception as error:
            logs.get().warning("handoffs not looked after", extra={"error": type(error).__name__})
        try:  # the platforms' own word on the bot, at most every 10 minutes; the owner hears of a change once
            watch.scheduled(services)
        except Exception as error:
            logs.get().warning("platform checks failed", extra={"error": watch.failure(error)})
        return jsonify(report.as_json())

    return bp
