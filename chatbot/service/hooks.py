"""What every request shares: the trace its log lines carry, the answers to errors, the count of its
answer for the owner (watch.py), and /health."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from chatbot.core import logs
from chatbot.core.settings import SecretError
from chatbot.service import watch
from chatbot.service.answers import TEXT
from chatbot.service.parts import Services

# What every answer tells a browser unless its route says more: load nothing, be framed nowhere, never
# guess a type, and come back over HTTPS only. The pages that load something say what (pages.py, web.py).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000",
    "Referrer-Policy": "no-referrer",
}


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("hooks", __name__)

    @bp.before_app_request
    def start_trace():
        trace = logs.trace_from_headers(request.headers, services.settings.google_cloud_project)
        request.environ["chatbot.trace"] = logs.set_trace(trace)

    @bp.after_app_request
    def count_response(response: Response) -> Response:
        # In memory; the store is written once a minute, by a thread of its own (watch.py).
        rule = request.url_rule.rule if request.url_rule is not None else None
        watch.count(services, rule, request.method, response.status_code)
        return response

    @bp.after_app_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @bp.teardown_app_request
    def end_trace(_error=None):
        token = request.environ.pop("chatbot.trace", None)
        if token is not None:
            logs.reset_trace(token)

    @bp.app_errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return Response(f"{error.code} {error.name}\n", status=error.code, mimetype=TEXT)

    @bp.app_errorhandler(SecretError)
    def secret_missing(error: SecretError):
        # Configuration, not the sender's fault: ask the platform to come back once it is fixed.
        logs.get().error("secret unavailable", extra={"error": str(error), "httpRequest": logs.request_fields(request)})
        return Response("service not configured\n", status=503, mimetype=TEXT)

    @bp.app_errorhandler(Exception)
    def unexpected(error: Exception):
        logs.get().exception("unhandled error", extra={"httpRequest": logs.request_fields(request)})
        return Response("internal error\n", status=500, mimetype=TEXT)

    @bp.get("/health")
    def health():
        # Which channels are configured (never how): the pipeline's smoke test compares them with
        # the secrets that exist. The store is not touched.
        return jsonify(status="ok", channels=services.channels.names)

    return bp
