"""Configuration: one frozen dataclass built once from the environment.

Secret settings may hold a Secret Manager reference (``sm://NAME``,
``sm://NAME/VERSION`` or ``projects/P/secrets/S/versions/V``); it is resolved
on first use and cached for the life of the process, so importing this module
or building ``Settings`` never touches the network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from chatbot.core import channels

# The service's own secrets; each channel's come from the registry.
SECRET_FIELDS = tuple(v.field for v in channels.variables() if v.secret) + ("tasks_token", "admin_token")
CHANNEL_FIELDS = {v.field: v for v in channels.variables()}


class SecretError(RuntimeError):
    """A secret reference could not be resolved; the message says what to fix."""


def is_secret_reference(value: str) -> bool:
    return value.startswith("sm://") or (value.startswith("projects/") and "/secrets/" in value)


def secret_version_name(reference: str, project: str | None) -> str:
    """Turn ``sm://NAME[/VERSION]`` into a full Secret Manager version name."""
    if reference.startswith("projects/"):
        return reference if "/versions/" in reference else reference + "/versions/latest"
    rest = reference.removeprefix("sm://")
    if rest.startswith("projects/"):
        return secret_version_name(rest, project)
    name, _, version = rest.partition("/")
    if not project:
        raise SecretError(
            f"secret {reference!r} needs a project: set GOOGLE_CLOUD_PROJECT or use "
            "sm://projects/PROJECT/secrets/NAME/versions/VERSION"
        )
    return f"projects/{project}/secrets/{name}/versions/{version or 'latest'}"


def fetch_from_secret_manager(version_name: str, endpoint: str = "") -> str:
    """One secret version's value, with the REST transport (light, one call per secret per process).
    ``endpoint`` points the client elsewhere: a regional endpoint, or a local fake in tests."""
    # Imported here: the client library is heavy and only needed when a reference is used.
    from google.api_core import exceptions
    from google.api_core.client_options import ClientOptions
    from google.cloud import secretmanager

    kwargs: dict = {"transport": "rest"}
    if endpoint:
        kwargs["client_options"] = ClientOptions(api_endpoint=endpoint)
        if endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()  # a plain-HTTP endpoint is a local fake
    client = secretmanager.SecretManagerServiceClient(**kwargs)
    try:
        response = client.access_secret_version(name=version_name, timeout=10)
    except exceptions.NotFound as error:
        raise SecretError(f"secret {version_name} does not exist: create it or fix the reference") from error
    except (exceptions.PermissionDenied, exceptions.Forbidden) as error:
        raise SecretError(
            f"no access to secret {version_name}: grant the runtime service account "
            "roles/secretmanager.secretAccessor on it"
        ) from error
    except exceptions.GoogleAPIError as error:
        raise SecretError(f"could not read secret {version_name}: {type(error).__name__}") from error
    return response.payload.data.decode("utf-8").strip()


class SecretResolver:
    """Resolves secret references once per process and remembers the answers."""

    def __init__(self, project: str | None, endpoint: str = "", fetch: Callable[..., str] = fetch_from_secret_manager):
        self._project = project
        self._endpoint = endpoint
        self._fetch = fetch
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, value: str) -> str:
        if not is_secret_reference(value):
            return value
        with self._lock:
            if value not in self._cache:
                self._cache[value] = self._fetch(secret_version_name(value, self._project), self._endpoint)
            return self._cache[value]


def _read_env(environ: Mapping[str, str], name: str, default: str = "") -> str:
    """A variable, or the content of the file named by NAME_FILE (Cloud Run secret volumes)."""
    value = environ.get(name, "").strip()
    if value:
        return value
    path = environ.get(name + "_FILE", "").strip()
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    return default


def _number(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 1:
        raise SettingsError(f"{name.upper()}={raw!r}: use a whole number above 0")
    return value


class SettingsError(ValueError):
    """A setting with a value the service cannot use; the message names the fix."""


@dataclass(frozen=True)
class Settings:
    port: int = 8080
    store_url: str = "sqlite:///chatbot.db"
    skills_file: str = "skills.json"
    public_url: str = ""
    tasks_audience: str = ""
    tasks_invoker: str = ""  # the service account Cloud Scheduler signs as
    tasks_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    tasks_token: str = ""
    admin_token: str = ""  # the owner's dashboard (/admin) is off without it
    owner_name: str = ""  # who runs the bot, on the privacy page
    owner_contact: str = ""  # how to reach them (an e-mail address or a URL), on the privacy page
    # The owner's Telegram chat (a supergroup with topics, -100...): told once when a platform reports
    # a problem and once when it is fixed; and the inbox of conversations handed to a person, a topic each.
    handoff_telegram_chat_id: str = ""
    handoff_messenger: str = ""  # "inbox": Messenger learners go to Meta's Page Inbox (the Handover Protocol)
    handoff_hours: str = ""  # when a person is around to answer, "mon-fri 09:00-17:00 +01:00" (delivery/hours.py)
    handoff_idle_hours: int = 48  # a handoff nobody wrote in for this long ends, and the bot answers again
    retention_days: int = 400  # every stored record expires this long after it was last written
    flood_per_minute: int = 20  # messages one person may send in a minute before the bot asks them to slow down
    flood_per_day: int = 500  # and in a day
    # How long a delivery's claim on replies lasts without a sign of life (each message sent renews
    # it): the longest a reply waits after the process sending it died. Measured by the store's clock.
    claim_lease_seconds: int = 30
    log_level: str = "INFO"
    secret_manager_endpoint: str = ""
    on_cloud_run: bool = False
    google_cloud_project: str = ""
    resolver: SecretResolver | None = field(default=None, compare=False, repr=False)
    # Every channel's variables (the registry's), by field name: ``settings.fb_app_secret``.
    channel_values: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> str:
        # Only reached for names that are not fields: a channel variable, or its default.
        variable = CHANNEL_FIELDS.get(name)
        if variable is None:
            raise AttributeError(name)
        return self.__dict__.get("channel_values", {}).get(name) or variable.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            if f.name in ("resolver", "on_cloud_run", "google_cloud_project", "channel_values"):
                continue
            raw = _read_env(env, f.name.upper())
            if raw:
                values[f.name] = _number(f.name, raw) if f.type in ("int", int) else raw
        given = {v.field: _read_env(env, v.name) for v in CHANNEL_FIELDS.values()}
        values["on_cloud_run"] = bool(env.get("K_SERVICE"))
        values["google_cloud_project"] = env.get("GOOGLE_CLOUD_PROJECT", "") or env.get("GCLOUD_PROJECT", "")
        given.update({k: v for k, v in overrides.items() if k in CHANNEL_FIELDS})
        values.update({k: v for k, v in overrides.items() if k not in CHANNEL_FIELDS})
        given = {k: v.rstrip("/") if CHANNEL_FIELDS[k].url else v for k, v in given.items() if v}
        if "public_url" in values:
            values["public_url"] = values["public_url"].rstrip("/")
        settings = cls(**values, channel_values=MappingProxyType(given))
        if settings.resolver is None:
            resolver = SecretResolver(settings.google_cloud_project or None, settings.secret_manager_endpoint)
            object.__setattr__(settings, "resolver", resolver)
        return settings

    def secret(self, name: str) -> str:
        """The plain value of a secret setting, resolving a Secret Manager reference on first use."""
        if name not in SECRET_FIELDS:
            raise KeyError(name)
        value = getattr(self, name)
        if not value or self.resolver is None:
            return value
        return self.resolver.resolve(value)

    def enabled(self, channel: str) -> bool:
        """Whether a channel of the registry is on: every required variable set; for a channel that
        is open locally (the web chat), also with none of them, except on Cloud Run, where the world
        can reach it."""
        info = channels.info(channel)
        if info.open_locally:
            return not self.on_cloud_run or any(self.channel_values.get(v.field) for v in info.variables)
        return not self.missing(channel)

    def missing(self, channel: str) -> list[str]:
        """The variables a channel still needs; all of them when it is not configured at all."""
        return [name for name in channels.info(channel).required if not self.channel_values.get(name.lower())]

    def channel_report(self) -> dict[str, str]:
        """Which channels are on, and for an off one the exact variables it still needs."""
        report = {}
        for info in channels.CHANNELS:
            given = [v.name for v in info.variables if v.secret and self.channel_values.get(v.field)]
            if info.open_locally:
                needs = ", ".join(v.name for v in info.variables if v.secret)
                if not self.enabled(info.name):
                    report[info.name] = f"off (on Cloud Run it needs {needs})"
                else:
                    report[info.name] = "on (token required)" if given else "on (open, local use)"
                continue
            missing = self.missing(info.name)
            report[info.name] = "on" if not missing else f"off (set {', '.join(missing)})"
        return report

    def half_configured(self) -> dict[str, list[str]]:
        """Channels with some of their variables set but not all: almost always a mistake."""
        return {
            info.name: missing
            for info in channels.CHANNELS
            if (missing := self.missing(info.name)) and len(missing) < len(info.required)
        }

    def known_secret_values(self) -> list[str]:
        """Plain secret values already at hand, for scrubbing logs (never resolves references)."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        if self.resolver is not None:
            values.extend(self.resolver._cache.values())
        return [v for v in values if v and len(v) >= 6]
