"""Shipping: the container contract, the Cloud Build pipeline and the bootstrap, proven locally."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text()
BUILD = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
BUILTIN = {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "COMMIT_SHA",
    "SHORT_SHA",
    "BUILD_ID",
    "LOCATION",
    "REPO_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REVISION_ID",
    "TRIGGER_NAME",
}


def logical_lines() -> list[str]:
    """The Dockerfile's lines with backslash continuations joined."""
    return DOCKERFILE.replace("\\\n", " ").splitlines()


def instructions(kind: str) -> list[str]:
    return [line.split(None, 1)[1].strip() for line in logical_lines() if line.split(None, 1)[:1] == [kind]]


# ---------------------------------------------------------------- container


def test_dockerfile_runs_as_a_user_with_hashed_dependencies():
    assert instructions("FROM")[0].startswith("python:3.11-slim")
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    assert any("--require-hashes" in run and "requirements.txt" in run for run in instructions("RUN"))
    assert not any("requirements-dev" in line for line in DOCKERFILE.splitlines())
    for env in instructions("ENV"):
        assert not re.search(r"(TOKEN|SECRET|PASSWORD|KEY)\w*=", env), env
    # The code stays root's: copied without --chown, compiled before the switch to the service user.
    assert not any("--chown" in copy for copy in instructions("COPY"))
    kinds = [line.split(None, 1)[0] for line in logical_lines() if line[:1].isalpha()]
    assert max(n for n, kind in enumerate(kinds) if kind in ("COPY", "RUN")) < kinds.index("USER")


def test_image_has_every_module_the_app_imports():
    copied = " ".join(instructions("COPY"))
    for module in ROOT.glob("*.py"):
        assert module.name in copied, f"{module.name} is not copied into the image"
    for data in ("skills.json", "skills.schema.json", "static"):
        assert data in copied


def assemble_app_dir(target: Path) -> None:
    """/app as the Dockerfile builds it: its COPY lines (paths relative to the context), then its RUN lines
    that come after the last COPY, with /app pointing at `target`."""
    target.mkdir()
    lines = logical_lines()
    last_copy = max(n for n, line in enumerate(lines) if line.startswith("COPY "))
    for line in lines:
        if line.startswith("COPY "):
            *sources, dest = [word for word in line.split()[1:] if not word.startswith("--")]
            for source in sources:
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target / dest)
                elif (ROOT / source).exists():
                    shutil.copy2(ROOT / source, target / dest)
                else:
                    pytest.fail(f"COPY names {source}, which is not in the repository")
    for line in lines[last_copy + 1 :]:
        if line.startswith("RUN "):
            command = line[4:].replace("/app", str(target)).split()
            command = [sys.executable if word == "python" else word for word in command]
            subprocess.run(command, check=True, cwd=target)


def test_the_image_loads_every_module_from_bytecode_compiled_at_build(tmp_path):
    app_dir = tmp_path / "app"
    assemble_app_dir(app_dir)
    modules = sorted(p.stem for p in app_dir.glob("*.py") if p.name != "gunicorn.conf.py")
    assert {"app", "fb", "tg", "store", "firestore_store"} <= set(modules)
    code = f"import {', '.join(modules)}; app.create_app()"
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1", "STORE_URL": f"sqlite:///{tmp_path}/image.db"}
    run = subprocess.run([sys.executable, "-v", "-c", code], cwd=app_dir, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    # python -v names where each module's code came from: "# code object from '<pyc>'" or "# code object from <py>"
    lines = run.stderr.splitlines()
    files = [line.split(" from ", 1)[1].strip("'") for line in lines if line.startswith("# code object from ")]
    loaded = {Path(f).name.split(".")[0]: f for f in files if Path(f).parent in (app_dir, app_dir / "__pycache__")}
    assert sorted(loaded) == modules
    from_source = [file for file in loaded.values() if not file.endswith(".pyc")]
    assert from_source == [], f"compiled on every cold start: {from_source}"


def test_dockerignore_keeps_the_context_small():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "requirements-dev.*", "*.db"} <= ignored


@pytest.mark.slow
def test_the_exact_cmd_serves_health_and_stops_cleanly_on_sigterm(tmp_path):
    command = json.loads(instructions("CMD")[-1])  # exec form: a JSON array
    assert command[0] == "gunicorn"
    port = free_port()
    env = os.environ | {"PORT": str(port), "STORE_URL": f"sqlite:///{tmp_path}/c.db", "WEB_CONCURRENCY": "2"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("no 200 from /health")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read()
    assert f"Listening at: http://0.0.0.0:{port}" in output and "Shutting down" in output


# ---------------------------------------------------------------- Cloud Build


def step_text(step: dict) -> str:
    return " ".join([step.get("name", ""), step.get("entrypoint", ""), *map(str, step.get("args", []))])


def test_every_substitution_is_declared_and_used_and_shell_variables_are_escaped():
    declared = set(BUILD["substitutions"])
    text = (ROOT / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{?(_[A-Z0-9_]+)", text))
    assert used == declared, (used - declared, declared - used)
    # Cloud Build reads any other $NAME as a substitution and fails the build on it: shell variables must be $$NAME.
    steps_text = text.split("\nsteps:\n", 1)[1]
    others = set(re.findall(r"(?<!\$)\$\{?([A-Za-z][A-Za-z0-9_]*)", steps_text)) - BUILTIN
    assert others == set(), others
    assert all(value != "" for value in BUILD["substitutions"].values())


def test_pipeline_order_and_settings():
    ids = [step["id"] for step in BUILD["steps"]]
    assert ids == ["test", "build", "push", "deploy-no-traffic", "smoke", "promote", "set-webhooks"]
    steps = {step["id"]: step_text(step) for step in BUILD["steps"]}
    assert "make lint test" in steps["test"] and ":emulators" in steps["test"]  # Firestore tests run here too
    assert "--cache-from" in steps["build"]
    assert BUILD["substitutions"]["_IMAGE"].startswith("${_REGION}-docker.pkg.dev/")  # Artifact Registry
    deploy = steps["deploy-no-traffic"]
    for flag in ("--no-traffic", "--tag=c-${SHORT_SHA}", "--service-account=", "--cpu-boost", "--min-instances=0",
                 "--concurrency=", "--memory=", "--set-secrets", "--image=${_IMAGE}:${COMMIT_SHA}"):  # fmt: skip
        assert flag in deploy, flag
    assert "/health" in steps["smoke"] and "hub.challenge" in steps["smoke"]
    assert "--to-tags=c-${SHORT_SHA}=100" in steps["promote"]
    assert "setup telegram" in steps["set-webhooks"] and "setup messenger" in steps["set-webhooks"]
    assert BUILD["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    assert "gcr.io/${PROJECT_ID}" not in (ROOT / "cloudbuild.yaml").read_text()  # Container Registry is gone


# ---------------------------------------------------------------- bootstrap


@pytest.fixture
def fake_gcloud(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gcloud").write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests" / "fake_gcloud.py"} "$@"\n')
    (bin_dir / "gcloud").chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_GCLOUD_LOG": str(tmp_path / "calls.jsonl"),
        "FAKE_GCLOUD_STATE": str(tmp_path / "state.json"),
        "FAKE_GCLOUD_PROJECT": "demo-proj",
        "FB_PAGE_ACCESS_TOKEN": "EAAG-secret-page-token",
        "FB_APP_SECRET": "app-secret-value-xyz",
        "TELEGRAM_BOT_TOKEN": "999:telegram-secret-token-value",
    }

    def run(*args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
        log = tmp_path / "calls.jsonl"
        log.unlink(missing_ok=True)
        result = subprocess.run(
            ["bash", str(ROOT / "deploy" / "bootstrap.sh"), "--project", "demo-proj",
             "--github-owner", "me", "--github-repo", "bot", *args],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
        )  # fmt: skip
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return result, calls

    run.state = tmp_path / "state.json"
    return run


def mutations(calls: list[dict]) -> list[str]:
    return [" ".join(c["args"]) for c in calls if c["mutating"]]


def test_bootstrap_creates_everything_then_nothing(fake_gcloud):
    first, calls = fake_gcloud()
    assert first.returncode == 0, first.stderr
    made = mutations(calls)
    joined = "\n".join(made)
    for api in ("run", "cloudbuild", "artifactregistry", "firestore", "secretmanager", "cloudscheduler", "iam"):
        assert f"services enable {api}.googleapis.com" in joined
    for expected in (
        "artifacts repositories create chatbot", "firestore databases create", "--type=firestore-native",
        "ttls update expire_at --collection-group=conversations",
        "ttls update expire_at --collection-group=suggestions",
        "iam service-accounts create mentor-bot-runtime", "iam service-accounts create mentor-bot-deployer",
        "iam service-accounts create mentor-bot-scheduler", "builds triggers create github --name=mentor-bot-deploy",
        "scheduler jobs create http mentor-bot-reminders", "--oidc-service-account-email=mentor-bot-scheduler@",
        "--oidc-token-audience=https://mentor-bot-123456789012.us-central1.run.app/tasks/reminders",
        "--member=serviceAccount:mentor-bot-runtime@demo-proj.iam.gserviceaccount.com --role=roles/datastore.user",
        "iam service-accounts add-iam-policy-binding mentor-bot-runtime@demo-proj.iam.gserviceaccount.com",
        "--role=roles/iam.serviceAccountUser", "--role=roles/run.admin", "--role=roles/artifactregistry.writer",
    ):  # fmt: skip
        assert expected in joined, expected
    secrets = {c["args"][2]: c["stdin_bytes"] for c in calls if c["args"][:2] == ["secrets", "create"]}
    assert set(secrets) == {
        "fb-page-access-token",
        "fb-app-secret",
        "fb-verify-token",
        "telegram-bot-token",
        "telegram-secret-token",
        "tasks-token",
    }
    assert all(size > 0 for size in secrets.values())  # values go in on stdin...
    for value in ("EAAG-secret-page-token", "app-secret-value-xyz", "999:telegram-secret-token-value"):
        assert value not in first.stdout + first.stderr + json.dumps(calls)  # ...and are never echoed or passed as args
    # No project-wide role beyond these three; everything else is granted on one resource.
    granted = sorted(
        {a.split("=", 1)[1] for c in calls if c["args"][0] == "projects" for a in c["args"] if a.startswith("--role=")}
    )
    assert granted == ["roles/datastore.user", "roles/logging.logWriter", "roles/run.admin"]

    second, calls = fake_gcloud()
    assert second.returncode == 0, second.stderr
    assert mutations(calls) == []
    assert "done: 0 change(s) made" in second.stdout


def test_scheduler_job_calls_the_route_with_the_audience_and_account_the_service_expects(fake_gcloud):
    _, calls = fake_gcloud()
    job = next(c["args"] for c in calls if c["args"][:4] == ["scheduler", "jobs", "create", "http"])
    flags = dict(a.split("=", 1) for a in job if a.startswith("--") and "=" in a)
    deploy = step_text(next(s for s in BUILD["steps"] if s["id"] == "deploy-no-traffic"))
    service = BUILD["substitutions"]["_SERVICE"]
    url = "https://mentor-bot-123456789012.us-central1.run.app"
    assert flags["--uri"] == f"{url}/tasks/reminders" and flags["--http-method"] == "POST"
    # The service checks exactly this audience and this account (see app.task_caller_refused).
    assert flags["--oidc-token-audience"] == flags["--uri"]
    assert "TASKS_AUDIENCE=$${url}/tasks/reminders" in deploy
    assert flags["--oidc-service-account-email"] == f"{service}-scheduler@demo-proj.iam.gserviceaccount.com"
    assert "TASKS_INVOKER=${_SERVICE}-scheduler@${PROJECT_ID}.iam.gserviceaccount.com" in deploy


def test_bootstrap_dry_run_changes_nothing(fake_gcloud):
    result, calls = fake_gcloud("--dry-run")
    assert result.returncode == 0, result.stderr
    assert mutations(calls) == []
    assert "would run: gcloud artifacts repositories create chatbot" in result.stdout
    assert "dry run:" in result.stdout


def test_bootstrap_is_shellcheck_clean():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed")
    scripts = [ROOT / "deploy" / "bootstrap.sh", *(ROOT / "scripts").glob("*.sh"), ROOT / ".ci" / "run"]
    result = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
