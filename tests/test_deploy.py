"""Shipping: the container contract, proven locally (the pipeline and the bootstrap: test_pipeline.py)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port, require
from servers import nginx_installed

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
    # Python 3.11 measured best of 3.11-3.13 for cold start and CPU (bench/python.md); current Debian.
    # Its digest in an ARG, so that scripts/pin-base-image.sh can pin it.
    assert instructions("FROM")[0].split()[0] == "python:3.11-slim-trixie${PYTHON_DIGEST}"
    image = base_image()
    assert re.fullmatch(r"python:3\.11-slim-trixie(@sha256:[0-9a-f]{64})?", image), image
    # The pipeline tests on the very image the service runs on.
    assert next(step for step in BUILD["steps"] if step["id"] == "test")["name"] == image
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


def base_image(dockerfile: str = DOCKERFILE) -> str:
    """The image the service is built on: the FROM line with the PYTHON_DIGEST argument's default."""
    lines = dockerfile.replace("\\\n", " ").splitlines()
    digest = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("ARG PYTHON_DIGEST="))
    image = next(line.split()[1] for line in lines if line.startswith("FROM "))
    return image.replace("${PYTHON_DIGEST}", digest)


def test_the_base_image_is_pinned_by_digest_with_one_command(tmp_path):
    for name in ("Dockerfile", "cloudbuild.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    pin = [str(ROOT / "scripts" / "pin-base-image.sh")]
    env = os.environ | {"PIN_ROOT": str(tmp_path)}
    for digest in ("sha256:" + "ab" * 32, "sha256:" + "0c" * 32):  # pins, then moves the pin
        done = subprocess.run([*pin, digest], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        pinned = f"python:3.11-slim-trixie@{digest}"
        assert base_image((tmp_path / "Dockerfile").read_text()) == pinned
        steps = yaml.safe_load((tmp_path / "cloudbuild.yaml").read_text())["steps"]
        assert {step["name"] for step in steps if step["name"].startswith("python:")} == {pinned}
    before = (tmp_path / "Dockerfile").read_text()
    refused = subprocess.run([*pin, "sha256:not-a-digest"], env=env, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and (tmp_path / "Dockerfile").read_text() == before


def test_image_has_every_module_the_app_imports():
    copied = " ".join(instructions("COPY")).split()
    for module in ROOT.glob("*.py"):
        assert module.name in copied, f"{module.name} is not copied into the image"
    for data in ("chatbot", "mentor", "skills.json", "skills.schema.json", "static"):
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
            if dest.endswith("/"):  # into a folder, made if need be
                (target / dest).mkdir(parents=True, exist_ok=True)
            for source in sources:
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target / dest)
                elif (ROOT / source).exists():
                    shutil.copy2(ROOT / source, target / dest)
                else:
                    pytest.fail(f"COPY names {source}, which is not in the repository")
    for line in lines[last_copy + 1 :]:
        if line.startswith("RUN "):
            command = shlex.split(line[4:].replace("/app", str(target)))
            command = [sys.executable if word == "python" else word for word in command]
            subprocess.run(command, check=True, cwd=target)


def test_the_image_loads_every_module_from_bytecode_compiled_at_build(tmp_path):
    app_dir = tmp_path / "app"
    assemble_app_dir(app_dir)
    sources = [p for p in app_dir.rglob("*.py") if p.name != "gunicorn.conf.py"]
    modules = sorted(".".join(p.relative_to(app_dir).with_suffix("").parts).removesuffix(".__init__") for p in sources)
    assert {"app", "fb", "tg", "chatbot.store.base", "chatbot.store.firestore", "mentor.actions"} <= set(modules)
    code = f"import {', '.join(modules)}; app.create_app()"
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1", "STORE_URL": f"sqlite:///{tmp_path}/image.db"}
    run = subprocess.run([sys.executable, "-v", "-c", code], cwd=app_dir, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    # python -v names where each module's code came from: "# code object from '<pyc>'" or "# code object from <py>"
    lines = run.stderr.splitlines()
    files = [line.split(" from ", 1)[1].strip("'") for line in lines if line.startswith("# code object from ")]
    loaded = {}
    for file in files:
        path = Path(file)
        folder = path.parent.parent if path.parent.name == "__pycache__" else path.parent
        if folder == app_dir or app_dir in folder.parents:
            parts = [*folder.relative_to(app_dir).parts, path.name.split(".")[0]]
            loaded[".".join(parts).removesuffix(".__init__")] = file
    assert sorted(loaded) == modules
    from_source = [file for file in loaded.values() if not file.endswith(".pyc")]
    assert from_source == [], f"compiled on every cold start: {from_source}"
    # skills.json was checked at build: its stamp is there, so a start skips the check.
    assert (app_dir / "skills.json.checked").read_text().strip()


def test_dockerignore_keeps_the_context_small():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "requirements-dev.*", "*.db"} <= ignored


@pytest.mark.slow
def test_the_exact_cmd_serves_health_and_stops_cleanly_on_sigterm(tmp_path):
    command = json.loads(instructions("CMD")[-1])  # exec form: a JSON array
    assert command == ["/app/deploy/serve.sh"]  # nginx in front of gunicorn (SECURITY.md, slow clients)
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the server in the image")
    assert "deploy/serve.sh" in " ".join(instructions("COPY")) and "nginx" in " ".join(instructions("RUN"))
    port = free_port()
    env = os.environ | {"PORT": str(port), "STORE_URL": f"sqlite:///{tmp_path}/c.db", "WEB_CONCURRENCY": "2"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    command = [command[0].replace("/app", str(ROOT), 1)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or gunicorn's workers still loading
                time.sleep(0.1)
        else:
            pytest.fail("no 200 from /health")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.terminate()  # serve.sh stops nginx and gunicorn, then itself
            process.wait(timeout=15)
    output = process.stdout.read()
    assert f"serve: nginx on 0.0.0.0:{port} in front of gunicorn (unix:" in output
    assert "Listening at: unix:" in output and "Shutting down" in output
