#!/usr/bin/env python3
"""A stand-in for `gcloud` (and, as `curl`, for the deployed service; as `python3` and `flask`, for
Secret Manager and the platforms in the webhook step) that keeps a little world.

FAKE_GCLOUD_LOG: a file that gets one JSON line per gcloud call: argv as given, args without the
global --project and --quiet, the account, the stdin size. An argument naming a file the command
reads (`--policy-from-file=`, `--policy=`, `--env-vars-file=`) is logged pointing at a copy kept beside
the log, so the call can be parsed again later by the real SDK.
FAKE_GCLOUD_STATE: a JSON file of what exists: resources, enabled services, IAM bindings,
secrets, Cloud Run services with their revisions (each with its creation time, from a clock that
moves a minute a deploy) and traffic, monitoring, triggers.
FAKE_GCLOUD_ACCOUNT: "owner" (may do anything; the person running the bootstrap) or a service
account email, whose every call is checked against the roles the state grants it.
FAKE_GCLOUD_SDK_ROOT: what `gcloud info` gives as the SDK's root (where the alpha and beta commands live).

The rules it models are the ones a first deploy trips on: a call to an API that is not enabled
fails with SERVICE_DISABLED; describe exits 1 with NOT_FOUND for what is missing, and so does
get-iam-policy; Cloud Run refuses --no-traffic when creating a service; a service exists only after
its first deploy; tags, traffic and rollbacks; a revision gets only the secrets its runtime account
may read; an organisation that forbids allUsers makes `--allow-unauthenticated` a warning and the
service answer 403; and each permission comes from a role, as Google's documentation lists them.
"""

import hashlib
import json
import os
import re
import shutil
import sys

MUTATING = ("create", "enable", "add-iam-policy-binding", "update", "deploy", "update-traffic", "set-cleanup-policies")
PROJECT_NUMBER = "123456789012"
FILE_FLAGS = ("--policy-from-file", "--policy", "--env-vars-file")  # read by gcloud at parse time

# The API behind each command group, for those a new project has off until the bootstrap enables them.
API_OF = {
    ("artifacts",): "artifactregistry", ("firestore",): "firestore", ("iam",): "iam", ("secrets",): "secretmanager",
    ("builds",): "cloudbuild", ("scheduler",): "cloudscheduler", ("run",): "run",
    ("billing", "budgets"): "billingbudgets", ("billing",): "cloudbilling",
    ("monitoring",): "monitoring", ("alpha", "monitoring"): "monitoring", ("beta", "monitoring"): "monitoring",
}  # fmt: skip
API_TITLE = {"artifactregistry": "Artifact Registry API", "firestore": "Cloud Firestore API", "iam": "Identity and "
             "Access Management (IAM) API", "secretmanager": "Secret Manager API", "cloudbuild": "Cloud Build API",
             "cloudscheduler": "Cloud Scheduler API", "run": "Cloud Run Admin API", "billingbudgets": "Cloud Billing "
             "Budget API", "cloudbilling": "Cloud Billing API", "monitoring": "Cloud Monitoring API"}  # fmt: skip

# The permissions a role carries, of those the pipeline's calls need (per Google's role reference).
ROLE_PERMISSIONS = {
    "roles/run.admin": {"run.services.list", "run.services.get", "run.services.create", "run.services.update",
                        "run.services.setIamPolicy", "run.revisions.list", "run.revisions.get"},
    "roles/secretmanager.viewer": {"secretmanager.secrets.list", "secretmanager.secrets.get",
                                   "secretmanager.versions.list", "secretmanager.versions.get"},
    "roles/secretmanager.secretAccessor": {"secretmanager.versions.access"},
    "roles/logging.logWriter": {"logging.logEntries.create"},
}  # fmt: skip
COMMAND_PERMISSION = {
    ("secrets", "list"): "secretmanager.secrets.list",
    ("secrets", "describe"): "secretmanager.secrets.get",
    ("secrets", "versions", "list"): "secretmanager.versions.list",
    ("secrets", "versions", "access"): "secretmanager.versions.access",
    ("run", "services", "list"): "run.services.list",
    ("run", "services", "describe"): "run.services.get",
    ("run", "deploy"): "run.services.create",
    ("run", "services", "update-traffic"): "run.services.update",
    ("run", "revisions", "list"): "run.revisions.list",
    ("run", "revisions", "describe"): "run.revisions.get",
}
CHANNEL_SECRETS = {
    "messenger": {"FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN"},
    "telegram": {"TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"},
    "web": {"WEB_CHAT_TOKEN"},
}


class Refused(Exception):
    pass


def load_state() -> dict:
    path = os.environ["FAKE_GCLOUD_STATE"]
    state = {"resources": [], "services": [], "iam": [], "secret_values": {}, "run": {}, "broken_images": [],
             "monitoring": {"uptime": [], "channels": [], "policies": []}, "triggers": {}}  # fmt: skip
    if os.path.exists(path):
        with open(path) as handle:
            state |= json.load(handle)
    return state


def save_state(state: dict) -> None:
    """Whole or not at all: written beside, then renamed over the old file."""
    path = os.environ["FAKE_GCLOUD_STATE"]
    with open(path + ".new", "w") as handle:
        json.dump(state, handle)
    os.replace(path + ".new", path)


def project() -> str:
    return os.environ.get("FAKE_GCLOUD_PROJECT", "demo")


def roles_of(state: dict, member: str, resource: str) -> set:
    scopes = {f"projects {project()}", resource}
    return {role for res, role, who in state["iam"] if who == member and res in scopes}


def check_permission(state: dict, words: list[str]) -> None:
    account = os.environ.get("FAKE_GCLOUD_ACCOUNT", "owner")
    if account == "owner":
        return
    command = next((cmd for cmd in COMMAND_PERMISSION if tuple(words[: len(cmd)]) == cmd), None)
    if command is None:
        return
    permission, positional = COMMAND_PERMISSION[command], words[len(command) :]
    resource = f"secrets {positional[0]}" if words[0] == "secrets" and positional else ""
    granted = set().union(
        *(ROLE_PERMISSIONS.get(r, set()) for r in roles_of(state, f"serviceAccount:{account}", resource))
    )
    if permission not in granted:
        raise Refused(
            f"ERROR: (gcloud) PERMISSION_DENIED: Permission '{permission}' denied on resource (or it may not exist)."
        )


def check_api(state: dict, words: list[str]) -> None:
    """A new project has these APIs off: a call to one is refused as Google refuses it."""
    api = next((api for group, api in sorted(API_OF.items(), key=lambda i: -len(i[0]))
                if tuple(words[: len(group)]) == group), None)  # fmt: skip
    if api and f"{api}.googleapis.com" not in state["services"]:
        command = ".".join(w for w in words[:3] if not w.startswith("projects/"))
        raise Refused(
            f"ERROR: (gcloud.{command}) PERMISSION_DENIED: {API_TITLE[api]} has not been used in project "
            f"{PROJECT_NUMBER} before or it is disabled. Enable it by visiting https://console.developers.google.com"
            f"/apis/api/{api}.googleapis.com/overview?project={PROJECT_NUMBER} then retry. "
            f"This command is authenticated as owner@example.com which is the active account. "
            f"reason: SERVICE_DISABLED"
        )


def keep_files(args: list[str]) -> list[str]:
    """A file a command reads is copied beside the log (the caller may delete its own), and logged so:
    named after its content, so that the same call with the same file is logged the same."""
    kept = []
    folder = os.path.join(os.path.dirname(os.environ["FAKE_GCLOUD_LOG"]), "files")
    for arg in args:
        flag, _, value = arg.partition("=")
        if flag in FILE_FLAGS and value and os.path.isfile(value):
            os.makedirs(folder, exist_ok=True)
            with open(value, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()[:16]
            copy = os.path.join(folder, f"{digest}-{os.path.basename(value)}")
            shutil.copyfile(value, copy)
            arg = f"{flag}={copy}"
        kept.append(arg)
    return kept


def main(argv: list[str]) -> int:
    argv = keep_files(argv)
    args = [a for a in argv if not a.startswith("--project=") and a != "--quiet"]
    flags = {a.split("=", 1)[0]: (a.split("=", 1)[1] if "=" in a else "") for a in args if a.startswith("--")}
    words = [a for a in args if not a.startswith("--")]
    state = load_state()
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
        entry = {"args": args, "argv": argv, "stdin_bytes": len(stdin), "mutating": any(w in MUTATING for w in words),
                 "account": os.environ.get("FAKE_GCLOUD_ACCOUNT", "owner")}  # fmt: skip
        log.write(json.dumps(entry) + "\n")
    try:
        if state.get("refuse") and " ".join(words).startswith(state["refuse"]):
            raise Refused("ERROR: (gcloud) PERMISSION_DENIED: the caller does not have permission")
        if words[:1] == ["info"]:
            print(os.environ.get("FAKE_GCLOUD_SDK_ROOT", ""))
            return 0
        if words[:3] == ["config", "get-value", "project"]:
            print(state.get("config_project", ""))
            return 0
        check_api(state, words)
        check_permission(state, words)
        if words[0] == "run":
            return run_command(state, words, flags)
        if words[0] == "secrets" and words[1:2] in (["list"], ["versions"]):
            return secrets_command(state, words)
        if "monitoring" in words[:2]:
            return monitoring_command(state, words[words.index("monitoring") + 1 :], flags)
        if words[:2] == ["builds", "triggers"]:
            return trigger_command(state, words, flags)
        return other_command(state, words, flags, stdin)
    except Refused as refusal:
        print(str(refusal), file=sys.stderr)
        return 1


def secrets_command(state: dict, words: list[str]) -> int:
    names = [n for g, n in state["resources"] if g == "secrets"]
    if words[1] == "list":
        print("\n".join(f"projects/{PROJECT_NUMBER}/secrets/{n}" for n in names))
        return 0
    if words[3] not in names:
        raise Refused(f"ERROR: NOT_FOUND: Secret [{words[3]}] not found")
    print(f"projects/{PROJECT_NUMBER}/secrets/{words[3]}/versions/1")
    return 0


def quoted_value(text: str, key: str) -> str:
    """`key="value"` (or key=value) out of a --filter expression."""
    found = re.search(rf'{re.escape(key)}\s*=\s*"?([^"]*)"?', text)
    return found.group(1) if found else ""


def monitoring_command(state: dict, words: list[str], flags: dict) -> int:
    """Uptime checks, notification channels and alert policies, each with the name the API gives it."""
    world = state["monitoring"]
    wanted = flags.get("--filter", "")
    if words[:2] == ["uptime", "list-configs"]:
        name = quoted_value(wanted, "displayName")
        print("\n".join(c["name"] for c in world["uptime"] if c["displayName"] == name))
        return 0
    if words[:2] == ["uptime", "create"]:
        labels = dict(pair.split("=", 1) for pair in flags["--resource-labels"].split(","))
        name = f"projects/{project()}/uptimeCheckConfigs/{words[2].replace(' ', '-')}-x1"
        world["uptime"].append({"name": name, "displayName": words[2], "host": labels["host"], "path": flags["--path"]})
    elif words[:2] == ["channels", "list"]:
        email = quoted_value(wanted, "labels.email_address")
        print("\n".join(c["name"] for c in world["channels"] if c["email"] == email))
        return 0
    elif words[:2] == ["channels", "create"]:
        email = flags["--channel-labels"].removeprefix("email_address=")
        world["channels"].append({"name": f"projects/{project()}/notificationChannels/{len(world['channels']) + 7}",
                                  "email": email, "type": flags["--type"]})  # fmt: skip
    elif words[:2] == ["policies", "list"]:
        name = quoted_value(wanted, "displayName")
        found = [p for p in world["policies"] if p["displayName"] == name]
        print("\n".join(f"{p['name']}\t{p['enabled']}\t{','.join(p['channels'])}" for p in found))
        return 0
    elif words[:2] == ["policies", "create"]:
        with open(flags["--policy-from-file"]) as handle:
            policy = json.load(handle)  # a file that is not JSON fails here, as the API would refuse it
        channels = [c for c in flags.get("--notification-channels", "").split(",") if c]
        name = f"projects/{project()}/alertPolicies/{len(world['policies']) + 100}"
        world["policies"].append({"name": name, "displayName": policy["displayName"], "channels": channels,
                                  "enabled": policy.get("enabled", True), "policy": policy})  # fmt: skip
    elif words[:2] == ["policies", "describe"]:
        policy = next(p for p in world["policies"] if p["name"] == words[2])
        conditions = policy["policy"].get("conditions") or [{}]
        print(conditions[0].get("conditionThreshold", {}).get("filter", ""))  # the one --format the bootstrap asks
        return 0
    elif words[:2] == ["policies", "update"]:
        policy = next(p for p in world["policies"] if p["name"] == words[2])
        if "--policy-from-file" in flags:
            with open(flags["--policy-from-file"]) as handle:
                policy["policy"] = json.load(handle)
        policy["channels"] += [c for c in flags.get("--add-notification-channels", "").split(",") if c]
        policy["enabled"] = True if "--enabled" in flags else False if "--no-enabled" in flags else policy["enabled"]
    else:
        print(f"fake gcloud: unknown monitoring command {words}", file=sys.stderr)
        return 2
    save_state(state)
    return 0


def trigger_command(state: dict, words: list[str], flags: dict) -> int:
    """The build trigger and the substitutions it passes to each build."""
    triggers = state["triggers"]
    if words[2] == "create":
        triggers[flags["--name"]] = {"substitutions": dict_flag(flags.get("--substitutions", "")),
                                     "repository": flags.get("--repository", "")}  # fmt: skip
    elif words[2] in ("describe", "update", "run"):
        name = words[4] if words[2] == "update" else words[3]
        if name not in triggers:
            raise Refused(f"ERROR: (gcloud.builds.triggers.{words[2]}) NOT_FOUND: Requested entity was not found.")
        trigger = triggers[name]
        if words[2] == "run":
            print(f"a build of {flags.get('--branch', 'main')} started by the trigger {name}")
            return 0
        if words[2] == "describe":
            field = re.fullmatch(r"value\(substitutions\.(\w+)\)", flags.get("--format", ""))
            if field:
                print(trigger["substitutions"].get(field.group(1), ""))
            elif flags.get("--format") == "json":
                print(json.dumps({"name": name, "substitutions": trigger["substitutions"]}))
            return 0
        trigger["substitutions"].update(dict_flag(flags.get("--update-substitutions", "")))
    else:
        print(f"fake gcloud: unknown trigger command {words}", file=sys.stderr)
        return 2
    save_state(state)
    return 0


def dict_flag(value: str) -> dict[str, str]:
    """A KEY=VALUE,... flag as gcloud reads it, with its `^DELIM^` escape for another separator."""
    separator = ","
    if value.startswith("^") and value.count("^") >= 2:
        separator, value = value[1:].split("^", 1)
    return dict(pair.split("=", 1) for pair in value.split(separator) if pair)


def other_command(state: dict, words: list[str], flags: dict, stdin: str) -> int:
    if words[:2] == ["services", "list"]:
        print("\n".join(state["services"]))
        return 0
    if words[:2] == ["services", "enable"]:
        state["services"] += words[2:]
        save_state(state)
        return 0
    if words[:2] == ["projects", "describe"]:
        print(PROJECT_NUMBER)
        return 0
    if words[:3] == ["resource-manager", "org-policies", "describe"]:
        policy = {"constraint": f"constraints/{words[3]}", "etag": "BwYabc123="}
        if state.get("org_forbids_all_users"):
            policy["listPolicy"] = {"allowedValues": ["C03abc123"]}
        print(json.dumps(policy))
        return 0
    if "get-iam-policy" in words:
        i = words.index("get-iam-policy")
        resource = " ".join(words[:i] + words[i + 1 :])
        if words[0] != "projects" and [" ".join(words[:i]), words[i + 1]] not in state["resources"]:
            raise Refused(f"ERROR: (gcloud.{'.'.join(words[: i + 1])}) NOT_FOUND: {words[i + 1]} was not found")
        role = flags.get("--filter", "").removeprefix("bindings.role=")
        print("\n".join(m for r, ro, m in state["iam"] if r == resource and ro == role))
        return 0
    if "add-iam-policy-binding" in words:
        i = words.index("add-iam-policy-binding")
        state["iam"].append([" ".join(words[:i] + words[i + 1 :]), flags["--role"], flags["--member"]])
        save_state(state)
        return 0
    if words[:4] == ["firestore", "fields", "ttls", "list"]:
        if ["ttl", flags["--collection-group"]] in state["resources"]:
            print("ACTIVE")
        return 0
    if words[:4] == ["firestore", "fields", "ttls", "update"]:
        state["resources"].append(["ttl", flags["--collection-group"]])
        save_state(state)
        return 0
    if words[:4] == ["firestore", "indexes", "fields", "describe"]:
        exempt = ["index exemption", f"{flags['--collection-group']}.{words[4]}"] in state["resources"]
        print("False" if exempt else "True")  # usesAncestorConfig: False once the field has its own
        return 0
    if words[:4] == ["firestore", "indexes", "fields", "update"] and "--disable-indexes" in flags:
        state["resources"].append(["index exemption", f"{flags['--collection-group']}.{words[4]}"])
        save_state(state)
        return 0
    if words[:3] == ["billing", "projects", "describe"]:
        print("billingAccounts/0A1B2C-3D4E5F-6A7B8C")
        return 0
    if words[:3] == ["billing", "accounts", "describe"]:
        print(state.get("currency", "USD"))
        return 0
    if words[:3] == ["billing", "budgets", "list"]:
        name = flags.get("--filter", "").removeprefix("displayName=")
        print("\n".join(f"budgets/{n}" for g, n in state["resources"] if g == "billing budgets" and n == name))
        return 0
    if words[:3] == ["billing", "budgets", "create"]:
        state["resources"].append(["billing budgets", flags["--display-name"]])
        state["budget_amount"] = flags["--budget-amount"]
        save_state(state)
        return 0
    if words[:3] == ["artifacts", "repositories", "list-cleanup-policies"]:
        print(json.dumps(state.get("cleanup", [])))
        return 0
    if words[:3] == ["artifacts", "repositories", "set-cleanup-policies"]:
        with open(flags["--policy"]) as handle:
            state["cleanup"] = json.load(handle)
        save_state(state)
        return 0
    return describe_or_create(state, words, flags, stdin)


def describe_or_create(state: dict, words: list[str], flags: dict, stdin: str) -> int:
    """describe / create for everything else: the resource is the group words plus the name."""
    for verb in ("describe", "create"):
        if verb in words:
            i = words.index(verb)
            group = " ".join(words[:i])
            rest = [w for w in words[i + 1 :] if w not in ("github", "http")]
            name = rest[0] if rest else flags.get("--name") or flags.get("--database", "")
            if group == "iam service-accounts" and verb == "create":
                name = f"{name}@{project()}.iam.gserviceaccount.com"
            if verb == "create" and group == "secrets":
                state["secret_values"][name] = stdin
            if verb == "describe":
                if [group, name] in state["resources"]:
                    return 0
                raise Refused(f"ERROR: (gcloud.{group.replace(' ', '.')}.describe) NOT_FOUND: {name} was not found")
            state["resources"].append([group, name])
            save_state(state)
            return 0
    print(f"fake gcloud: unknown command {words}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------- Cloud Run


def tag_url(service: str, tag: str) -> str:
    return f"https://{tag}---{service}-x2a3b4c5-uc.a.run.app"


def run_command(state: dict, words: list[str], flags: dict) -> int:
    services = state["run"]
    if words[:3] == ["run", "services", "list"]:
        wanted = flags.get("--filter", "").removeprefix("metadata.name=")
        print("\n".join(name for name in services if not wanted or name == wanted))
        return 0
    if words[:2] == ["run", "deploy"]:
        return deploy(state, words[2], flags)
    if words[:3] == ["run", "revisions", "describe"]:
        found = [r for service in services.values() for r in service["revisions"] if r["name"] == words[3]]
        if not found:
            raise Refused(f"ERROR: (gcloud.run.revisions.describe) Cannot find revision [{words[3]}] (NOT_FOUND)")
        if flags.get("--format") == "value(metadata.creationTimestamp)":
            print(found[0]["created"])
        else:
            print(json.dumps(revision_json(found[0])))
        return 0
    name = words[3] if words[1] == "services" else flags.get("--service", "")
    if name not in services:
        raise Refused(f"ERROR: (gcloud.run) Cannot find service [{name}] (NOT_FOUND)")
    service = services[name]
    if words[:3] == ["run", "services", "describe"]:
        if "describe_says" in state:  # what another gcloud (or a changed API) might answer instead
            print(state["describe_says"])
            return 0
        traffic = [t | ({"url": tag_url(name, t["tag"])} if t.get("tag") else {}) for t in service["traffic"]]
        print(
            json.dumps({"metadata": {"name": name}, "status": {"url": f"https://{name}.run.app", "traffic": traffic}})
        )
        return 0
    if words[:3] == ["run", "revisions", "list"]:
        if flags.get("--format") == "json":
            print(json.dumps([revision_json(r) for r in reversed(service["revisions"])]))
        else:
            print("\n".join(r["name"] for r in reversed(service["revisions"])))
        return 0
    if words[:3] == ["run", "services", "update-traffic"]:
        update_traffic(service, flags)
        save_state(state)
        return 0
    raise Refused(f"fake gcloud: unknown run command {words}")


def revision_json(revision: dict) -> dict:
    return {"metadata": {"name": revision["name"], "creationTimestamp": revision["created"]},
            "spec": {"containers": [{"image": revision["image"]}]}}  # fmt: skip


def creation_time(state: dict) -> str:
    """Now, on the world's clock: a minute later at every deploy, as Cloud Run writes it (RFC 3339, UTC)."""
    state["clock"] = state.get("clock", 0) + 1
    minutes = state["clock"]
    return f"2026-03-01T{10 + minutes // 60:02d}:{minutes % 60:02d}:07.{minutes * 1234 % 1000000:06d}Z"


def deploy(state: dict, name: str, flags: dict) -> int:
    services = state["run"]
    if "--no-traffic" in flags and name not in services:
        raise Refused("ERROR: (gcloud.run.deploy) --no-traffic not supported when creating a new service.")
    service = services.setdefault(name, {"revisions": [], "traffic": [], "public": False})
    revision = f"{name}-{len(service['revisions']) + 1:05d}-abc"
    runtime = flags.get("--service-account", "")
    secrets = {}
    for pair in filter(None, flags.get("--set-secrets", "").split(",")):
        variable, reference = pair.split("=", 1)
        secret = reference.split(":", 1)[0]
        if [f"secrets {secret}", "roles/secretmanager.secretAccessor", f"serviceAccount:{runtime}"] in state["iam"]:
            secrets[variable] = secret  # the runtime may read it: the revision has it
    env = {}
    if flags.get("--env-vars-file"):
        with open(flags["--env-vars-file"]) as handle:
            env = json.load(handle)  # the pipeline writes JSON, which is YAML; anything else fails here
        if not all(isinstance(v, str) for v in env.values()):
            raise Refused("ERROR: (gcloud.run.deploy) every value in --env-vars-file must be a string")
    for pair in filter(None, [flags.get("--set-env-vars", "")]):
        env = dict_flag(pair)
    service["revisions"].append({"name": revision, "image": flags["--image"], "secrets": secrets, "env": env,
                                 "created": creation_time(state)})  # fmt: skip
    entry = {"revisionName": revision, "percent": 0}
    if flags.get("--tag"):
        entry["tag"] = flags["--tag"]
    if "--no-traffic" not in flags:
        for t in service["traffic"]:
            t["percent"] = 0
        entry["percent"] = 100
    service["traffic"] = [t for t in service["traffic"] if t.get("tag")] + [entry]
    if "--no-invoker-iam-check" in flags:
        service["public"] = True  # nobody's identity is checked
    elif "--allow-unauthenticated" in flags and state.get("org_forbids_all_users"):
        # What gcloud does: the revision is deployed, the allUsers binding refused, and only a warning says so.
        print(
            f'WARNING: Setting IAM policy failed, try "gcloud beta run services add-iam-policy-binding '
            f'--region={flags.get("--region")} --member=allUsers --role=roles/run.invoker {name}"',
            file=sys.stderr,
        )
    elif "--allow-unauthenticated" in flags:
        service["public"] = True
    save_state(state)
    return 0


def update_traffic(service: dict, flags: dict) -> None:
    target = None
    if flags.get("--to-tags"):
        tag = flags["--to-tags"].split("=", 1)[0]
        target = next(t["revisionName"] for t in service["traffic"] if t.get("tag") == tag)
    if flags.get("--to-revisions"):
        target = flags["--to-revisions"].split("=", 1)[0]
        if target not in [t["revisionName"] for t in service["traffic"]]:
            service["traffic"].append({"revisionName": target, "percent": 0})
    if target:
        for t in service["traffic"]:
            t["percent"] = 100 if t["revisionName"] == target else 0
    for tag in filter(None, flags.get("--remove-tags", "").split(",")):
        for t in service["traffic"]:
            if t.get("tag") == tag:
                del t["tag"]
    service["traffic"] = [t for t in service["traffic"] if t.get("tag") or t["percent"]]


def health(url: str) -> tuple[int, str]:
    """What the deployed revision behind a tag URL answers on /health: from its secrets and access."""
    state = load_state()
    for name, service in state["run"].items():
        for t in service["traffic"]:
            if t.get("tag") and url.startswith(tag_url(name, t["tag"])):
                revision = next(r for r in service["revisions"] if r["name"] == t["revisionName"])
                if not service.get("public"):
                    return 403, "<html><title>403 Forbidden</title></html>"
                if revision["image"] in state["broken_images"]:
                    return 500, "Internal Server Error"
                channels = [c for c, needs in CHANNEL_SECRETS.items() if needs <= set(revision["secrets"])]
                return 200, json.dumps({"status": "ok", "channels": channels})
    return 404, "Not Found"


def curl(argv: list[str]) -> int:
    """`curl [-fsS] [-o FILE] [-w '%{http_code}'] URL`, as far as the pipeline uses it."""
    url = next(a for a in argv if a.startswith("https://"))
    output = argv[argv.index("-o") + 1] if "-o" in argv else None
    write_out = argv[argv.index("-w") + 1] if "-w" in argv else ""
    fail = any(a.startswith("-") and not a.startswith("--") and "f" in a for a in argv if a not in ("-o", "-w"))
    code, body = health(url)
    if fail and code >= 400:
        print(f"curl: (22) The requested URL returned error: {code}", file=sys.stderr)
        return 22
    if output:
        with open(output, "w") as handle:
            handle.write(body)
    else:
        print(body)
    print(write_out.replace("%{http_code}", str(code)), end="")
    return 0


def secret_reader(argv: list[str]) -> int:
    """`python3 -c <read a secret> NAME` in the webhook step: Secret Manager, as the deployer. Any other
    `python3` is the real one."""
    code = argv[argv.index("-c") + 1] if "-c" in argv else ""
    if "secretmanager" not in code:
        os.execv(sys.executable, [sys.executable, *argv])  # noqa: S606 - the real python3, as asked
    name, state = argv[-1], load_state()
    try:
        check_api(state, ["secrets"])
        check_permission(state, ["secrets", "describe", name])  # get_secret: is it there?
        if ["secrets", name] not in state["resources"]:
            return 0  # NotFound: nothing
        check_permission(state, ["secrets", "versions", "access", name])
    except Refused as refusal:
        print(f"PermissionDenied: {refusal}", file=sys.stderr)
        return 1
    print(state["secret_values"].get(name, ""))
    return 0


def flask(argv: list[str]) -> int:
    """`flask --app app setup telegram|messenger`: the platform's answer, and what the command was given."""
    platform, state = argv[-1], load_state()
    token = {"telegram": "TELEGRAM_BOT_TOKEN", "messenger": "FB_PAGE_ACCESS_TOKEN"}[platform]
    secret = {"telegram": "telegram-bot-token", "messenger": "fb-page-access-token"}[platform]
    if platform in state.get("platform_refuses", []):
        print(f"Error: {platform.capitalize()} refused: 401 Unauthorized", file=sys.stderr)
        return 1
    state.setdefault("webhooks", {})[platform] = {
        "public_url": os.environ.get("PUBLIC_URL", ""),
        "token_is_the_secret": os.environ.get(token) == state["secret_values"].get(secret),
    }
    save_state(state)
    print("changed: nothing, already up to date")
    return 0


if __name__ == "__main__":
    role = os.environ.get("FAKE_AS") or os.path.basename(sys.argv[0])
    tools = {"curl": curl, "python3": secret_reader, "flask": flask}
    sys.exit(tools.get(role, main)(sys.argv[1:]))
