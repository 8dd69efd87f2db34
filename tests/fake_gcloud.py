#!/usr/bin/env python3
"""A stand-in for `gcloud` (and, as `curl`, for the deployed service) that keeps a little world.

FAKE_GCLOUD_LOG: a file that gets one JSON line per call (args, account, stdin size).
FAKE_GCLOUD_STATE: a JSON file of what exists: resources, enabled services, IAM bindings,
secrets, and Cloud Run services with their revisions and traffic.
FAKE_GCLOUD_ACCOUNT: "owner" (may do anything; the person running the bootstrap) or a service
account email, whose every call is checked against the roles the state grants it.

The rules it models are the ones a first deploy trips on: describe exits 1 with NOT_FOUND for
what is missing; Cloud Run refuses --no-traffic when creating a service; a service exists only
after its first deploy; tags, traffic and rollbacks; a revision gets only the secrets its runtime
account may read; and each permission comes from a role, as Google's documentation lists them.
"""

import json
import os
import sys

MUTATING = ("create", "enable", "add-iam-policy-binding", "update", "deploy", "update-traffic", "set-cleanup-policies")
PROJECT_NUMBER = "123456789012"

# The permissions a role carries, of those the pipeline's calls need (per Google's role reference).
ROLE_PERMISSIONS = {
    "roles/run.admin": {"run.services.list", "run.services.get", "run.services.create", "run.services.update",
                        "run.services.setIamPolicy", "run.revisions.list"},
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
    state = {"resources": [], "services": [], "iam": [], "secret_values": {}, "run": {}, "broken_images": []}
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


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--project=") and a != "--quiet"]
    flags = {a.split("=", 1)[0]: (a.split("=", 1)[1] if "=" in a else "") for a in args if a.startswith("--")}
    words = [a for a in args if not a.startswith("--")]
    state = load_state()
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
        entry = {"args": args, "stdin_bytes": len(stdin), "mutating": any(w in MUTATING for w in words),
                 "account": os.environ.get("FAKE_GCLOUD_ACCOUNT", "owner")}  # fmt: skip
        log.write(json.dumps(entry) + "\n")
    try:
        if state.get("refuse") and " ".join(words).startswith(state["refuse"]):
            raise Refused("ERROR: (gcloud) PERMISSION_DENIED: the caller does not have permission")
        check_permission(state, words)
        if words[0] == "run":
            return run_command(state, words, flags)
        if words[0] == "secrets" and words[1:2] in (["list"], ["versions"]):
            return secrets_command(state, words)
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
    if "get-iam-policy" in words:
        i = words.index("get-iam-policy")
        resource = " ".join(words[:i] + words[i + 1 :])
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
    if words[:3] == ["billing", "budgets", "list"]:
        name = flags.get("--filter", "").removeprefix("displayName=")
        print("\n".join(f"budgets/{n}" for g, n in state["resources"] if g == "billing budgets" and n == name))
        return 0
    if words[:3] == ["billing", "budgets", "create"]:
        state["resources"].append(["billing budgets", flags["--display-name"]])
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
    name = words[3] if words[1] == "services" else flags.get("--service", "")
    if name not in services:
        raise Refused(f"ERROR: (gcloud.run) Cannot find service [{name}] (NOT_FOUND)")
    service = services[name]
    if words[:3] == ["run", "services", "describe"]:
        traffic = [t | ({"url": tag_url(name, t["tag"])} if t.get("tag") else {}) for t in service["traffic"]]
        print(
            json.dumps({"metadata": {"name": name}, "status": {"url": f"https://{name}.run.app", "traffic": traffic}})
        )
        return 0
    if words[:3] == ["run", "revisions", "list"]:
        print("\n".join(r["name"] for r in reversed(service["revisions"])))
        return 0
    if words[:3] == ["run", "services", "update-traffic"]:
        update_traffic(service, flags)
        save_state(state)
        return 0
    raise Refused(f"fake gcloud: unknown run command {words}")


def deploy(state: dict, name: str, flags: dict) -> int:
    services = state["run"]
    if "--no-traffic" in flags and name not in services:
        raise Refused("ERROR: (gcloud.run.deploy) --no-traffic not supported when creating a new service.")
    service = services.setdefault(name, {"revisions": [], "traffic": []})
    revision = f"{name}-{len(service['revisions']) + 1:05d}-abc"
    runtime = flags.get("--service-account", "")
    secrets = {}
    for pair in filter(None, flags.get("--set-secrets", "").split(",")):
        variable, reference = pair.split("=", 1)
        secret = reference.split(":", 1)[0]
        if [f"secrets {secret}", "roles/secretmanager.secretAccessor", f"serviceAccount:{runtime}"] in state["iam"]:
            secrets[variable] = secret  # the runtime may read it: the revision has it
    service["revisions"].append({"name": revision, "image": flags["--image"], "secrets": secrets})
    entry = {"revisionName": revision, "percent": 0}
    if flags.get("--tag"):
        entry["tag"] = flags["--tag"]
    if "--no-traffic" not in flags:
        for t in service["traffic"]:
            t["percent"] = 0
        entry["percent"] = 100
    service["traffic"] = [t for t in service["traffic"] if t.get("tag")] + [entry]
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


def curl(argv: list[str]) -> int:
    """`curl -fsS URL`: the deployed revision behind a tag URL answers /health from its secrets."""
    url = next(a for a in argv if a.startswith("https://"))
    state = load_state()
    for name, service in state["run"].items():
        for t in service["traffic"]:
            if t.get("tag") and url.startswith(tag_url(name, t["tag"])):
                revision = next(r for r in service["revisions"] if r["name"] == t["revisionName"])
                if revision["image"] in state["broken_images"]:
                    print("curl: (22) The requested URL returned error: 500", file=sys.stderr)
                    return 22
                channels = [c for c, needs in CHANNEL_SECRETS.items() if needs <= set(revision["secrets"])]
                print(json.dumps({"status": "ok", "channels": channels}))
                return 0
    print("curl: (22) The requested URL returned error: 404", file=sys.stderr)
    return 22


if __name__ == "__main__":
    if os.path.basename(sys.argv[0]) == "curl" or os.environ.get("FAKE_AS") == "curl":
        sys.exit(curl(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
