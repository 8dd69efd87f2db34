#!/usr/bin/env python3
"""A stand-in for `gcloud` on PATH: records every call and keeps a little world of resources.

FAKE_GCLOUD_LOG: a file that gets one JSON line per call (args and whether stdin had data).
FAKE_GCLOUD_STATE: a JSON file of what exists (resources, enabled services, IAM bindings).
Describe-style calls exit 1 for what does not exist; create-style calls make it exist.
"""

import json
import os
import sys

MUTATING = ("create", "enable", "add-iam-policy-binding", "update")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--project=") and a != "--quiet"]
    flags = {a.split("=", 1)[0]: (a.split("=", 1)[1] if "=" in a else "") for a in args if a.startswith("--")}
    words = [a for a in args if not a.startswith("--")]
    state_path = os.environ["FAKE_GCLOUD_STATE"]
    state = {"resources": [], "services": [], "iam": []}
    if os.path.exists(state_path):
        with open(state_path) as handle:
            state = json.load(handle)
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
        log.write(
            json.dumps({"args": args, "stdin_bytes": len(stdin), "mutating": any(w in MUTATING for w in words)}) + "\n"
        )

    def save():
        with open(state_path, "w") as handle:
            json.dump(state, handle)

    if words[:2] == ["services", "list"]:
        print("\n".join(state["services"]))
        return 0
    if words[:2] == ["services", "enable"]:
        state["services"] += words[2:]
        save()
        return 0
    if words[:2] == ["projects", "describe"]:
        print("123456789012")
        return 0
    if "get-iam-policy" in words:
        resource = " ".join(words[: words.index("get-iam-policy")] + words[words.index("get-iam-policy") + 1 :])
        role = flags.get("--filter", "").removeprefix("bindings.role=")
        print("\n".join(m for r, ro, m in state["iam"] if r == resource and ro == role))
        return 0
    if "add-iam-policy-binding" in words:
        i = words.index("add-iam-policy-binding")
        state["iam"].append([" ".join(words[:i] + words[i + 1 :]), flags["--role"], flags["--member"]])
        save()
        return 0
    if words[:4] == ["firestore", "fields", "ttls", "list"]:
        if ["ttl", flags["--collection-group"]] in state["resources"]:
            print("ACTIVE")
        return 0
    if words[:4] == ["firestore", "fields", "ttls", "update"]:
        state["resources"].append(["ttl", flags["--collection-group"]])
        save()
        return 0
    # describe / create for everything else: the resource is the group words plus the name.
    for verb in ("describe", "create"):
        if verb in words:
            i = words.index(verb)
            group = " ".join(words[:i])
            rest = [w for w in words[i + 1 :] if w not in ("github", "http")]
            name = rest[0] if rest else flags.get("--name") or flags.get("--database", "")
            if group == "iam service-accounts" and verb == "create":
                name = f"{name}@{os.environ.get('FAKE_GCLOUD_PROJECT', 'demo')}.iam.gserviceaccount.com"
            if verb == "create" and group == "secrets":
                state.setdefault("secret_values", {})[name] = stdin
            if verb == "describe":
                return 0 if [group, name] in state["resources"] else 1
            state["resources"].append([group, name])
            save()
            return 0
    print(f"fake gcloud: unknown command {args}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
