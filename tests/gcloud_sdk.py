"""The installed gcloud SDK's own parser, as an oracle for the deploy's grammar, offline.

Every gcloud call the pipeline and the bootstrap make is executed by the real CLI, loaded once in
the SDK's bundled Python with an empty configuration and no account: a call that does not parse
exits 2 ("unrecognized arguments", "argument --x: ..."); a call that parsed goes on until it needs
credentials and stops at "You do not currently have an active account selected" (exit 1). A few
commands need no account at all (`config get-value`, `info`) and exit 0.

Nothing reaches the network: the runner refuses every socket connection and reports any attempt.

    verdicts = parse([["run", "deploy", "x", "--image=y"], ...], workdir)

This file is both the test-side helper (``parse``) and the runner itself (``__main__``, run by the
SDK's Python, which imports only the standard library and the SDK).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SDK = Path(shutil.which("gcloud") or "/usr/bin/gcloud").resolve().parent.parent
PYTHON = SDK / "platform" / "bundledpythonunix" / "bin" / "python3"
NO_ACCOUNT = "You do not currently have an active account selected"
DEFAULT_PROJECT = "demo-proj"  # what Cloud Build sets for a step's gcloud; calls with --project override it


@dataclass
class Verdict:
    argv: list[str]
    code: int | str
    text: str
    network: list[str] = field(default_factory=list)
    schema: list[str] = field(default_factory=list)  # problems in a policy file, by the API's own message types

    @property
    def parsed(self) -> bool:
        """Parsed, and got as far as the credentials (or needed none), with nothing else wrong."""
        ran = self.code == 0 or (self.code == 1 and NO_ACCOUNT in self.text)
        return ran and not self.network and not self.schema

    def __str__(self) -> str:
        words = " ".join(self.argv)
        problems = "; ".join([*self.network, *self.schema])
        return f"gcloud {words}\n  exit {self.code}: {self.text.strip()[:600]}" + (
            f"\n  {problems}" if problems else ""
        )


def available() -> bool:
    """The SDK with its bundled Python and the alpha and beta command groups."""
    return PYTHON.exists() and all((SDK / "lib" / "surface" / t / "__init__.py").exists() for t in ("alpha", "beta"))


def parse(calls: list[list[str]], workdir: Path, project: str = DEFAULT_PROJECT) -> list[Verdict]:
    """Run each argv through the installed SDK, in one process; one verdict per call, in order."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = Path(tempfile.mkdtemp(prefix="gcloud-config-", dir=workdir))  # empty: no account, no project
    (config / "gce").write_text("False")  # "not on Compute Engine": no probe of the metadata server
    request, answer = workdir / "calls.json", workdir / "verdicts.json"
    request.write_text(json.dumps(calls))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "GOOGLE_", "GCE_"))}
    env |= {
        "CLOUDSDK_CONFIG": str(config),
        "CLOUDSDK_CORE_PROJECT": project,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        "CLOUDSDK_PYTHON_SITEPACKAGES": "0",
        "NO_PROXY": "*",
    }
    done = subprocess.run(
        [str(PYTHON), "-S", __file__, str(SDK), str(request), str(answer)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the SDK runner failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return [Verdict(**v) for v in json.loads(answer.read_text())]


# ---------------------------------------------------------------- the runner, in the SDK's Python


def _refuse_the_network(attempts: list[str]) -> None:
    import socket

    def refuse(what):
        def call(*args, **kwargs):
            attempts.append(f"{what} {args[1] if what == 'connect' and len(args) > 1 else args[:1]}")
            raise OSError("the parser test is offline")

        return call

    socket.socket.connect = refuse("connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("connect")  # type: ignore[method-assign]
    socket.getaddrinfo = refuse("getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("create_connection")  # type: ignore[assignment]


def _unrecognized(message, path: str = "") -> list[str]:
    """Fields the API's message type does not have, anywhere in a decoded message."""
    from apitools.base.protorpclite import messages

    found = [f"{path}{name}" for name in message.all_unrecognized_fields()]
    for item in message.all_fields():
        value = message.get_assigned_value(item.name)
        if isinstance(item, messages.MessageField) and value is not None:
            for index, child in enumerate(value if item.repeated else [value]):
                where = f"{path}{item.name}[{index}]." if item.repeated else f"{path}{item.name}."
                found += _unrecognized(child, where)
    return found


def _policy_problems(argv: list[str]) -> list[str]:
    """An alert policy file, decoded into the Monitoring API's AlertPolicy type as gcloud does."""
    files = [a.split("=", 1)[1] for a in argv if a.startswith("--policy-from-file=")]
    if not files or "policies" not in argv:
        return []
    from apitools.base.py import encoding
    from googlecloudsdk.api_lib.util import apis

    alert_policy = apis.GetMessagesModule("monitoring", "v3").AlertPolicy
    problems = []
    for path in files:
        try:
            with open(path) as handle:
                policy = encoding.JsonToMessage(alert_policy, handle.read())
        except Exception as error:  # noqa: BLE001 - any failure to decode is the finding
            problems.append(f"{path}: does not decode as an AlertPolicy: {error}")
            continue
        problems += [f"{path}: unknown field {name}" for name in _unrecognized(policy)]
    return problems


def _run(sdk: str, request: str, answer: str) -> None:
    sys.path[:0] = [sdk + "/lib", sdk + "/lib/third_party"]
    attempts: list[str] = []
    _refuse_the_network(attempts)
    from googlecloudsdk import gcloud_main

    cli = gcloud_main.CreateCLI([])
    with open(request) as handle:
        calls = json.load(handle)
    verdicts = []
    devnull = os.open(os.devnull, os.O_RDONLY)
    for argv in calls:
        del attempts[:]
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(0), os.dup(1), os.dup(2)]
        with tempfile.TemporaryFile() as capture:
            os.dup2(devnull, 0)
            os.dup2(capture.fileno(), 1)
            os.dup2(capture.fileno(), 2)
            code: int | str = 0
            try:
                cli.Execute(list(argv))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException as error:  # noqa: BLE001 - reported, not raised: one call, one verdict
                code = f"{type(error).__name__}: {error}"
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, copy in enumerate(saved):
                    os.dup2(copy, fd)
                    os.close(copy)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
        verdicts.append(
            {"argv": argv, "code": code, "text": text, "network": list(attempts), "schema": _policy_problems(argv)}
        )
    with open(answer, "w") as handle:
        json.dump(verdicts, handle)


if __name__ == "__main__":
    _run(*sys.argv[1:4])
