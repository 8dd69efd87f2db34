"""Reference: a bot in the style of small GCP chatbots, for comparison only.

Clients are created and a secret is fetched at import time, state is one global
Firestore client, and each message costs a Firestore read and a write. Served by
gunicorn with one worker and one thread, as such bots usually are.
"""

import hashlib
import hmac
import json
import os

import requests
from flask import Flask, request
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, secretmanager

PROJECT = os.environ["GOOGLE_CLOUD_PROJECT"]
GRAPH = os.environ["FB_GRAPH_URL"]
PAGE_TOKEN = os.environ["FB_PAGE_ACCESS_TOKEN"]
secrets = secretmanager.SecretManagerServiceClient(
    transport="rest",
    client_options=ClientOptions(api_endpoint=os.environ["SECRET_MANAGER_ENDPOINT"]),
    credentials=AnonymousCredentials(),
)
APP_SECRET = secrets.access_secret_version(
    name=f"projects/{PROJECT}/secrets/fb-app-secret/versions/latest"
).payload.data
db = firestore.Client(project=PROJECT)
app = Flask(__name__)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/webhook/messenger")
def webhook():
    raw = request.get_data()
    expected = "sha256=" + hmac.new(APP_SECRET, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return "forbidden", 403
    for entry in json.loads(raw).get("entry", []):
        for event in entry.get("messaging", []):
            user = event["sender"]["id"]
            ref = db.collection("baseline_users").document(user)
            state = ref.get().to_dict() or {"count": 0}
            state["count"] += 1
            ref.set(state)
            reply = {"recipient": {"id": user}, "message": {"text": f"Message number {state['count']}"}}
            requests.post(f"{GRAPH}/me/messages", params={"access_token": PAGE_TOKEN}, json=reply, timeout=10)
    return "ok"
