"""The Flask service: ``create_app()`` wires settings, skills, store and channels to routes.

gunicorn serves ``app:create_app()``; ``flask --app app skills check`` and the
other CLI commands live here too. This is the only module that imports Flask.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import uuid

import click
from flask import Flask, Response, current_app, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

import cli
import logs
import relay
import skills as skills_module
from actions import ACTIONS
from chat import Update
from settings import SecretError, Settings
from store import StoreError, StoreUnavailable, open_store

MAX_BODY_BYTES = 1024 * 1024  # Messenger batches are far smaller; anything larger is refused (413)
USER_ID_MAX = 128


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    log = logs.setup(settings.log_level, secrets=settings.known_secret_values)
    app = Flask(__name__, static_folder="static")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False, DEBUG=False, TESTING=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    in_cli = click.get_current_context(silent=True) is not None
    app.extensions["settings"] = settings
    try:
        app.extensions["skills"] = skills_module.load(settings.skills_file, ACTIONS)
    except (OSError, skills_module.SkillsError) as error:
        if not in_cli:
            raise  # a server with a broken skills file must not start
        app.extensions["skills_error"] = error  # `flask skills check` reports it
    app.extensions["store"] = open_store(settings.store_url)
    factories = {}
    if settings.messenger_enabled:
        factories["messenger"] = lambda: __import__("fb").Messenger(settings)
    if settings.telegram_enabled:
        factories["telegram"] = lambda: __import__("tg").Telegram(settings)
    channels = Channels(factories)
    app.extensions["channels"] = channels
    app.extensions["clock"] = time.time  # tests put a clock of their own here
    app.extensions["sleep"] = time.sleep
    register_routes(app)
    cli.register(app)
    if not in_cli:  # keep `flask skills graph > flow.md` output clean
        log.info(
            "chatbot ready", extra={"channels": settings.channel_report(), "store": settings.store_url.split("://")[0]}
        )
    return app


class Channels:
    """The platform clients, built on first use: a cold /health never imports requests (~80 ms)."""

    def __init__(self, factories: dict):
        self._factories = factories
        self._made: dict = {}
        self._lock = threading.Lock()

    def get(self, name: str):
        if name not in self._factories:
            return None
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = self._factories[name]()
        return self._made[name]

    def values(self) -> list:
        return [self.get(name) for name in self._factories]


def _store():
    return current_app.extensions["store"]


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _channel(name: str):
    return current_app.extensions["channels"].get(name)


def deliver_all(updates: list[Update], channel) -> Response:
    """Run each update through the relay; 503 if anything is left unsent, so the platform retries."""
    skills = current_app.extensions["skills"]
    failed_users: set[str] = set()
    for update in updates:
        try:
            clock = current_app.extensions["clock"]
            result = relay.deliver(update, channel, _store(), skills, hold=update.key in failed_users, clock=clock)
        except StoreUnavailable as error:
            logs.get().warning("store unavailable, asking for a retry", extra={"error": str(error)[:300]})
            return Response("store unavailable\n", status=503, mimetype="text/plain")
        except StoreError as error:
            # Retrying cannot fix a refusal: acknowledge, so the platform does not loop on it.
            logs.get().error("store refused the event", extra={"event_id": update.event_id, "error": str(error)[:300]})
            continue
        except Exception:
            # A bug for one event must not make the platform redeliver it forever.
            logs.get().exception("event failed", extra={"event_id": update.event_id, "channel": update.channel})
            continue
        if not result.ok:
            failed_users.add(update.key)
    if failed_users:
        return Response("retry later\n", status=503, mimetype="text/plain")
    return Response("EVENT_RECEIVED\n", status=200, mimetype="text/plain")


def parse_json_body():
    """The request body as JSON, or an error response (400) for anything that is not JSON."""
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):
        logs.get().info("body is not JSON", extra={"path": request.path, "bytes": len(raw)})
        return None, Response("body must be JSON\n", status=400, mimetype="text/plain")


def bearer_ok(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), expected.encode())


def register_routes(app: Flask) -> None:
    @app.before_request
    def start_trace():
        request.environ["chatbot.trace"] = logs.set_trace(
            logs.trace_from_headers(request.headers, _settings().google_cloud_project)
        )
        request.environ["chatbot.started"] = time.perf_counter()

    @app.teardown_request
    def end_trace(_error=None):
        token = request.environ.pop("chatbot.trace", None)
        if token is not None:
            logs.reset_trace(token)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return Response(f"{error.code} {error.name}\n", status=error.code, mimetype="text/plain")

    @app.errorhandler(SecretError)
    def secret_missing(error: SecretError):
        # Configuration, not the sender's fault: ask the platform to come back once it is fixed.
        logs.get().error("secret unavailable", extra={"error": str(error), "httpRequest": logs.request_fields(request)})
        return Response("service not configured\n", status=503, mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logs.get().exception("unhandled error", extra={"httpRequest": logs.request_fields(request)})
        return Response("internal error\n", status=500, mimetype="text/plain")

    @app.post("/tasks/reminders")
    def reminders_task():
        import reminders

        refused = task_caller_refused()
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        budget = body.get("budget_seconds", 50) if isinstance(body, dict) else 50
        budget = float(budget) if isinstance(budget, (int, float)) and 1 <= budget <= 600 else 50.0
        try:
            report = reminders.run_due(
                _store(),
                current_app.extensions["channels"],
                current_app.extensions["skills"],
                clock=current_app.extensions["clock"],
                sleep=current_app.extensions["sleep"],
                budget=budget,
            )
        except StoreUnavailable as error:
            logs.get().warning("reminders: store unavailable", extra={"error": str(error)[:300]})
            return jsonify(error="store unavailable"), 503
        logs.get().info("reminders run", extra=report.as_json())
        return jsonify(report.as_json())

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.get("/webhook/messenger")
    def messenger_handshake():
        import fb

        if _channel("messenger") is None:
            return Response("messenger is off\n", status=404, mimetype="text/plain")
        challenge = fb.handshake(request.args, _settings().secret("fb_verify_token"))
        if challenge is None:
            return Response("forbidden\n", status=403, mimetype="text/plain")
        return Response(challenge, status=200, mimetype="text/plain")

    @app.post("/webhook/messenger")
    def messenger_webhook():
        import fb

        channel = _channel("messenger")
        if channel is None:
            return Response("messenger is off\n", status=404, mimetype="text/plain")
        raw = request.get_data(cache=True)
        if not fb.verify_signature(
            raw, request.headers.get("X-Hub-Signature-256"), _settings().secret("fb_app_secret")
        ):
            logs.get().warning("messenger signature refused", extra={"bytes": len(raw)})
            return Response("forbidden\n", status=403, mimetype="text/plain")
        body, error = parse_json_body()
        if error:
            return error
        if not isinstance(body, dict):
            logs.get().info("messenger body is not an object")
            return Response("EVENT_RECEIVED\n", status=200, mimetype="text/plain")
        return deliver_all(fb.parse(body), channel)

    @app.post("/webhook/telegram")
    def telegram_webhook():
        import tg

        channel = _channel("telegram")
        if channel is None:
            return Response("telegram is off\n", status=404, mimetype="text/plain")
        header = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if not tg.verify_secret(header, _settings().secret("telegram_secret_token")):
            logs.get().warning("telegram secret token refused")
            return Response("forbidden\n", status=403, mimetype="text/plain")
        body, error = parse_json_body()
        if error:
            return error
        update = tg.parse(body) if isinstance(body, dict) else None
        if update is None:
            logs.get().info(
                "telegram update ignored", extra={"kinds": sorted(body)[:5] if isinstance(body, dict) else []}
            )
            return Response("ok\n", status=200, mimetype="text/plain")
        return deliver_all([update], channel)

    def web_guard() -> Response | None:
        settings = _settings()
        if not settings.web_chat_enabled:
            return Response("web chat is off\n", status=404, mimetype="text/plain")
        return None

    @app.get("/")
    def web_page():
        refused = web_guard()
        if refused:
            return refused
        page = send_from_directory(app.static_folder, "index.html", max_age=0)
        token = _settings().secret("web_chat_token")
        if token and not bearer_ok(token):
            # The page itself holds nothing secret: it is served with 401 and asks for the token.
            page.status_code = 401
            page.headers["WWW-Authenticate"] = 'Bearer realm="web chat"'
        return page

    @app.post("/api/chat")
    def web_chat():
        refused = web_guard()
        if refused:
            return refused
        token = _settings().secret("web_chat_token")
        if token and not bearer_ok(token):
            return jsonify(error="a bearer token is required"), 401
        body, error = parse_json_body()
        if error:
            return jsonify(error="body must be JSON"), 400
        update, problem = web_update(body)
        if problem:
            return jsonify(error=problem), 400
        channel = relay.WebChannel()
        try:
            relay.deliver(
                update, channel, _store(), current_app.extensions["skills"], clock=current_app.extensions["clock"]
            )
        except StoreUnavailable as failure:
            logs.get().warning("store unavailable", extra={"error": str(failure)[:300]})
            return jsonify(error="busy, try again"), 503
        except StoreError as failure:
            logs.get().error("store refused the message", extra={"error": str(failure)[:300]})
            return jsonify(error="this message could not be saved"), 422
        return jsonify(replies=channel.sent)


def task_caller_refused() -> Response | None:
    """Who may run tasks: Cloud Scheduler with an OIDC token for our audience, signed as the
    expected service account; or, locally, whoever has TASKS_TOKEN. None means allowed."""
    settings = _settings()
    token_setting = settings.secret("tasks_token")
    if not token_setting and not settings.tasks_audience:
        return Response("tasks are off\n", status=404, mimetype="text/plain")
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return Response("a bearer token is required\n", status=401, mimetype="text/plain")
    if token_setting and bearer_ok(token_setting):
        return None
    if settings.tasks_audience:
        try:
            claims = verify_oidc(header[7:].strip(), settings)
        except ValueError as error:
            logs.get().warning("task token refused", extra={"reason": str(error)[:200]})
        else:
            expected = not settings.tasks_invoker or hmac.compare_digest(
                claims.get("email", ""), settings.tasks_invoker
            )
            if expected and claims.get("email_verified", True) is not False:
                return None
            logs.get().warning("task token from an unexpected account", extra={"email": claims.get("email", "")})
    return Response("forbidden\n", status=403, mimetype="text/plain")


_certs_cache: dict[str, tuple[float, dict]] = {}
_certs_lock = threading.Lock()
CERTS_MAX_AGE = 3600.0


def google_certs(url: str) -> dict:
    """Google's signing certificates, fetched at most once an hour: a stranger's bad token
    must not make us call out every time."""
    import requests

    with _certs_lock:
        fetched_at, certs = _certs_cache.get(url, (0.0, {}))
        if time.monotonic() - fetched_at > CERTS_MAX_AGE or not certs:
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            certs = response.json()
            _certs_cache[url] = (time.monotonic(), certs)
        return certs


def verify_oidc(token: str, settings: Settings) -> dict:
    """Signature (Google's certs), expiry, audience and issuer of a Cloud Scheduler OIDC token."""
    import google.auth.exceptions
    import requests
    from google.auth import jwt

    try:
        jwt.decode_header(token)  # malformed tokens are refused before anything is fetched
        claims = jwt.decode(token, certs=google_certs(settings.tasks_certs_url), audience=settings.tasks_audience)
    except (google.auth.exceptions.GoogleAuthError, ValueError, requests.RequestException) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None
    if claims.get("iss") not in ("https://accounts.google.com", "accounts.google.com"):
        raise ValueError("wrong issuer")
    return claims


def web_update(body) -> tuple[Update | None, str]:
    """A web chat request as an Update, or the reason it is not one."""
    if not isinstance(body, dict):
        return None, "expected a JSON object"
    user_id, text, payload = body.get("user_id"), body.get("text"), body.get("payload")
    locale, message_id = body.get("locale") or "", body.get("message_id") or uuid.uuid4().hex
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not 0 < len(user_id) <= USER_ID_MAX or not user_id.isprintable():
        return None, f"user_id: a printable string of 1-{USER_ID_MAX} characters"
    if (text is None) == (payload is None):
        return None, "give exactly one of text or payload"
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > 4000):
        return None, "text: a non-empty string of at most 4000 characters"
    if payload is not None and (not isinstance(payload, str) or not payload or len(payload) > 1000):
        return None, "payload: a non-empty string of at most 1000 characters"
    if not isinstance(locale, str) or len(locale) > 16:
        return None, "locale: a short string such as en or es_ES"
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 128:
        return None, "message_id: a string of at most 128 characters"
    first_name = body.get("first_name") or ""
    if not isinstance(first_name, str) or len(first_name) > 64:
        return None, "first_name: a string of at most 64 characters"
    update = Update(
        channel="web",
        user_id=user_id,
        event_id=message_id,
        text=text or "",
        payload=payload or "",
        locale=locale,
        first_name=first_name.strip(),
    )
    return update, ""
