"""The pages anyone may read: ``/privacy`` and the status page of a deletion (``/deletion``)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from chatbot.core import logs
from chatbot.owner import erasure, privacy
from chatbot.service.answers import HTML, TEXT
from chatbot.service.parts import Services
from chatbot.store.base import RECEIPTS

# The pages are text with their own inline style: nothing else to load, no script at all.
PAGE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
}


def blueprint(services: Services) -> Blueprint:
    bp = Blueprint("pages", __name__)

    @bp.get("/privacy")
    def privacy_policy():
        lang = privacy.pick_language(services.skills, request.args.get("lang"), request.accept_languages)
        body = privacy.privacy_page(services.skills, services.settings, services.channels.names, lang)
        return Response(body, mimetype=HTML, headers={"Content-Language": lang} | PAGE_POLICY)

    @bp.get("/deletion")
    def deletion_status():
        code = request.args.get("id", "")
        if not erasure.CODE.match(code):
            return Response("id must be the confirmation code of a deletion request\n", status=400, mimetype=TEXT)
        try:
            receipt = services.store.find(RECEIPTS, code) if services.store else None
        except Exception as error:
            logs.get().warning("deletion status unavailable", extra={"error": type(error).__name__})
            return Response("busy, try again in a moment\n", status=503, mimetype=TEXT)
        lang = privacy.pick_language(services.skills, request.args.get("lang"), request.accept_languages)
        body = privacy.deletion_page(services.skills, receipt, code, services.settings.retention_days, lang)
        headers = {"Content-Language": lang} | PAGE_POLICY
        return Response(body, status=200 if receipt else 404, mimetype=HTML, headers=headers)

    return bp
