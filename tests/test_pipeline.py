"""`git push` deploys a working bot the first time and every time after: the bootstrap and the
pipeline's steps, run as Cloud Build would run them (its substitution rules applied, the trigger's
substitutions included), under a fake `gcloud` that keeps state and enforces the rules a real first
deploy trips on (tests/fake_gcloud.py). The fake is for behaviour; the grammar is the installed
SDK's: every gcloud call made (and every command a dry run prints, and every one docs/deploy.md
shows) is run through the SDK's own parser, offline (tests/gcloud_sdk.py), and cloudbuild.yaml is
loaded with the SDK's own build-config loader."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import gcloud_sdk
import pytest
import yaml
from conftest import ROOT, require

BUILD = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
PROJECT = "demo-proj"
DEPLOYER = f"mentor-bot-deployer@{PROJECT}.iam.gserviceaccount.com"
TRIGGER = "mentor-bot-deploy"
BUILTIN = {"PROJECT_ID", "PROJECT_NUMBER", "COMMIT_SHA", "SHORT_SHA", "BUILD_ID", "LOCATION", "REPO_NAME",
           "BRANCH_NAME", "TAG_NAME", "REVISION_ID", "TRIGGER_NAME"}  # fmt: skip
# The steps run here: all but the test step and docker's (the image itself is test_deploy.py's).
SIMULATED = ["from-the-trigger", "deploy", "smoke", "promote", "drop-old-tags", "set-webhooks"]


def substitute(text: str, values: dict[str, str]) -> str:
    """Cloud Build's rules: $NAME and ${NAME} are substitutions (an unknown one fails the build), $$ is $."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        if name not in values:
            raise AssertionError(f"Cloud Build would refuse ${name}: not a substitution")
        return values[name]

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", one, text)


def substitutions(sha: str, trigger: dict[str, str] | None = None) -> dict[str, str]:
    """The build's values: built-ins (empty commit for a manual submit), the file's defaults, the trigger's."""
    values = {"PROJECT_ID": PROJECT, "PROJECT_NUMBER": "123456789012", "COMMIT_SHA": sha, "SHORT_SHA": sha[:7],
              "BUILD_ID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}  # fmt: skip
    defaults = {name: str(value) for name, value in BUILD["substitutions"].items()} | (trigger or {})
    for name, value in defaults.items():  # dynamicSubstitutions: values expand too
        values[name] = substitute(value, values)
    return values


_PREPARED: dict[str, str] = {}  # the state of a project the bootstrap has prepared, made once


class World:
    """A project on the fake: the bootstrap, pushes, and what gcloud was asked."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        bin_dir, hooks = tmp / "bin", tmp / "hooks"
        for folder, tools in ((bin_dir, ("gcloud", "curl")), (hooks, ("python3", "flask"))):
            folder.mkdir()
            for tool in tools:
                (folder / tool).write_text(
                    f'#!/bin/sh\nFAKE_AS={tool} exec {sys.executable} -S {ROOT / "tests" / "fake_gcloud.py"} "$@"\n'
                )
                (folder / tool).chmod(0o755)
        (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")  # the smoke test's waits between tries
        (bin_dir / "sleep").chmod(0o755)
        self.hooks = hooks  # Secret Manager and the platforms, for the webhook step only
        self.sdk_root = tmp / "sdk"  # what `gcloud info` names: an SDK with the alpha and beta commands
        for track in ("alpha", "beta"):
            (self.sdk_root / "lib" / "surface" / track).mkdir(parents=True)
            (self.sdk_root / "lib" / "surface" / track / "__init__.py").write_text("")
        self.state_path = tmp / "state.json"
        self.log = tmp / "calls.jsonl"
        self.env = os.environ | {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_GCLOUD_LOG": str(self.log),
            "FAKE_GCLOUD_STATE": str(self.state_path),
            "FAKE_GCLOUD_PROJECT": PROJECT,
            "FAKE_GCLOUD_SDK_ROOT": str(self.sdk_root),
            "FB_PAGE_ACCESS_TOKEN": "EAAG-secret-page-token",
            "FB_APP_SECRET": "app-secret-value-xyz",
            "TELEGRAM_BOT_TOKEN": "999:telegram-secret-token-value",
            "BOOTSTRAP_WAIT_SECONDS": "0",
            "TMPDIR": str(tmp),
        }
        for name in ("ALERT_EMAIL", "BUDGET", "BUDGET_USD", "PUBLIC_ACCESS", "GOOGLE_CLOUD_PROJECT", "WEB_CHAT_TOKEN"):
            self.env.pop(name, None)
        # A brand-new project: no API on, nothing made; the repository is linked to Cloud Build.
        self.state_path.write_text(json.dumps({"resources": [["builds repositories", "bot"]]}))

    @property
    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def edit(self, change) -> None:
        state = self.state
        change(state)
        self.state_path.write_text(json.dumps(state))

    def calls(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def bootstrap(self, *args: str, typed: str | None = None) -> subprocess.CompletedProcess:
        """The bootstrap with no terminal, or (``typed``) from a terminal where that is typed."""
        command = ["bash", str(ROOT / "deploy" / "bootstrap.sh"), "--project", PROJECT,
                   "--connection", "github", "--repository", "bot", *args]  # fmt: skip
        env = self.env | {"FAKE_GCLOUD_ACCOUNT": "owner"}
        if typed is None:
            return subprocess.run(
                command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
            )
        keyboard, terminal = pty.openpty()
        try:
            os.write(keyboard, typed.encode())  # typed ahead: the terminal keeps it until it is read
            return subprocess.run(command, env=env, capture_output=True, text=True, stdin=terminal, timeout=120)
        finally:
            os.close(keyboard)
            os.close(terminal)

    def bootstrapped(self) -> None:
        """A project the bootstrap has prepared with the default settings: run once, then copied."""
        if not _PREPARED:
            result = self.bootstrap()
            assert result.returncode == 0, result.stderr
            _PREPARED["state"] = self.state_path.read_text()
            self.log.unlink()
        self.state_path.write_text(_PREPARED["state"])

    def step(self, step_id: str, sha: str, workspace: Path) -> subprocess.CompletedProcess:
        """One step of the build for commit ``sha``, as the deployer, with the trigger's substitutions
        (in the step's arguments and its `env:`, as Cloud Build applies them)."""
        trigger = self.state.get("triggers", {}).get(TRIGGER, {}).get("substitutions", {})
        values = substitutions(sha, trigger)
        step = next(s for s in BUILD["steps"] if s["id"] == step_id)
        args = [substitute(str(a), values) for a in step["args"]]
        command = ["bash", *args] if step.get("entrypoint") == "bash" else [step.get("entrypoint", "gcloud"), *args]
        env = self.env | {"FAKE_GCLOUD_ACCOUNT": DEPLOYER}
        env |= dict(substitute(e, values).split("=", 1) for e in step.get("env", []))
        if step_id == "set-webhooks":
            env["PATH"] = f"{self.hooks}:{env['PATH']}"
        return subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=60)

    def push(self, sha: str) -> tuple[str, str]:
        """The pipeline's steps for commit ``sha``; (the step that failed or "", output)."""
        workspace = self.tmp / f"workspace-{sha[:7] or 'none'}"
        workspace.mkdir()
        output = ""
        for step_id in SIMULATED:
            done = self.step(step_id, sha, workspace)
            output += done.stdout + done.stderr
            if done.returncode != 0:
                return step_id, output
        return "", output

    def service(self) -> dict:
        return self.state["run"]["mentor-bot"]

    def live(self) -> dict:
        """The revision with all the traffic."""
        service = self.service()
        name = next(t["revisionName"] for t in service["traffic"] if t["percent"] == 100)
        return next(r for r in service["revisions"] if r["name"] == name)


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def image(sha: str) -> str:
    return f"us-central1-docker.pkg.dev/{PROJECT}/chatbot/mentor-bot:{sha}"


def channels(revision: dict) -> set[str]:
    names = set(revision["secrets"])
    needs = {
        "messenger": {"FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN"},
        "telegram": {"TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"},
    }
    return {channel for channel, secrets in needs.items() if secrets <= names}


def mutations(calls: list[dict]) -> list[str]:
    return [" ".join(c["args"]) for c in calls if c["mutating"]]


PLANNED = re.compile(r"^would (?:ask for [A-Z_]+ \(.*?\) and )?run: gcloud (.*)$")


def planned(output: str) -> list[list[str]]:
    """The commands a dry run prints, as argv: as the script runs them, --project and --quiet first."""
    return [shlex.split(found.group(1)) for line in output.splitlines() if (found := PLANNED.match(line))]


def local(argv: list[str]) -> list[str]:
    """A command without gcloud's global flags (as the fake logs ``args``)."""
    return [a for a in argv if not a.startswith("--project=") and a != "--quiet"]


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


# ---------------------------------------------------------------- a brand-new project


def test_new_project_bootstrap_first_push_second_push(world):
    result = world.bootstrap()
    assert result.returncode == 0, result.stderr
    failed, output = world.push("a" * 40)
    assert failed == "", output
    assert "first deploy: the new service takes traffic directly" in output
    assert world.live()["image"] == image("a" * 40) and channels(world.live()) == {"messenger", "telegram"}
    assert "smoke test passed: channels on: messenger, telegram" in output

    failed, output = world.push("b" * 40)
    assert failed == "", output
    deploys = [c["args"] for c in world.calls() if c["args"][:2] == ["run", "deploy"]]
    assert "--no-traffic" not in deploys[0] and "--no-traffic" in deploys[1]
    assert world.live()["image"] == image("b" * 40) and channels(world.live()) == {"messenger", "telegram"}
    # Secrets are pinned to a version, and only the three set-webhooks uses are readable by the deployer.
    assert all(":latest" not in a for d in deploys for a in d)
    readable = {r.removeprefix("secrets ") for r, role, m in world.state["iam"]
                if m == f"serviceAccount:{DEPLOYER}" and role == "roles/secretmanager.secretAccessor"}  # fmt: skip
    assert readable == {"fb-page-access-token", "telegram-bot-token", "telegram-secret-token"}
    # The webhook step got the real tokens, and the service's own URL.
    url = "https://mentor-bot-123456789012.us-central1.run.app"
    assert world.state["webhooks"] == {"telegram": {"public_url": url, "token_is_the_secret": True},
                                       "messenger": {"public_url": url, "token_is_the_secret": True}}  # fmt: skip


def test_the_deploy_passes_the_secrets_as_one_flag_and_nothing_else(world):
    """The bug every push met: the secret list was passed a second time, as a stray argument."""
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    deploy = next(c["args"] for c in world.calls() if c["args"][:2] == ["run", "deploy"])
    assert [a for a in deploy[3:] if not a.startswith("--")] == []
    assert len([a for a in deploy if a.startswith("--set-secrets=")]) == 1 and "--clear-secrets" not in deploy


def test_a_project_without_secrets_clears_them(world):
    for name in ("FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "TELEGRAM_BOT_TOKEN"):
        world.env.pop(name)
    assert world.bootstrap().returncode == 0
    world.edit(lambda s: s.update(resources=[r for r in s["resources"] if r[0] != "secrets"]))
    failed, output = world.push("a" * 40)
    assert failed == "", output
    deploy = next(c["args"] for c in world.calls() if c["args"][:2] == ["run", "deploy"])
    assert "--clear-secrets" in deploy and not any(a.startswith("--set-secrets") for a in deploy)


def test_the_old_pipeline_fails_a_new_project_the_way_the_sdk_does(world):
    """What the first push met before: --no-traffic on a service that does not exist yet."""
    world.bootstrapped()
    old = "gcloud run deploy mentor-bot --image=x --region=us-central1 --no-traffic --tag=c-1"
    done = subprocess.run(["bash", "-c", old], env=world.env | {"FAKE_GCLOUD_ACCOUNT": DEPLOYER},
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1 and "--no-traffic not supported when creating a new service" in done.stderr


def test_a_failed_smoke_test_leaves_traffic_where_it_was_then_a_rollback(world):
    world.bootstrapped()
    for sha in ("a" * 40, "b" * 40):
        assert world.push(sha)[0] == ""
    world.edit(lambda s: s["broken_images"].append(image("c" * 40)))
    failed, output = world.push("c" * 40)
    assert failed == "smoke"
    assert "smoke test failed: https://c-ccccccc---mentor-bot" in output and "answered 500 after 5 tries" in output
    assert "gcloud run services logs read mentor-bot --region=us-central1" in last_line(output)
    assert world.live()["image"] == image("b" * 40)  # the broken revision never took traffic
    # Rollback, as docs/deploy.md says: traffic back to an earlier revision by its tag.
    first = next(t for t in world.service()["traffic"] if t.get("tag") == "c-aaaaaaa")
    rollback = "gcloud run services update-traffic mentor-bot --region=us-central1 --to-tags=c-aaaaaaa=100"
    back = subprocess.run(
        ["bash", "-c", rollback], env=world.env | {"FAKE_GCLOUD_ACCOUNT": "owner"}, capture_output=True, text=True
    )
    assert back.returncode == 0 and world.live()["name"] == first["revisionName"]


def test_a_deploy_that_would_leave_a_configured_channel_off_fails_loudly(world):
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    # The runtime account loses access to one secret: its new revision would run without Telegram.
    runtime = f"serviceAccount:mentor-bot-runtime@{PROJECT}.iam.gserviceaccount.com"
    world.edit(lambda s: s["iam"].remove(["secrets telegram-bot-token", "roles/secretmanager.secretAccessor", runtime]))
    failed, output = world.push("b" * 40)
    assert failed == "smoke" and "configured but off: ['telegram']" in output
    assert world.live()["image"] == image("a" * 40)


def test_old_tags_are_dropped_keeping_the_newest_for_rollback(world):
    world.bootstrapped()
    for n in range(5):
        assert world.push(str(n) * 40)[0] == ""
    tags = sorted(t["tag"] for t in world.service()["traffic"] if t.get("tag"))
    assert tags == ["c-2222222", "c-3333333", "c-4444444"]


def test_two_pushes_close_together_leave_the_newer_revision_serving(world):
    """A is deployed and smoke-tested, then B goes all the way, then A's promote runs: it must not take the
    traffic back to the older revision. The revisions' creation times decide, not the order of promotes."""
    world.bootstrapped()
    assert world.push("0" * 40)[0] == ""  # mentor-bot-00001-abc: the service exists
    a, b = "a" * 40, "b" * 40
    build_a = world.tmp / "build-a"
    build_a.mkdir()
    for step_id in ("from-the-trigger", "deploy", "smoke"):  # mentor-bot-00002-abc
        assert world.step(step_id, a, build_a).returncode == 0
    assert world.push(b)[0] == ""  # mentor-bot-00003-abc, all the way
    output = ""
    for step_id in ("promote", "drop-old-tags", "set-webhooks"):  # A's build goes on
        done = world.step(step_id, a, build_a)
        output += done.stdout + done.stderr
        assert done.returncode == 0, output
    assert world.live()["image"] == image(b)
    said = r"promote: c-aaaaaaa \(mentor-bot-00002-abc, made 2026-\S+\) is older than mentor-bot-00003-abc \(made 2026-"
    assert re.search(said + r"\S+\), which serves already: a later push got there first", output), output
    assert "set-webhooks: skipped: a newer revision serves already" in output
    # After a rollback to an older revision, the next push moves the traffic forward as usual.
    rollback = "gcloud run services update-traffic mentor-bot --region=us-central1 --to-tags=c-0000000=100"
    back = subprocess.run(["bash", "-c", rollback], env=world.env | {"FAKE_GCLOUD_ACCOUNT": "owner"})
    assert back.returncode == 0 and world.live()["image"] == image("0" * 40)
    assert world.push("c" * 40)[0] == "" and world.live()["image"] == image("c" * 40)


# ---------------------------------------------------------------- every failure stops the build, in its own words


def test_a_manual_submit_is_refused_in_one_line_that_says_to_use_the_trigger(world):
    world.bootstrapped()
    failed, output = world.push("")  # gcloud builds submit: COMMIT_SHA and SHORT_SHA are empty
    assert failed == "from-the-trigger"
    assert output.strip().count("\n") == 0 and "make deploy" in output and "git push" in output
    assert world.calls() == [] and "mentor-bot" not in world.state["run"]


# A valid Docker reference (registry/path:tag), as a step's `name` must be for Cloud Build to take the build.
DOCKER_REFERENCE = re.compile(
    r"(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)


def test_a_manual_submit_names_every_steps_image_well_so_that_the_refusal_is_what_stops_it():
    """With COMMIT_SHA empty, a step image named `...:${COMMIT_SHA}` ends in `:`: Cloud Build may refuse the
    build before its first step, and the one-line refusal would never show."""
    values = substitutions("")
    for step in BUILD["steps"]:
        assert DOCKER_REFERENCE.fullmatch(substitute(step["name"], values)), (step["id"], step["name"])
    # The webhook step runs in this build's own image: the build step gives it that name.
    set_webhooks = next(s for s in BUILD["steps"] if s["id"] == "set-webhooks")["name"]
    build = next(s for s in BUILD["steps"] if s["id"] == "build")["args"][-1]
    assert set_webhooks == "this-build:${BUILD_ID}" and '-t "this-build:$$BUILD_ID"' in build
    assert "BUILD_ID=${BUILD_ID}" in next(s for s in BUILD["steps"] if s["id"] == "build")["env"]


def test_a_deployer_that_cannot_see_secrets_stops_the_build_instead_of_dropping_them(world):
    world.bootstrapped()
    viewer = [f"projects {PROJECT}", "roles/secretmanager.viewer", f"serviceAccount:{DEPLOYER}"]
    world.edit(lambda s: s["iam"].remove(viewer))
    failed, output = world.push("a" * 40)
    assert failed == "deploy" and "PERMISSION_DENIED" in output
    assert last_line(output).startswith("deploy: cannot list the project's secrets")
    assert "mentor-bot" not in world.state["run"]


def test_a_refused_service_lookup_stops_the_deploy_instead_of_reading_as_a_first_deploy(world):
    """`if [ -n "$(gcloud ...)" ]` hides the failure: an existing service would take traffic untested."""
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    world.edit(lambda s: s.update(refuse="run services list"))
    failed, output = world.push("b" * 40)
    assert failed == "deploy" and last_line(output).startswith("deploy: cannot list the Cloud Run services")
    assert world.live()["image"] == image("a" * 40)


@pytest.mark.parametrize("refused", ["run services update-traffic"])
def test_promote_says_the_old_revision_still_serves(world, refused):
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    world.edit(lambda s: s.update(refuse=refused))
    failed, output = world.push("b" * 40)
    assert failed == "promote" and "the previous revision still serves" in last_line(output)
    assert world.live()["image"] == image("a" * 40)


def test_drop_old_tags_says_what_failed(world):
    world.bootstrapped()
    for n in range(3):
        assert world.push(str(n) * 40)[0] == ""
    workspace = world.tmp / "fourth"
    workspace.mkdir()
    for step_id in ("deploy", "smoke", "promote"):
        assert world.step(step_id, "3" * 40, workspace).returncode == 0
    world.edit(lambda s: s.update(refuse="run services update-traffic"))
    done = world.step("drop-old-tags", "3" * 40, workspace)
    assert done.returncode == 1 and last_line(done.stderr).startswith("drop-old-tags: removing the tags c-0000000")


@pytest.mark.parametrize(
    ("step_id", "answer", "says"),
    [("smoke", "Listed 0 items.", "smoke test failed: could not read the tag's URL"),
     ("promote", '{"metadata": {"name": "mentor-bot"}}', "promote: could not compare the revisions"),
     ("drop-old-tags", '{"status": {"traffic": "none"}}', "drop-old-tags: could not read the tags")],
)  # fmt: skip
def test_a_service_description_a_step_cannot_read_stops_it_in_one_line(world, step_id, answer, says):
    """Not a traceback: the step's name, and what to check."""
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    workspace = world.tmp / "b"
    workspace.mkdir()
    assert world.step("deploy", "b" * 40, workspace).returncode == 0
    world.edit(lambda s: s.update(describe_says=answer))  # what `gcloud run services describe` answers now
    done = world.step(step_id, "b" * 40, workspace)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert last_line(done.stderr).startswith(says) and "mentor-bot" in last_line(done.stderr), done.stderr


def test_a_refused_image_push_says_what_to_check(world, tmp_path):
    docker = tmp_path / "docker-bin"
    docker.mkdir()
    (docker / "docker").write_text(
        '#!/bin/sh\necho "denied: Permission denied on resource (or it may not exist)." >&2\nexit 1\n'
    )
    (docker / "docker").chmod(0o755)
    world.env["PATH"] = f"{docker}:{world.env['PATH']}"
    workspace = world.tmp / "push"
    workspace.mkdir()
    done = world.step("push", "a" * 40, workspace)
    assert done.returncode == 1 and "denied" in done.stderr
    assert last_line(done.stderr).startswith(f"push: pushing {image('')[:-1]} failed (above)")
    assert "roles/artifactregistry.writer" in last_line(done.stderr)


def test_the_webhook_step_fails_the_build_when_telegram_refuses(world):
    """`flask ... >/dev/null && echo` under set -e: a failure on the left of && never stopped the step."""
    world.bootstrapped()
    world.edit(lambda s: s.update(platform_refuses=["telegram"]))
    failed, output = world.push("a" * 40)
    assert failed == "set-webhooks"
    assert "Telegram refused: 401 Unauthorized" in output and "telegram: up to date" not in output
    assert last_line(output).startswith("set-webhooks: Telegram's webhook and commands were not set")


def test_the_webhook_step_fails_the_build_when_messenger_refuses(world):
    world.bootstrapped()
    world.edit(lambda s: s.update(platform_refuses=["messenger"]))
    failed, output = world.push("a" * 40)
    assert failed == "set-webhooks" and last_line(output).startswith("set-webhooks: the Messenger profile was not set")


def test_the_webhook_step_stops_when_it_cannot_read_a_secret(world):
    """`export X="$(read)"` hid a refused read behind export's success: the webhook was silently skipped."""
    world.bootstrapped()
    reader = ["secrets telegram-bot-token", "roles/secretmanager.secretAccessor", f"serviceAccount:{DEPLOYER}"]
    world.edit(lambda s: s["iam"].remove(reader))
    failed, output = world.push("a" * 40)
    assert failed == "set-webhooks" and "PERMISSION_DENIED" in output
    assert last_line(output) == "set-webhooks: cannot read the secret telegram-bot-token (above)"


# ---------------------------------------------------------------- an organisation that forbids allUsers


def test_an_organisation_that_forbids_all_users_gets_a_public_service_without_the_invoker_check(world):
    world.edit(lambda s: s.update(org_forbids_all_users=True))
    result = world.bootstrap()
    assert result.returncode == 0, result.stderr
    assert "forbids allUsers: deploys use --no-invoker-iam-check" in result.stdout
    assert world.state["triggers"][TRIGGER]["substitutions"]["_PUBLIC_ACCESS"] == "no-invoker-iam-check"
    failed, output = world.push("a" * 40)
    assert failed == "", output
    deploy = next(c["args"] for c in world.calls() if c["args"][:2] == ["run", "deploy"])
    assert "--no-invoker-iam-check" in deploy and "--allow-unauthenticated" not in deploy


def test_a_deploy_the_organisation_policy_refuses_says_what_to_do(world):
    """The trigger was made before the policy: gcloud deploys, warns, and the platforms would get 403."""
    world.bootstrapped()
    world.edit(lambda s: s.update(org_forbids_all_users=True))
    failed, output = world.push("a" * 40)
    assert failed == "deploy" and "Setting IAM policy failed" in output
    assert "iam.allowedPolicyMemberDomains" in last_line(output) and "_PUBLIC_ACCESS=no-invoker-iam-check" in last_line(
        output
    )
    # Running the bootstrap again, as it says, changes the trigger; the next push goes through.
    again = world.bootstrap()
    assert again.returncode == 0, again.stderr
    assert f"gcloud --project={PROJECT} --quiet builds triggers update github mentor-bot-deploy" in again.stdout
    assert world.push("b" * 40)[0] == ""


def test_a_403_at_the_smoke_test_says_what_to_do(world):
    world.bootstrapped()
    assert world.push("a" * 40)[0] == ""
    world.edit(lambda s: s["run"]["mentor-bot"].update(public=False))  # someone removed the allUsers binding
    world.edit(lambda s: s["triggers"][TRIGGER]["substitutions"].update(_PUBLIC_ACCESS="allow-unauthenticated"))
    world.edit(lambda s: s.update(org_forbids_all_users=True))
    workspace = world.tmp / "smoke"
    workspace.mkdir()
    done = world.step("smoke", "a" * 40, workspace)
    assert done.returncode == 1 and "answered 403" in last_line(done.stderr) and "bootstrap" in last_line(done.stderr)


# ---------------------------------------------------------------- the bootstrap


def test_bootstrap_creates_everything_then_nothing(world):
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    calls = world.calls()
    joined = "\n".join(mutations(calls))
    for api in ("run", "cloudbuild", "artifactregistry", "firestore", "secretmanager", "cloudscheduler", "iam",
                "monitoring"):  # fmt: skip
        assert f"services enable {api}.googleapis.com" in joined
    for expected in (
        "artifacts repositories create chatbot", "artifacts repositories set-cleanup-policies chatbot",
        "firestore databases create", "--type=firestore-native",
        "ttls update expire_at --collection-group=conversations",
        "ttls update expire_at --collection-group=suggestions",
        "firestore indexes fields update packed --collection-group=conversations --disable-indexes",
        "iam service-accounts create mentor-bot-runtime", "iam service-accounts create mentor-bot-deployer",
        "iam service-accounts create mentor-bot-scheduler", "builds triggers create github --name=mentor-bot-deploy",
        f"--repository=projects/{PROJECT}/locations/us-central1/connections/github/repositories/bot",
        "scheduler jobs create http mentor-bot-reminders", "--oidc-service-account-email=mentor-bot-scheduler@",
        "--oidc-token-audience=https://mentor-bot-123456789012.us-central1.run.app/tasks/reminders",
        f"--member=serviceAccount:mentor-bot-runtime@{PROJECT}.iam.gserviceaccount.com --role=roles/datastore.user",
        f"iam service-accounts add-iam-policy-binding mentor-bot-runtime@{PROJECT}.iam.gserviceaccount.com",
        "--role=roles/iam.serviceAccountUser", "--role=roles/run.admin", "--role=roles/artifactregistry.writer",
        "monitoring uptime create mentor-bot /health", "alpha monitoring policies create",
    ):  # fmt: skip
        assert expected in joined, expected
    secrets = {c["args"][2]: c["stdin_bytes"] for c in calls if c["args"][:2] == ["secrets", "create"]}
    assert set(secrets) == {"fb-page-access-token", "fb-app-secret", "fb-verify-token", "telegram-bot-token",
                            "telegram-secret-token", "tasks-token"}  # fmt: skip
    assert all(size > 0 for size in secrets.values())  # values go in on stdin...
    for value in ("EAAG-secret-page-token", "app-secret-value-xyz", "999:telegram-secret-token-value"):
        assert value not in first.stdout + first.stderr + json.dumps(calls)  # ...never echoed or passed as args
    granted = sorted({a.split("=", 1)[1] for c in calls if c["args"][0] == "projects" for a in c["args"]
                      if a.startswith("--role=")})  # fmt: skip
    assert granted == [
        "roles/datastore.user",
        "roles/logging.logWriter",
        "roles/run.admin",
        "roles/secretmanager.viewer",
    ]
    assert world.state["triggers"][TRIGGER]["substitutions"]["_PUBLIC_ACCESS"] == "allow-unauthenticated"

    second = world.bootstrap()
    assert second.returncode == 0, second.stderr
    assert mutations(world.calls()[len(calls) :]) == [] and "done: 0 change(s) made" in second.stdout


def test_dry_run_on_a_brand_new_project_exits_0_and_prints_the_whole_plan(world):
    world.env |= {"ALERT_EMAIL": "owner@example.com", "BUDGET": "5"}
    dry = world.bootstrap("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert mutations(world.calls()) == []
    plan = [" ".join(local(argv)) for argv in planned(dry.stdout)]
    # Each line as the script runs it: pasted, it acts on this project and no other.
    assert all(argv[:2] == [f"--project={PROJECT}", "--quiet"] for argv in planned(dry.stdout))
    # The plan is what a real run does, in the same order, placeholders aside.
    assert world.bootstrap().returncode == 0
    done = mutations(world.calls())
    # notificationChannels/7: what the fake names the new channel, NEW in the plan.
    expected = [re.sub(r"=\S+\.json", "=FILE", d.replace("notificationChannels/7", "notificationChannels/NEW"))
                for d in done if not d.startswith("billing budgets create")]  # fmt: skip
    assert [re.sub(r"=\S+\.json", "=FILE", p) for p in plan] == expected
    assert [
        line
        for line in dry.stdout.splitlines()
        if line.startswith(f"would run: gcloud --project={PROJECT} --quiet secrets create")
    ]
    assert "would create the budget mentor-bot-budget of 5 a month" in dry.stdout
    assert "dry run: " in dry.stdout and "waiting" not in dry.stdout + dry.stderr


def test_a_dry_run_from_a_terminal_plans_the_secrets_it_would_ask_for(world):
    """From a terminal the real run asks for the tokens it was not given: its dry run plans them (with their
    roles), so that the plan is what the real run does with the values typed."""
    for name in ("FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "TELEGRAM_BOT_TOKEN"):
        del world.env[name]
    dry = world.bootstrap("--dry-run", typed="")
    assert dry.returncode == 0, dry.stderr
    asked = [line.split()[3] for line in dry.stdout.splitlines() if line.startswith("would ask for ")]
    assert asked == ["FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "TELEGRAM_BOT_TOKEN"]
    assert mutations(world.calls()) == []
    real = world.bootstrap(typed="EAAG-typed-page-token\ntyped-app-secret\n999:typed-bot-token\n")
    assert real.returncode == 0, real.stderr
    assert world.state["secret_values"]["fb-app-secret"] == "typed-app-secret"
    assert "typed-app-secret" not in real.stdout + real.stderr
    done = [re.sub(r"=\S+\.json", "=FILE", d) for d in mutations(world.calls())]
    plan = [re.sub(r"=\S+\.json", "=FILE", " ".join(local(argv))) for argv in planned(dry.stdout)]
    assert plan == done
    assert any(m.startswith("secrets add-iam-policy-binding fb-app-secret") for m in plan)


def test_dry_run_on_a_project_where_the_apis_are_on_but_nothing_exists(world):
    """The second way the old dry run died: get-iam-policy on what it had not made (NOT_FOUND)."""
    world.edit(lambda s: s.update(services=[f"{a}.googleapis.com" for a in (
        "run", "cloudbuild", "artifactregistry", "firestore", "secretmanager", "cloudscheduler", "iam",
        "cloudresourcemanager", "monitoring")]))  # fmt: skip
    dry = world.bootstrap("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would run: gcloud --project={PROJECT} --quiet secrets add-iam-policy-binding fb-verify-token" in dry.stdout
    assert (
        f"would run: gcloud --project={PROJECT} --quiet iam service-accounts add-iam-policy-binding mentor-bot-runtime@"
        in dry.stdout
    )
    assert mutations(world.calls()) == []


def test_dry_run_on_a_complete_project_plans_nothing(world):
    world.bootstrapped()
    dry = world.bootstrap("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 0 change(s) would be made" in dry.stdout and "would run" not in dry.stdout


def test_monitoring_is_made_once_and_the_owners_email_is_added_later(world):
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    assert "set ALERT_EMAIL=you@example.com" in first.stdout
    monitoring = world.state["monitoring"]
    assert [c["host"] for c in monitoring["uptime"]] == ["mentor-bot-123456789012.us-central1.run.app"]
    assert monitoring["uptime"][0]["path"] == "/health"
    policies = {p["displayName"]: p for p in monitoring["policies"]}
    assert set(policies) == {"mentor-bot 5xx share", "mentor-bot p99 latency", "mentor-bot /health failing"}
    errors = policies["mentor-bot 5xx share"]["policy"]["conditions"][0]["conditionThreshold"]
    assert 'metric.type = "run.googleapis.com/request_count"' in errors["denominatorFilter"]
    assert 'metric.labels.response_code_class = "5xx"' in errors["filter"] and errors["thresholdValue"] == 0.01
    assert errors["aggregations"][0]["alignmentPeriod"] == "600s"
    latency = policies["mentor-bot p99 latency"]["policy"]["conditions"][0]["conditionThreshold"]
    assert 'metric.type = "run.googleapis.com/request_latencies"' in latency["filter"]
    assert latency["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_99"
    assert latency["thresholdValue"] == 800
    health = policies["mentor-bot /health failing"]["policy"]["conditions"][0]["conditionThreshold"]
    assert f'check_id = "{monitoring["uptime"][0]["name"].rsplit("/", 1)[1]}"' in health["filter"]
    assert all(p["channels"] == [] for p in policies.values())
    # No service yet, nothing to check: the /health alert is made off, and said so.
    assert [p["enabled"] for p in policies.values()] == [True, True, False]
    assert "run this again after the first push to turn it on" in first.stdout

    world.env["ALERT_EMAIL"] = "owner@example.com"
    calls = len(world.calls())
    second = world.bootstrap()
    assert second.returncode == 0, second.stderr
    made = mutations(world.calls()[calls:])
    assert made[0].startswith("beta monitoring channels create") and "email_address=owner@example.com" in made[0]
    channel = world.state["monitoring"]["channels"][0]["name"]
    assert [m.split()[:3] for m in made[1:]] == [["alpha", "monitoring", "policies"]] * 3
    assert all(p["channels"] == [channel] for p in world.state["monitoring"]["policies"])
    # After the first push, the next run turns the /health alert on; the one after changes nothing.
    assert world.push("a" * 40)[0] == ""
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0
    health = next(p for p in world.state["monitoring"]["policies"] if p["displayName"] == "mentor-bot /health failing")
    assert mutations(world.calls()[calls:]) == [f"alpha monitoring policies update {health['name']} --enabled"]
    assert health["enabled"] is True
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0 and mutations(world.calls()[calls:]) == []
    # A /health alert made for another check (a dry run's line pasted with NEW in its file) could never
    # fire: the next run makes it the policy for the check there is.

    def pasted(state: dict) -> None:
        for policy in state["monitoring"]["policies"]:
            if policy["displayName"] == "mentor-bot /health failing":
                condition = policy["policy"]["conditions"][0]["conditionThreshold"]
                condition["filter"] = condition["filter"].rsplit("check_id", 1)[0] + 'check_id = "NEW"'

    world.edit(pasted)
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0
    made = mutations(world.calls()[calls:])
    assert len(made) == 1
    assert made[0].startswith(f"alpha monitoring policies update {health['name']} --policy-from-file=")
    health = next(p for p in world.state["monitoring"]["policies"] if p["displayName"] == "mentor-bot /health failing")
    check_id = world.state["monitoring"]["uptime"][0]["name"].rsplit("/", 1)[1]
    assert f'check_id = "{check_id}"' in health["policy"]["conditions"][0]["conditionThreshold"]["filter"]


def test_without_the_alpha_commands_the_bootstrap_says_how_to_install_them(world):
    shutil.rmtree(world.sdk_root / "lib" / "surface" / "alpha")
    result = world.bootstrap()
    assert result.returncode == 0, result.stderr
    assert "gcloud components install alpha" in result.stdout and "google-cloud-cli" in result.stdout
    assert world.state["monitoring"]["policies"] == [] and len(world.state["monitoring"]["uptime"]) == 1


def test_web_chat_token_is_created_only_when_given_and_then_passed(world):
    world.env["WEB_CHAT_TOKEN"] = "a-web-chat-token-123"
    assert world.bootstrap().returncode == 0
    assert ["secrets", "web-chat-token"] in world.state["resources"]
    assert world.push("a" * 40)[0] == ""
    assert "WEB_CHAT_TOKEN" in world.live()["secrets"]


def test_a_budget_alert_is_made_once_when_asked_for(world):
    world.env["BUDGET"] = "5"
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    made = [m for m in mutations(world.calls()) if m.startswith("billing budgets create")]
    assert len(made) == 1 and "--budget-amount=5USD" in made[0] and "--threshold-rule=percent=0.9" in made[0]
    assert "--filter-projects=projects/demo-proj" in made[0]
    assert "services enable billingbudgets.googleapis.com" in "\n".join(mutations(world.calls()))
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0
    assert mutations(world.calls()[calls:]) == []


def test_the_budget_is_in_the_billing_accounts_own_currency(world):
    world.env["BUDGET_USD"] = "5"  # the old name still works; the amount is in the account's currency
    world.edit(lambda s: s.update(currency="EUR"))
    assert world.bootstrap().returncode == 0
    assert world.state["budget_amount"] == "5EUR"
    assert ["billing", "accounts", "describe", "0A1B2C-3D4E5F-6A7B8C", "--format=value(currencyCode)"] in [
        c["args"] for c in world.calls()
    ]


BILLING_ON = ["cloudbilling.googleapis.com", "billingbudgets.googleapis.com"]


@pytest.mark.parametrize(
    ("budget", "currency", "amount"),
    [("7.50", "USD", "7.500000000USD"),  # gcloud reads the digits after the dot as nanos: nine of them
     ("5EUR", "EUR", "5EUR"), ("12.5 eur", "EUR", "12.500000000EUR")],
)  # fmt: skip
def test_the_budget_amount_reaches_gcloud_once_in_the_accounts_currency(world, budget, currency, amount):
    world.bootstrapped()
    world.edit(lambda s: s.update(currency=currency, services=s["services"] + BILLING_ON))
    world.env["BUDGET"] = budget
    done = world.bootstrap()
    assert done.returncode == 0, done.stderr
    assert world.state["budget_amount"] == amount


@pytest.mark.parametrize(
    ("budget", "billing_on", "says"),
    [("5,50", True, "is not an amount"), ("1.000,00", True, "is not an amount"), ("5EUREUR", True, "is not an amount"),
     ("0.00", True, "above 0"), ("5EUR", True, "is in USD, not EUR"),
     ("5EUR", False, "cannot be checked while the Cloud Billing API is off")],
)  # fmt: skip
def test_a_budget_that_is_not_a_plain_amount_in_the_accounts_currency_stops_before_any_change(
    world, budget, billing_on, says
):
    if billing_on:
        world.edit(lambda s: s.update(services=BILLING_ON))
    world.env["BUDGET"] = budget
    done = world.bootstrap()
    assert done.returncode == 2 and says in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert f"BUDGET={budget}" in done.stderr or f"BUDGET='{budget}'" in done.stderr
    assert mutations(world.calls()) == []


@pytest.mark.parametrize("service", ["a-service-name-of-21c", "Mentor", "9lives", "bot-", "bot_one", ""])
def test_a_service_name_that_breaks_a_rule_stops_before_any_change(world, service):
    """Over 20 characters, NAME-scheduler would pass the 30 of a service account id, midway through a real run."""
    done = world.bootstrap("--service", service)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--service" in done.stderr, done.stderr
    assert world.calls() == []


def test_the_longest_service_name_makes_every_account_within_its_limit(world):
    dry = world.bootstrap("--dry-run", "--service", "a-service-name-of-20")
    assert dry.returncode == 0, dry.stderr
    plan = [local(argv) for argv in planned(dry.stdout)]
    accounts = [argv[3] for argv in plan if argv[:3] == ["iam", "service-accounts", "create"]]
    assert len(accounts) == 3 and max(map(len, accounts)) == 30


def test_an_option_and_its_value_may_be_joined_by_an_equals_sign(world):
    """As every gcloud line in the docs writes them: --region=europe-west1 is --region europe-west1."""
    dry = world.bootstrap("--dry-run", "--service=a-bot", "--region=europe-west1")
    assert dry.returncode == 0, dry.stderr
    plan = [local(argv) for argv in planned(dry.stdout)]
    assert any(argv[:3] == ["iam", "service-accounts", "create"] and argv[3] == "a-bot-runtime" for argv in plan)
    assert "make deploy PROJECT=" in dry.stdout and "REGION=europe-west1 SERVICE=a-bot" in dry.stdout


def test_help_names_every_option():
    done = subprocess.run(["bash", str(ROOT / "deploy" / "bootstrap.sh"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ("--project", "--region", "--service", "--dry-run", "--connection", "--repository"):
        assert option in done.stdout, option
    assert "20 lowercase letters" in done.stdout and "set -euo" not in done.stdout


def test_a_rerun_with_the_owners_settings_updates_the_trigger_where_they_differ(world):
    """They reach /privacy (which Meta's App Review reads) through the trigger: not only when it is first made."""
    world.bootstrapped()  # made without them
    world.env |= {"OWNER_NAME": "Ana Pérez", "OWNER_CONTACT": "ana@example.com", "RETENTION_DAYS": "200",
                  "FB_APP_ID": "4242"}  # fmt: skip
    before = world.state["iam"]
    rerun = world.bootstrap()
    assert rerun.returncode == 0
    assert mutations(world.calls()) == [
        "builds triggers update github mentor-bot-deploy --region=us-central1 --update-substitutions="
        "^|^_OWNER_NAME=Ana Pérez|_OWNER_CONTACT=ana@example.com|_RETENTION_DAYS=200|_FB_APP_ID=4242"
    ], (before, rerun.stdout[-4000:])  # seen once in CI: a secret's binding made again; what was there
    substitutions = world.state["triggers"][TRIGGER]["substitutions"]
    assert substitutions["_OWNER_NAME"] == "Ana Pérez" and substitutions["_SERVICE"] == "mentor-bot"
    world.env["OWNER_CONTACT"] = "ana@new.example"  # only this one differs now
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0
    assert mutations(world.calls()[calls:]) == [
        "builds triggers update github mentor-bot-deploy --region=us-central1 "
        "--update-substitutions=^|^_OWNER_CONTACT=ana@new.example"
    ]
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0 and mutations(world.calls()[calls:]) == []
    assert world.push("a" * 40)[0] == ""
    assert world.live()["env"]["OWNER_CONTACT"] == "ana@new.example"


def test_owner_settings_with_quotes_and_dollars_reach_the_service_as_typed(world):
    """The trigger's values go to the steps through `env:`, never pasted into a script: a quote stays, a `$`
    or a backtick does not run."""
    name = 'Ana "Bee" O\'Neil $HOME ${PROJECT_ID} $(id) `id` \\ 100%'
    contact = "ana@example.com | +34 600 000 000, weekdays"
    world.env |= {"OWNER_NAME": name, "OWNER_CONTACT": contact}
    assert world.bootstrap().returncode == 0
    failed, output = world.push("a" * 40)
    assert failed == "", output
    env = world.live()["env"]
    assert env["OWNER_NAME"] == name and env["OWNER_CONTACT"] == contact and env["RETENTION_DAYS"] == "400"


def test_bootstrap_stops_on_a_refusal_instead_of_reading_it_as_missing(world):
    world.edit(lambda s: s.update(refuse="artifacts repositories describe"))
    done = world.bootstrap()
    assert done.returncode == 1 and "could not tell whether it exists" in done.stderr


def test_bootstrap_without_a_linked_repository_says_how_to_link_it(world):
    world.edit(lambda s: s.update(resources=[]))
    done = world.bootstrap()
    assert done.returncode == 1 and "Cloud Build > Repositories > 2nd gen" in done.stderr
    dry = world.bootstrap("--dry-run")  # a dry run says it too, and still shows the whole plan
    assert dry.returncode == 0 and "is not linked" in dry.stdout
    assert f"would run: gcloud --project={PROJECT} --quiet builds triggers create" in dry.stdout


def test_bootstrap_takes_gclouds_own_project_or_says_how_to_set_one(world):
    script = str(ROOT / "deploy" / "bootstrap.sh")
    env = world.env | {"FAKE_GCLOUD_ACCOUNT": "owner"}
    none = subprocess.run(["bash", script, "--dry-run"], env=env, capture_output=True, text=True)
    assert none.returncode == 2 and last_line(none.stderr) == (
        "no project: give --project my-project, or run gcloud config set project my-project"
    )
    world.edit(lambda s: s.update(config_project=PROJECT))
    dry = subprocess.run(["bash", script, "--dry-run"], env=env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr


def test_scheduler_job_calls_the_route_with_the_audience_and_account_the_service_expects(world):
    assert world.bootstrap().returncode == 0
    job = next(c["args"] for c in world.calls() if c["args"][:4] == ["scheduler", "jobs", "create", "http"])
    flags = dict(a.split("=", 1) for a in job if a.startswith("--") and "=" in a)
    url = "https://mentor-bot-123456789012.us-central1.run.app"
    assert flags["--uri"] == f"{url}/tasks/reminders" and flags["--oidc-token-audience"] == flags["--uri"]
    assert flags["--oidc-service-account-email"] == f"mentor-bot-scheduler@{PROJECT}.iam.gserviceaccount.com"
    # What the service is told to expect, as the first push deploys it.
    assert world.push("a" * 40)[0] == ""
    env = world.live()["env"]
    assert env["TASKS_AUDIENCE"] == flags["--oidc-token-audience"] and env["PUBLIC_URL"] == url
    assert env["TASKS_INVOKER"] == flags["--oidc-service-account-email"]
    assert env["STORE_URL"] == f"firestore://{PROJECT}/(default)" and env["GOOGLE_CLOUD_PROJECT"] == PROJECT


def test_shell_scripts_are_shellcheck_clean():
    require(bool(shutil.which("shellcheck")), "shellcheck (scripts/system-deps.sh installs it)")
    scripts = [ROOT / "deploy" / "bootstrap.sh", *(ROOT / "scripts").glob("*.sh"), ROOT / ".ci" / "run"]
    result = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_pipelines_shell_steps_are_shellcheck_clean(tmp_path):
    """Each step's script, as Cloud Build hands it to bash (substitutions applied)."""
    require(bool(shutil.which("shellcheck")), "shellcheck (scripts/system-deps.sh installs it)")
    values = substitutions("a" * 40)
    for step in BUILD["steps"]:
        if step.get("entrypoint") == "bash":
            script = tmp_path / f"{step['id']}.sh"
            script.write_text("#!/usr/bin/env bash\n" + substitute(step["args"][-1], values))
            # SC2157, SC2194: a test of a substituted value is constant, as Cloud Build means it to be.
            result = subprocess.run(["shellcheck", "-e", "SC2157,SC2194", str(script)], capture_output=True, text=True)
            assert result.returncode == 0, result.stdout


# ---------------------------------------------------------------- make deploy


def make_deploy(world: World, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in world.env.items() if k not in ("PROJECT", "REGION", "SERVICE", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "deploy", *args],
                          env=env | {"FAKE_GCLOUD_ACCOUNT": "owner"}, capture_output=True, text=True)  # fmt: skip


def test_the_bootstrap_ends_with_the_make_deploy_line_for_its_region_and_service(world):
    require(bool(shutil.which("make")), "make")
    done = world.bootstrap("--region", "europe-west1", "--service", "tutor")
    assert done.returncode == 0, done.stderr
    line = last_line(done.stdout)
    assert line.endswith(f"make deploy PROJECT={PROJECT} REGION=europe-west1 SERVICE=tutor"), line
    ran = make_deploy(world, *shlex.split(line.split("make deploy ", 1)[1]))
    assert ran.returncode == 0, ran.stderr
    assert world.calls()[-1]["args"] == ["builds", "triggers", "run", "tutor-deploy", "--region=europe-west1",
                                         "--branch=main"]  # fmt: skip
    shown = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True)
    deploy = next(line for line in shown.stdout.splitlines() if line.strip().startswith("deploy"))
    assert "REGION=" in deploy and "SERVICE=" in deploy


def test_make_deploy_takes_the_project_or_says_how_to_set_one(world):
    require(bool(shutil.which("make")), "make")
    world.edit(lambda s: s.update(services=["cloudbuild.googleapis.com"], triggers={TRIGGER: {"substitutions": {}}}))
    none = make_deploy(world)
    assert none.returncode != 0 and "gcloud config set project" in none.stderr and "PROJECT=" in none.stderr
    assert [c["args"] for c in world.calls()] == [["config", "get-value", "project"]]
    given = make_deploy(world, f"PROJECT={PROJECT}")
    assert given.returncode == 0, given.stderr
    assert world.calls()[-1]["args"] == ["builds", "triggers", "run", TRIGGER, "--region=us-central1", "--branch=main"]
    world.edit(lambda s: s.update(config_project="from-gcloud-config"))
    assert make_deploy(world).returncode == 0


# ---------------------------------------------------------------- checked against the installed SDK


def every_call(world: World) -> tuple[list[list[str]], list[list[str]]]:
    """The gcloud calls of a project's whole life (and the commands its dry runs print)."""
    world.env |= {"BUDGET": "7.50", "ALERT_EMAIL": "owner@example.com"}
    plans = []
    dry = world.bootstrap("--dry-run")  # a brand-new project
    assert dry.returncode == 0, dry.stderr
    plans += planned(dry.stdout)
    del world.env["ALERT_EMAIL"]  # given later: the channel is then added to the existing alerts
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    for sha in ("a" * 40, "b" * 40):  # the first push, and the second
        assert world.push(sha)[0] == "", sha
    world.env["ALERT_EMAIL"] = "owner@example.com"
    again = world.bootstrap()  # a rerun on a complete project: the channel, the /health alert turned on
    assert again.returncode == 0, again.stderr
    dry = world.bootstrap("--dry-run")
    assert dry.returncode == 0, dry.stderr
    plans += planned(dry.stdout)
    # An organisation that forbids allUsers, and the owner's settings given late: the bootstrap changes the
    # trigger, the deploy turns the check off.
    world.edit(lambda s: s.update(org_forbids_all_users=True))
    world.env |= {"OWNER_NAME": "Ana $O'Neil, | tutor", "FB_APP_ID": "4242"}
    assert world.bootstrap().returncode == 0
    assert world.push("c" * 40)[0] == ""
    assert make_deploy(world, f"PROJECT={PROJECT}").returncode == 0
    calls: list[list[str]] = []
    for call in world.calls():
        if call["argv"] not in calls:
            calls.append(call["argv"])  # as run: the bootstrap's carry --project and --quiet
    return calls, plans


def test_every_gcloud_call_parses_with_the_installed_sdks_own_parser(world, tmp_path):
    """A parse error exits 2 ("unrecognized arguments", "argument --x"); a call that parsed stops at
    "no active account" (exit 1). The alert policy files are decoded into the API's AlertPolicy too."""
    require(gcloud_sdk.available(), "the gcloud SDK with its bundled Python and the alpha and beta commands")
    calls, plans = every_call(world)
    commands = {" ".join(a for a in c if not a.startswith("--"))[:60] for c in calls}
    for expected in ("run deploy mentor-bot", "alpha monitoring policies create", "alpha monitoring policies update",
                     "beta monitoring channels create", "run revisions list", "builds triggers update github",
                     "monitoring uptime create", "billing budgets create", "builds triggers run",
                     "resource-manager org-policies describe", "billing accounts describe",
                     "artifacts repositories set-cleanup-policies"):  # fmt: skip
        assert any(command.startswith(expected) for command in commands), expected
    assert len(plans) > 30
    # And the oracle can fail: a stray argument, a misspelt flag, a bad value, a policy field the API lacks.
    bad_policy = tmp_path / "bad.json"
    bad_policy.write_text(json.dumps({"displayName": "x", "combiner": "OR", "conditions": [{"condtionThreshold": {}}]}))
    wrong = [["run", "deploy", "x", "--image=y", "A=b:1"], ["run", "deploy", "x", "--no-trafic"],
             ["monitoring", "uptime", "create", "x", "--resource-type=uptime-url", "--period=7"],
             ["alpha", "monitoring", "policies", "create", f"--policy-from-file={bad_policy}"],
             ["billing", "budgets", "create", "--billing-account=0A1B2C-3D4E5F-6A7B8C", "--display-name=x",
              "--budget-amount=5,50USD"]]  # fmt: skip
    everything = calls + [p for p in plans if p not in calls]
    # Every deploy's settings file, as gcloud reads it: YAML whose values are all strings.
    settings = [a.split("=", 1)[1] for c in calls for a in c if a.startswith("--env-vars-file=")]
    assert settings and all(all(isinstance(v, str) for v in yaml.safe_load(Path(f).read_text()).values())
                            for f in settings)  # fmt: skip
    *verdicts, stray, misspelt, bad_value, bad_field, bad_amount = gcloud_sdk.parse(
        everything + wrong, tmp_path / "sdk"
    )
    failures = [str(v) for v in verdicts if not v.parsed]
    assert not failures, "\n\n".join(failures)
    assert [stray.code, misspelt.code, bad_value.code] == [2, 2, 2] and "unrecognized arguments: A=b:1" in stray.text
    assert not bad_amount.parsed, bad_amount  # the amount that crashed gcloud before BUDGET was checked
    assert not bad_field.parsed and "condtionThreshold" in " ".join(bad_field.schema)


def gcloud_lines(markdown: str) -> list[list[str]]:
    """The gcloud commands in a document's shell blocks, as argv (continuation lines joined)."""
    commands = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", markdown, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and "=" in words[0] and not words[0].startswith("-"):
                words = words[1:]  # VAR=value before the command
            if words[:1] == ["gcloud"] and words[1:2] not in (["auth"], ["init"], ["components"]):
                commands.append(words[1:])
    return commands


def test_every_gcloud_command_in_the_deploy_guide_parses(tmp_path):
    require(gcloud_sdk.available(), "the gcloud SDK with its bundled Python and the alpha and beta commands")
    commands = gcloud_lines((ROOT / "docs" / "deploy.md").read_text())
    assert len(commands) >= 8
    verdicts = gcloud_sdk.parse(commands, tmp_path / "sdk")
    failures = [str(v) for v in verdicts if not v.parsed]
    assert not failures, "\n\n".join(failures)


def test_cloudbuild_yaml_loads_with_the_sdks_own_loader():
    python = gcloud_sdk.PYTHON
    require(python.exists(), "the gcloud SDK's bundled Python")
    code = (
        "import sys; sys.path[:0] = [sys.argv[1] + '/lib', sys.argv[1] + '/lib/third_party']\n"
        "from googlecloudsdk.api_lib.cloudbuild import cloudbuild_util, config\n"
        "build = config.LoadCloudbuildConfigFromPath(sys.argv[2], cloudbuild_util.GetMessagesModule())\n"
        "print(','.join(s.id for s in build.steps))"
    )
    done = subprocess.run(
        [str(python), "-c", code, str(gcloud_sdk.SDK), str(ROOT / "cloudbuild.yaml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ",".join(s["id"] for s in BUILD["steps"])


# ---------------------------------------------------------------- the file itself


def test_every_substitution_is_declared_and_used_and_shell_variables_are_escaped():
    declared = set(BUILD["substitutions"])
    text = (ROOT / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{?(_[A-Z0-9_]+)", text))
    assert used == declared, (used - declared, declared - used)
    steps_text = text.split("\nsteps:\n", 1)[1]
    others = set(re.findall(r"(?<!\$)\$\{?([A-Za-z][A-Za-z0-9_]*)", steps_text)) - BUILTIN
    assert others == set(), others


def seconds(duration: str) -> int:
    assert re.fullmatch(r"\d+s", duration), duration
    return int(duration[:-1])


def test_the_build_has_time_for_its_steps_and_the_guide_says_how_much():
    """Without `timeout:` Cloud Build stops a build at 600 s, and the test step alone takes about 10 minutes."""
    test_step = next(s for s in BUILD["steps"] if s["id"] == "test")
    # The test step: its installs (3-5 min) and 10-15 minutes of tests, with room to spare; the build: that,
    # and 10 minutes more for the image, the push, the deploy, the smoke test and the webhooks.
    assert seconds(test_step["timeout"]) >= 25 * 60
    assert seconds(BUILD["timeout"]) >= seconds(test_step["timeout"]) + 10 * 60
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    assert f"`timeout: {BUILD['timeout']}`" in guide and f"{seconds(BUILD['timeout']) // 60} minutes" in guide


def test_the_deploy_guide_has_no_placeholder_and_make_test_prints_its_minutes():
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    assert not re.search(r"<[A-Z][A-Z-]+>", guide), re.findall(r"<[A-Z][A-Z-]+>", guide)
    assert "about 10–15 minutes on 2 vCPUs" in guide
    require(bool(shutil.which("make")), "make")
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(ROOT), "test"], capture_output=True,
                            text=True).stdout  # fmt: skip
    assert "date +%s" in recipe and "the tests took" in recipe


def test_no_steps_script_holds_a_substitution_only_its_env_does():
    """A substitution pasted into a script is shell text: a quote in OWNER_NAME vanishes, a `$` or a backtick
    runs. Each step reads the values from its `env:` as shell variables ($$NAME) instead."""
    for step in BUILD["steps"]:
        for arg in step.get("args", []):
            pasted = re.findall(r"\$\{?[A-Za-z_][A-Za-z0-9_]*", arg.replace("$$", ""))
            assert pasted == [], (step["id"], pasted)
        for entry in step.get("env", []):
            assert re.fullmatch(r"[A-Z_]+=(\$\{[A-Z_]+\}|[a-z]+)", entry), (step["id"], entry)


def test_the_image_context_leaves_out_caches_and_databases_at_any_depth():
    """Docker matches a .dockerignore pattern from the context's root (`__pycache__` is only the top one);
    `**` matches any number of folders, and a folder left out leaves out what it holds."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip

    def regex(pattern: str) -> re.Pattern:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            else:
                out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
                i += 1
        return re.compile(out)

    def left_out(path: str) -> bool:
        parts = path.split("/")
        verdict = False
        for pattern in patterns:
            keep = pattern.startswith("!")
            expression = regex(pattern.lstrip("!").strip("/"))
            if any(expression.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
                verdict = not keep
        return verdict

    for path in ("chatbot/__pycache__/relay.cpython-311.pyc", "mentor/__pycache__/actions.cpython-311.pyc",
                 "__pycache__/app.cpython-311.pyc", "chatbot/store/stray.pyc", "chatbot.db", "chatbot.db-wal",
                 "chatbot/store/local.db", "mentor/data/x.db-shm", "deploy/bootstrap.sh", "tests/x.py"):  # fmt: skip
        assert left_out(path), path
    for path in ("app.py", "chatbot/store/sqlite.py", "deploy/serve.sh", "deploy/nginx.conf.template", "skills.json"):
        assert not left_out(path), path


def test_the_test_step_runs_the_images_python():
    from_line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM "))
    python = re.search(r"python:(\d+\.\d+)", from_line).group(1)
    test = next(s for s in BUILD["steps"] if s["id"] == "test")
    assert test["name"].startswith(f"python:{python}-")
    assert "machineType" not in BUILD["options"]  # the default machine is the one the free minutes cover
    assert "gcr.io/${PROJECT_ID}" not in (ROOT / "cloudbuild.yaml").read_text()  # Container Registry is gone


def test_the_build_reuses_the_last_images_layers_with_buildkit_too():
    build = next(s for s in BUILD["steps"] if s["id"] == "build")["args"][-1]
    assert '--cache-from "$$IMAGE:latest"' in build and "--build-arg BUILDKIT_INLINE_CACHE=1" in build


def test_every_secret_and_setting_the_service_reads_reaches_it_through_the_pipeline():
    """A secret the service reads but the pipeline does not pass would be dropped by the next push
    (`--set-secrets` and `--set-env-vars` replace the whole list): this fails first."""
    from dataclasses import fields

    try:
        from chatbot.core import settings
    except ImportError:  # before the modules moved into packages
        import settings  # type: ignore[no-redef]
    SECRET_FIELDS, Settings = settings.SECRET_FIELDS, settings.Settings
    known = {f.name for f in fields(Settings)} | set(getattr(settings, "CHANNEL_FIELDS", {}))  # the channels' own

    deploy = next(step for step in BUILD["steps"] if step.get("id") == "deploy")["args"][-1]
    listed = re.search(r"for pair in (.*?); do", deploy, re.S).group(1)
    passed = dict(re.findall(r"([A-Z_]+)=([a-z-]+)", listed))
    bootstrap = (ROOT / "deploy" / "bootstrap.sh").read_text()
    created = re.search(r'^SECRETS="([^"]+)"', bootstrap, re.M).group(1).split()
    for name in (field.upper() for field in SECRET_FIELDS):
        assert name in passed, f"cloudbuild.yaml does not pass the secret {name}"
        assert passed[name] in created, f"the bootstrap does not create {passed[name]} for {name}"
    # The owner's plain settings that only the deploy can set, each with a substitution: the keys of the
    # settings file the deploy step writes (--env-vars-file replaces every variable).
    settings_file = re.search(r"settings = \{(.*?)\n\s*\}", deploy, re.S).group(1)
    names = set(re.findall(r'^\s*"([A-Z_]+)":', settings_file, re.M))
    for setting in ("OWNER_NAME", "OWNER_CONTACT", "RETENTION_DAYS", "FB_APP_ID", "STORE_URL", "PUBLIC_URL"):
        assert setting in names and setting.lower() in known, setting
