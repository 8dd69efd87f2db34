"""`git push` deploys a working bot the first time and every time after: the bootstrap and the
pipeline's gcloud steps, run as Cloud Build would run them (its substitution rules applied),
under a fake `gcloud` that keeps state and enforces the rules a real first deploy trips on
(tests/fake_gcloud.py). Every gcloud call made is then checked against the installed SDK's own
command definitions, and cloudbuild.yaml is loaded with the SDK's own build-config loader."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, require

BUILD = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
PROJECT = "demo-proj"
DEPLOYER = f"mentor-bot-deployer@{PROJECT}.iam.gserviceaccount.com"
BUILTIN = {"PROJECT_ID", "PROJECT_NUMBER", "COMMIT_SHA", "SHORT_SHA", "BUILD_ID", "LOCATION", "REPO_NAME",
           "BRANCH_NAME", "TAG_NAME", "REVISION_ID", "TRIGGER_NAME"}  # fmt: skip
SIMULATED = ["deploy", "smoke", "promote", "drop-old-tags"]  # the steps that call gcloud (test, docker, image aside)
SDK = Path(shutil.which("gcloud") or "/usr/bin/gcloud").resolve().parent.parent


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


def substitutions(sha: str) -> dict[str, str]:
    values = {"PROJECT_ID": PROJECT, "PROJECT_NUMBER": "123456789012", "COMMIT_SHA": sha, "SHORT_SHA": sha[:7]}
    for name, value in BUILD["substitutions"].items():  # dynamicSubstitutions: values expand too
        values[name] = substitute(str(value), values)
    return values


class World:
    """A project on the fake: the bootstrap, pushes, and what gcloud was asked."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for tool in ("gcloud", "curl"):
            (bin_dir / tool).write_text(
                f'#!/bin/sh\nFAKE_AS={tool} exec {sys.executable} {ROOT / "tests" / "fake_gcloud.py"} "$@"\n'
            )
            (bin_dir / tool).chmod(0o755)
        (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")  # the smoke test's waits between tries
        (bin_dir / "sleep").chmod(0o755)
        self.state_path = tmp / "state.json"
        self.log = tmp / "calls.jsonl"
        self.env = os.environ | {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_GCLOUD_LOG": str(self.log),
            "FAKE_GCLOUD_STATE": str(self.state_path),
            "FAKE_GCLOUD_PROJECT": PROJECT,
            "FB_PAGE_ACCESS_TOKEN": "EAAG-secret-page-token",
            "FB_APP_SECRET": "app-secret-value-xyz",
            "TELEGRAM_BOT_TOKEN": "999:telegram-secret-token-value",
            "BOOTSTRAP_WAIT_SECONDS": "0",
        }
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

    def bootstrap(self, *args: str) -> subprocess.CompletedProcess:
        command = ["bash", str(ROOT / "deploy" / "bootstrap.sh"), "--project", PROJECT,
                   "--connection", "github", "--repository", "bot", *args]  # fmt: skip
        env = self.env | {"FAKE_GCLOUD_ACCOUNT": "owner"}
        return subprocess.run(command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)

    def push(self, sha: str) -> tuple[str, str]:
        """The pipeline's gcloud steps for commit ``sha``, as the deployer; (the step that failed or "", output)."""
        workspace = self.tmp / f"workspace-{sha[:7]}"
        workspace.mkdir()
        values, output = substitutions(sha), ""
        for step in BUILD["steps"]:
            if step["id"] not in SIMULATED:
                continue
            args = [substitute(str(a), values) for a in step["args"]]
            command = ["bash", *args] if step.get("entrypoint") == "bash" else [step.get("entrypoint", "gcloud"), *args]
            env = self.env | {"FAKE_GCLOUD_ACCOUNT": DEPLOYER}
            done = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
            output += done.stdout + done.stderr
            if done.returncode != 0:
                return step["id"], output
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


def test_the_old_pipeline_fails_a_new_project_the_way_the_sdk_does(world):
    """What the first push met before: --no-traffic on a service that does not exist yet."""
    assert world.bootstrap().returncode == 0
    old = "gcloud run deploy mentor-bot --image=x --region=us-central1 --no-traffic --tag=c-1"
    done = subprocess.run(["bash", "-c", old], env=world.env | {"FAKE_GCLOUD_ACCOUNT": DEPLOYER},
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1 and "--no-traffic not supported when creating a new service" in done.stderr


def test_a_failed_smoke_test_leaves_traffic_where_it_was_then_a_rollback(world):
    assert world.bootstrap().returncode == 0
    for sha in ("a" * 40, "b" * 40):
        assert world.push(sha)[0] == ""
    world.edit(lambda s: s["broken_images"].append(image("c" * 40)))
    failed, output = world.push("c" * 40)
    assert failed == "smoke"
    assert world.live()["image"] == image("b" * 40)  # the broken revision never took traffic
    # Rollback, as the README says: traffic back to an earlier revision by its tag.
    first = next(t for t in world.service()["traffic"] if t.get("tag") == "c-aaaaaaa")
    rollback = "gcloud run services update-traffic mentor-bot --region=us-central1 --to-tags=c-aaaaaaa=100"
    back = subprocess.run(
        ["bash", "-c", rollback], env=world.env | {"FAKE_GCLOUD_ACCOUNT": "owner"}, capture_output=True, text=True
    )
    assert back.returncode == 0 and world.live()["name"] == first["revisionName"]


def test_a_deploy_that_would_leave_a_configured_channel_off_fails_loudly(world):
    assert world.bootstrap().returncode == 0
    assert world.push("a" * 40)[0] == ""
    # The runtime account loses access to one secret: its new revision would run without Telegram.
    runtime = f"serviceAccount:mentor-bot-runtime@{PROJECT}.iam.gserviceaccount.com"
    world.edit(lambda s: s["iam"].remove(["secrets telegram-bot-token", "roles/secretmanager.secretAccessor", runtime]))
    failed, output = world.push("b" * 40)
    assert failed == "smoke" and "configured but off: ['telegram']" in output
    assert world.live()["image"] == image("a" * 40)


def test_a_deployer_that_cannot_see_secrets_stops_the_build_instead_of_dropping_them(world):
    assert world.bootstrap().returncode == 0
    viewer = [f"projects {PROJECT}", "roles/secretmanager.viewer", f"serviceAccount:{DEPLOYER}"]
    world.edit(lambda s: s["iam"].remove(viewer))
    failed, output = world.push("a" * 40)
    assert failed == "deploy" and "PERMISSION_DENIED" in output
    assert "mentor-bot" not in world.state["run"]


def test_old_tags_are_dropped_keeping_the_newest_for_rollback(world):
    assert world.bootstrap().returncode == 0
    for n in range(5):
        assert world.push(str(n) * 40)[0] == ""
    tags = sorted(t["tag"] for t in world.service()["traffic"] if t.get("tag"))
    assert tags == ["c-2222222", "c-3333333", "c-4444444"]


# ---------------------------------------------------------------- the bootstrap


def mutations(calls: list[dict]) -> list[str]:
    return [" ".join(c["args"]) for c in calls if c["mutating"]]


def test_bootstrap_creates_everything_then_nothing(world):
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    calls = world.calls()
    joined = "\n".join(mutations(calls))
    for api in ("run", "cloudbuild", "artifactregistry", "firestore", "secretmanager", "cloudscheduler", "iam"):
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

    second = world.bootstrap()
    assert second.returncode == 0, second.stderr
    assert mutations(world.calls()[len(calls) :]) == [] and "done: 0 change(s) made" in second.stdout


def test_web_chat_token_is_created_only_when_given_and_then_passed(world):
    world.env["WEB_CHAT_TOKEN"] = "a-web-chat-token-123"
    assert world.bootstrap().returncode == 0
    assert ["secrets", "web-chat-token"] in world.state["resources"]
    assert world.push("a" * 40)[0] == ""
    assert "WEB_CHAT_TOKEN" in world.live()["secrets"]


def test_a_budget_alert_is_made_once_when_asked_for(world):
    world.env["BUDGET_USD"] = "5"
    first = world.bootstrap()
    assert first.returncode == 0, first.stderr
    made = [m for m in mutations(world.calls()) if m.startswith("billing budgets create")]
    assert len(made) == 1 and "--budget-amount=5USD" in made[0] and "--threshold-rule=percent=0.9" in made[0]
    assert "--filter-projects=projects/demo-proj" in made[0]
    assert "services enable billingbudgets.googleapis.com" in "\n".join(mutations(world.calls()))
    calls = len(world.calls())
    assert world.bootstrap().returncode == 0
    assert mutations(world.calls()[calls:]) == []


def test_bootstrap_stops_on_a_refusal_instead_of_reading_it_as_missing(world):
    world.edit(lambda s: s.update(refuse="artifacts repositories describe"))
    done = world.bootstrap()
    assert done.returncode == 1 and "could not tell whether it exists" in done.stderr


def test_bootstrap_without_a_linked_repository_says_how_to_link_it(world):
    world.edit(lambda s: s.update(resources=[]))
    done = world.bootstrap()
    assert done.returncode == 1 and "Cloud Build > Repositories > 2nd gen" in done.stderr


def test_scheduler_job_calls_the_route_with_the_audience_and_account_the_service_expects(world):
    assert world.bootstrap().returncode == 0
    job = next(c["args"] for c in world.calls() if c["args"][:4] == ["scheduler", "jobs", "create", "http"])
    flags = dict(a.split("=", 1) for a in job if a.startswith("--") and "=" in a)
    deploy = " ".join(next(s for s in BUILD["steps"] if s["id"] == "deploy")["args"])
    url = "https://mentor-bot-123456789012.us-central1.run.app"
    assert flags["--uri"] == f"{url}/tasks/reminders" and flags["--oidc-token-audience"] == flags["--uri"]
    assert "TASKS_AUDIENCE=$${url}/tasks/reminders" in deploy
    assert flags["--oidc-service-account-email"] == f"mentor-bot-scheduler@{PROJECT}.iam.gserviceaccount.com"
    assert "TASKS_INVOKER=${_SERVICE}-scheduler@${PROJECT_ID}.iam.gserviceaccount.com" in deploy


def test_bootstrap_dry_run_changes_nothing(world):
    result = world.bootstrap("--dry-run")
    assert result.returncode == 0, result.stderr
    assert mutations(world.calls()) == []
    assert "would run: gcloud artifacts repositories create chatbot" in result.stdout and "dry run:" in result.stdout


def test_shell_scripts_are_shellcheck_clean():
    require(bool(shutil.which("shellcheck")), "shellcheck (scripts/system-deps.sh installs it)")
    scripts = [ROOT / "deploy" / "bootstrap.sh", *(ROOT / "scripts").glob("*.sh"), ROOT / ".ci" / "run"]
    result = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# ---------------------------------------------------------------- checked against the installed SDK


def sdk_tree() -> dict:
    path = SDK / "data" / "cli" / "gcloud_completions.py"
    require(path.exists(), "the gcloud SDK's command definitions (data/cli/gcloud_completions.py)")
    spec = importlib.util.spec_from_file_location("gcloud_completions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STATIC_COMPLETION_CLI_TREE


def problems_with(args: list[str], tree: dict) -> list[str]:
    """A call's command path and every flag, as the SDK defines them."""
    node, words = tree, [a for a in args if not a.startswith("--")]
    for index, word in enumerate(words):
        if word in node.get("commands", {}):
            node = node["commands"][word]
        elif not node.get("commands"):
            break  # positional arguments of a command
        else:
            return [f"no command {' '.join(words[: index + 1])!r}"]
    if node.get("commands"):
        return [f"{' '.join(words)!r} is a group, not a command"]
    known = set(node.get("flags", {})) | set(tree["flags"])
    problems = []
    for flag in (a.split("=", 1)[0] for a in args if a.startswith("--")):
        if flag not in known and not (flag.startswith("--no-") and "--" + flag[5:] in known):
            problems.append(f"{' '.join(words)}: unknown flag {flag}")
    return problems


def test_every_gcloud_call_parses_with_the_installed_sdk(world):
    tree = sdk_tree()
    world.env["BUDGET_USD"] = "5"  # the optional budget's calls are checked too
    assert world.bootstrap().returncode == 0
    for sha in ("a" * 40, "b" * 40):
        assert world.push(sha)[0] == ""
    calls = world.calls()
    assert len({tuple(c["args"][:3]) for c in calls}) > 20  # the bootstrap's and the pipeline's, with their variables
    problems = [p for c in calls for p in problems_with(c["args"], tree)]
    assert problems == []
    assert problems_with(["run", "deploy", "x", "--no-trafic"], tree)  # and a misspelt flag would be caught


def test_cloudbuild_yaml_loads_with_the_sdks_own_loader():
    python = SDK / "platform" / "bundledpythonunix" / "bin" / "python3"
    require(python.exists(), "the gcloud SDK's bundled Python")
    code = (
        "import sys; sys.path[:0] = [sys.argv[1] + '/lib', sys.argv[1] + '/lib/third_party']\n"
        "from googlecloudsdk.api_lib.cloudbuild import cloudbuild_util, config\n"
        "build = config.LoadCloudbuildConfigFromPath(sys.argv[2], cloudbuild_util.GetMessagesModule())\n"
        "print(','.join(s.id for s in build.steps))"
    )
    done = subprocess.run(
        [str(python), "-c", code, str(SDK), str(ROOT / "cloudbuild.yaml")], capture_output=True, text=True
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


def test_the_test_step_runs_the_images_python():
    from_line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM "))
    python = re.search(r"python:(\d+\.\d+)", from_line).group(1)
    test = next(s for s in BUILD["steps"] if s["id"] == "test")
    assert test["name"].startswith(f"python:{python}-")
    assert "machineType" not in BUILD["options"]  # the default machine is the one the free minutes cover
    assert "gcr.io/${PROJECT_ID}" not in (ROOT / "cloudbuild.yaml").read_text()  # Container Registry is gone


def test_every_secret_and_setting_the_service_reads_reaches_it_through_the_pipeline():
    """A secret the service reads but the pipeline does not pass would be dropped by the next push
    (`--set-secrets` and `--set-env-vars` replace the whole list): this fails first."""
    from dataclasses import fields

    from settings import SECRET_FIELDS, Settings

    deploy = next(step for step in BUILD["steps"] if step.get("id") == "deploy")["args"][-1]
    listed = re.search(r"for pair in (.*?); do", deploy, re.S).group(1)
    passed = dict(re.findall(r"([A-Z_]+)=([a-z-]+)", listed))
    bootstrap = (ROOT / "deploy" / "bootstrap.sh").read_text()
    created = re.search(r'^SECRETS="([^"]+)"', bootstrap, re.M).group(1).split()
    for name in (field.upper() for field in SECRET_FIELDS):
        assert name in passed, f"cloudbuild.yaml does not pass the secret {name}"
        assert passed[name] in created, f"the bootstrap does not create {passed[name]} for {name}"
    # The owner's plain settings that only the deploy can set, each with a substitution.
    env = re.search(r'--set-env-vars="\^\|\^([^"]+)"', deploy).group(1)
    names = {pair.split("=", 1)[0] for pair in env.split("|")}
    for setting in ("OWNER_NAME", "OWNER_CONTACT", "RETENTION_DAYS", "FB_APP_ID", "STORE_URL", "PUBLIC_URL"):
        assert setting in names and setting.lower() in {f.name for f in fields(Settings)}, setting
