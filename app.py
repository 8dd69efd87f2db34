"""The Flask service: ``create_app()`` wires settings, skills, store and channels to routes.

gunicorn serves ``app:create_app()``; ``flask --app app ...`` runs the
commands in cli.py. This is the only module that imports Flask. Every
collaborator can be passed in (a store, a clock, a sleep, an HTTP session),
so tests hand over real ones instead of patching afterwards.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import click
from flask import Flask, Response, jsonify, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

import admin
import cli
import erasure
import fb
import flood
import logs
import outreach
import parts
import privacy
import relay
import skills as skills_module
import stats
import tasks_auth
import web
from chat import Unreadable
from outbound import SendFailed
from settings import SecretError, Settings, SettingsError
from store import RECEIPTS, Store

MAX_BODY_BYTES = 1024 * 1024  # Messenger batches are far smaller; anything larger is refused (413)
MAX_DELETION_BYTES = 8 * 1024  # a data deletion request is one signed_request of a few hundred bytes
HTML = "text/html"
TEXT = "text/plain"


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    session=None,
) -> Flask:
    try:
        settings = settings or Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"not starting: {error}") from None
    log = logs.setup(settings.log_level, secrets=settings.known_secret_values)
    app = Flask(__name__, static_folder="static")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, DEBUG=False, TESTING=False)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False
        app.json.sort_keys = False
    in_cli = click.get_current_context(silent=True) is not None
    skills, store = parts.load(app, settings, store, log, in_cli)
    sleep = sleep or time.sleep
    services = Services(
        settings=settings,
        skills=skills,
        store=store,
        channels=parts.Channels(parts.channel_factories(settings, session, sleep)),
        clock=clock or time.time,
        sleep=sleep,
        tasks=tasks_auth.TaskAuth(settings, session),
        identities=web.Identities(web.identity_key(store)),
        guard=flood.Guard(flood.Limit(settings.flood_per_minute, settings.flood_per_day)),
    )
    app.extensions.update(chatbot=services, settings=settings, skills=skills, store=services.store)
    register_hooks(app, services)
    register_webhooks(app, services)
    register_web(app, services)
    register_web_chat(app, services)
    register_tasks(app, services)
    register_privacy(app, services)
    register_admin(app, services)
    cli.register(app)
    if not in_cli:  # keep `flask skills graph > flow.md` output clean
        for channel, missing in settings.half_configured().items():
            log.warning(f"{channel} is off: half configured, set {', '.join(missing)}")
        log.info(
            "chatbot ready", extra={"channels": settings.channel_report(), "store": settings.store_url.split("://")[0]}
        )
    return app


@dataclass
class Services:
    settings: Settings
    skills: skills_module.Skills | None
    store: Store
    channels: parts.Channels
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    tasks: tasks_auth.TaskAuth
    identities: web.Identities
    guard: flood.Guard


def answer(channel: str, status: int, text: str = "", replies: list | None = None) -> Response:
    """The one place an HTTP answer to a channel is made: the web gets JSON, the platforms text."""
    if channel == "web":
        body = {"replies": replies or []} if status == 200 else {"error": text.strip()}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    return Response(text, status=status, mimetype=TEXT)


def outcome_answer(channel: relay.Channel, outcome: relay.Outcome) -> Response:
    """200 only when every event is recorded and every reply sent; else 503, and the platform retries."""
    if outcome.retry:
        text = "busy, try again in a moment" if channel.name == "web" else f"{outcome.reason}, retry later\n"
        return answer(channel.name, 503, text)
    return answer(channel.name, 200, channel.ack, replies=outcome.items)


def register_hooks(app: Flask, services: Services) -> None:
    @app.before_request
    def start_trace():
        settings = app.extensions["settings"]
        request.environ["chatbot.trace"] = logs.set_trace(
            logs.trace_from_headers(request.headers, settings.google_cloud_project)
        )

    @app.teardown_request
    def end_trace(_error=None):
        token = request.environ.pop("chatbot.trace", None)
        if token is not None:
            logs.reset_trace(token)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return Response(f"{error.code} {error.name}\n", status=error.code, mimetype=TEXT)

    @app.errorhandler(SecretError)
    def secret_missing(error: SecretError):
        # Configuration, not the sender's fault: ask the platform to come back once it is fixed.
        logs.get().error("secret unavailable", extra={"error": str(error), "httpRequest": logs.request_fields(request)})
        return Response("service not configured\n", status=503, mimetype=TEXT)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logs.get().exception("unhandled error", extra={"httpRequest": logs.request_fields(request)})
        return Response("internal error\n", status=500, mimetype=TEXT)

    @app.get("/health")
    def health():
        # Which channels are configured (never how): the pipeline's smoke test compares them with
        # the secrets that exist. The store is not touched.
        channels = [name for name in ("messenger", "telegram", "web") if name in services.channels.names]
        return jsonify(status="ok", channels=channels)


def receive(services: Services, name: str, prepare: Callable[[list], list] | None = None) -> Response:
    """The one webhook path: verify the raw bytes, parse, deliver, answer. ``prepare`` is the
    channel's last word on the updates before delivery (the web's identities)."""
    channel = services.channels.get(name)
    if channel is None:
        return answer(name, 404, f"{name} is off\n")
    raw = request.get_data(cache=True)
    if not channel.verify(raw, cast(Mapping[str, str], request.headers)):  # werkzeug's case-insensitive headers
        logs.get().warning("request not verified", extra={"channel": name, "bytes": len(raw)})
        return answer(name, 401, "a bearer token is required") if name == "web" else answer(name, 403, "forbidden\n")
    try:
        updates = channel.parse(json.loads(raw))
    except SendFailed as error:  # the channel had to ask its platform something first (who it is), and could not
        logs.get().warning("could not read the request yet", extra={"channel": name, "reason": str(error)})
        return answer(name, 503, "retry later\n")
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, Unreadable) else "body must be JSON"
        logs.get().info("request not readable", extra={"channel": name, "bytes": len(raw), "reason": reason})
        return answer(name, 400, reason + "\n")
    try:
        updates = prepare(updates) if prepare else updates
    except web.RateLimited:
        return answer(name, 429, "too many new conversations from here: try again in a minute")
    except Exception as error:  # the web's signing key lives in the store, which may be down
        logs.get().warning("could not prepare the request", extra={"channel": name, "error": type(error).__name__})
        return answer(name, 503, "busy, try again in a moment")
    if services.skills is None:  # only the CLI starts without skills; a server refuses to
        return answer(name, 503, "skills file not loaded\n")
    outcome = relay.deliver_all(
        updates, channel, services.store, services.skills, clock=services.clock, guard=services.guard
    )
    return outcome_answer(channel, outcome)


def register_webhooks(app: Flask, services: Services) -> None:
    @app.get("/webhook/messenger")
    def messenger_handshake():
        if services.channels.get("messenger") is None:
            return answer("messenger", 404, "messenger is off\n")
        challenge = fb.handshake(request.args, services.settings.secret("fb_verify_token"))
        if challenge is None:
            return answer("messenger", 403, "forbidden\n")
        return Response(challenge, status=200, mimetype=TEXT)

    @app.post("/webhook/messenger")
    def messenger_webhook():
        return receive(services, "messenger")

    @app.post("/webhook/telegram")
    def telegram_webhook():
        return receive(services, "telegram")


def web_refused(services: Services) -> Response | None:
    """Off (404); or, without WEB_CHAT_TOKEN, asked from anywhere but this machine (403)."""
    if services.channels.get("web") is None:
        return answer("web", 404, "web chat is off")
    if not services.settings.secret("web_chat_token") and not web.open_locally(request.remote_addr or "", request.host):
        return answer("web", 403, "without WEB_CHAT_TOKEN the web chat answers only this machine (localhost)")
    return None


def register_web(app: Flask, services: Services) -> None:
    @app.get("/")
    def web_page():
        problem = web_refused(services)
        if problem:
            return Response(problem.get_json()["error"] + "\n", status=problem.status_code, mimetype=TEXT)
        page = send_from_directory(app.static_folder, "index.html", max_age=0)
        token = services.settings.secret("web_chat_token")
        if token and not web.bearer_ok(request.headers, token):
            # The page itself holds nothing secret: it is served with 401 and asks for the token.
            page.status_code = 401
            page.headers["WWW-Authenticate"] = 'Bearer realm="web chat"'
        return page

    @app.get("/api/history")
    def web_history():
        """What a reloaded page shows: this browser's last messages, and the languages it can pick."""
        problem = web_refused(services)
        if problem:
            return problem
        token = services.settings.secret("web_chat_token")
        if token and not web.bearer_ok(request.headers, token):
            return answer("web", 401, "a bearer token is required")
        identity = services.identities.read(request.cookies.get(web.COOKIE))
        try:
            doc = services.store.load(f"web:{identity}") if identity else None
        except Exception as error:
            logs.get().warning("history unavailable", extra={"error": type(error).__name__})
            doc = None  # the page starts afresh rather than not at all
        skills = services.skills
        strings = skills.data["strings"]
        languages = [{"code": code, "name": strings[code].get(f"lang_{code}", code)} for code in skills.locales]
        transcript = relay.DeliveryRecord.from_doc(doc).transcript if doc else []
        return jsonify(transcript=transcript, languages=languages)


def register_web_chat(app: Flask, services: Services) -> None:
    @app.post("/api/chat")
    def web_chat():
        problem = web_refused(services)
        if problem:
            return problem
        if request.mimetype != "application/json":
            # A cross-site form can post text/plain without asking; application/json it cannot.
            return answer("web", 415, "send the body as application/json")
        local = not services.settings.secret("web_chat_token")
        identity = {"id": services.identities.read(request.cookies.get(web.COOKIE)), "cookie": ""}

        def scoped(update):
            if local and update.user_id != "-":
                return update  # a script on this machine naming its own conversations
            if identity["id"] is None:
                identity["id"], identity["cookie"] = services.identities.issue(logs.client_address(request))
            user = identity["id"] if update.user_id == "-" else f"{identity['id']}/{update.user_id}"
            return dataclasses.replace(update, user_id=user)

        def scope(updates: list) -> list:
            return [scoped(update) for update in updates]

        response = receive(services, "web", scope)
        if identity["cookie"]:
            secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
            response.set_cookie(
                web.COOKIE, identity["cookie"], max_age=web.COOKIE_MAX_AGE, httponly=True, samesite="Strict",
                secure=secure, path="/",
            )  # fmt: skip
        return response


def register_tasks(app: Flask, services: Services) -> None:
    @app.post("/tasks/reminders")
    def reminders_task():
        refused = services.tasks.refused(request.headers)
        if refused:
            return Response(refused[1] + "\n", status=refused[0], mimetype=TEXT)
        body = request.get_json(silent=True) or {}
        budget = body.get("budget_seconds", 50) if isinstance(body, dict) else 50
        budget = float(budget) if isinstance(budget, int | float) and 1 <= budget <= 600 else 50.0
        try:
            report = outreach.run_due(
                services.store, services.channels.get, services.skills, clock=services.clock, sleep=services.sleep,
                budget=budget,
            )  # fmt: skip
        except Exception as error:
            logs.get().warning("reminders: store failed", extra={"error": type(error).__name__})
            return jsonify(error="store unavailable"), 503
        logs.get().info("reminders run", extra=report.as_json())
        try:  # the stats' daily roll-up rides on the scheduled job; a failure waits for the next run
            stats.roll_up(services.store, services.clock())
        except Exception as error:
            logs.get().warning("stats roll-up failed", extra={"error": type(error).__name__})
        return jsonify(report.as_json())


def register_privacy(app: Flask, services: Services) -> None:
    @app.get("/privacy")
    def privacy_policy():
        lang = privacy.pick_language(services.skills, request.args.get("lang"), request.accept_languages)
        body = privacy.privacy_page(services.skills, services.settings, services.channels.names, lang)
        return Response(body, mimetype=HTML, headers={"Content-Language": lang})

    @app.post("/webhook/messenger/data-deletion")
    def data_deletion():
        """Meta's data deletion request callback: verify, forget, answer the status URL and code."""
        page = services.channels.get("messenger")
        if page is None:
            return answer("messenger", 404, "messenger is off\n")
        if (request.content_length or 0) > MAX_DELETION_BYTES:
            return answer("messenger", 413, "a data deletion request is a few hundred bytes\n")
        try:
            payload = erasure.parse_signed_request(
                request.form.get("signed_request", ""), services.settings.secret("fb_app_secret")
            )
            receipt = erasure.meta_deletion(
                services.store, page, services.settings.fb_app_id, payload["user_id"], now=services.clock()
            )
        except erasure.Refused as refused:
            logs.get().warning("data deletion request refused", extra={"reason": str(refused)})
            return answer("messenger", refused.status, f"{refused}\n")
        except Exception as error:  # Meta or the store unreachable: nothing recorded, Meta may ask again
            logs.get().warning("data deletion failed", extra={"error": f"{type(error).__name__}: {str(error)[:200]}"})
            return answer("messenger", 503, "retry later\n")
        base = services.settings.public_url or request.host_url.rstrip("/")
        logs.get().info("data deletion done", extra={"code": receipt["id"], "deleted": receipt["deleted"]})
        return jsonify(url=f"{base}/deletion?id={receipt['id']}", confirmation_code=receipt["id"])

    @app.get("/deletion")
    def deletion_status():
        code = request.args.get("id", "")
        if not erasure.CODE.match(code):
            return Response("id must be the confirmation code of a deletion request\n", status=400, mimetype=TEXT)
        try:
            receipt = services.store.find(RECEIPTS, code)
        except Exception as error:
            logs.get().warning("deletion status unavailable", extra={"error": type(error).__name__})
            return Response("busy, try again in a moment\n", status=503, mimetype=TEXT)
        lang = privacy.pick_language(services.skills, request.args.get("lang"), request.accept_languages)
        body = privacy.deletion_page(services.skills, receipt, code, services.settings.retention_days, lang)
        return Response(body, status=200 if receipt else 404, mimetype=HTML, headers={"Content-Language": lang})


def register_admin(app: Flask, services: Services) -> None:
    def html_page(status: int, body: str) -> Response:
        return Response(body, status=status, headers=admin.SECURITY_HEADERS, mimetype=HTML)

    def numbers() -> dict:
        days = request.args.get("days", "30")
        return stats.collect(services.store, int(days) if days.isdigit() else 30, services.clock())

    def refused() -> tuple[int, str] | None:
        return admin.refusal(services.settings.secret("admin_token"), cast(Mapping, request.headers), request.cookies)

    @app.get("/admin")
    def dashboard():
        problem = refused()
        return html_page(*problem) if problem else html_page(200, admin.dashboard(numbers()))

    @app.get("/admin/stats.json")
    def dashboard_json():
        problem = refused()
        return html_page(*problem) if problem else jsonify(numbers())

    @app.post("/admin")
    def sign_in():
        token = services.settings.secret("admin_token")
        if not token or not hmac.compare_digest(request.form.get("token", "").encode(), token.encode()):
            logs.get().warning("dashboard sign-in refused", extra={"httpRequest": logs.request_fields(request)})
            return html_page(*admin.refusal(token, {}, {}, wrong=bool(token)))
        response = Response(status=303, headers={"Location": "/admin"})
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
        cookie = {"max_age": admin.COOKIE_MAX_AGE, "httponly": True, "samesite": "Strict", "path": "/admin"}
        response.set_cookie(admin.COOKIE, admin.session_value(token), secure=secure, **cookie)
        return response
