"""`make bench-python`: our bot's cold start and CPU per message on each Python the image could use.

    .venv/bin/python bench/pythons.py [PYTHON ...]

Each interpreter (by default python3.11, python3.12 and python3.13 wherever pyenv or the PATH has
them) gets a virtualenv of its own under .bench-venvs/ with the same hashed requirements.txt, and
then the same measurements as `make bench` sections 1 and 2-3 (returning person's message, cold;
Messenger on Firestore under load), in turns so that a slow spell of the machine falls on each
alike. Writes bench/python.md.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import run

VENVS = run.ROOT / ".bench-venvs"
ROUNDS = int(run.os.environ.get("BENCH_PYTHON_ROUNDS", "5"))


def interpreters(asked: list[str]) -> list[str]:
    if asked:
        return asked
    found = []
    for version in ("3.11", "3.12", "3.13"):
        pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
        path = shutil.which(f"python{version}")
        candidate = str(pyenv[-1]) if pyenv else path
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            found.append(candidate)
    return found


def venv_for(python: str) -> str:
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
    target = VENVS / f"py{version}"
    ready = target / ".installed"
    if not ready.exists():
        print(f"  installing the requirements for Python {version} in {target}", flush=True)
        subprocess.run([python, "-m", "venv", str(target)], check=True)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--require-hashes", "-r", str(run.ROOT / "requirements.txt")], check=True)
        ready.touch()
    bin_python = str(target / "bin" / "python")
    subprocess.run([bin_python, "-m", "compileall", "-q", str(run.ROOT), str(target)], check=False,
                   capture_output=True)  # fmt: skip  # as the image does
    return bin_python


def main() -> None:
    pythons = interpreters(sys.argv[1:])
    print(f"Pythons: {', '.join(pythons)}", flush=True)
    venvs = {python: venv_for(python) for python in pythons}
    world = run.World()
    samples: dict[str, dict[str, list[float]]] = {p: {"cold": [], "cpu": [], "rate": []} for p in pythons}
    try:
        for name in ("ours",):
            process, base = run.start(world, name)
            run.wait_for(lambda b=base: run.signed_message(b))  # the returning person exists
            run.stop(process)
        for round_number in range(ROUNDS):
            print(f"  round {round_number + 1}/{ROUNDS}", flush=True)
            for python, venv in venvs.items():
                run.PYTHON = venv
                started = time.perf_counter()
                process, base = run.start(world, "ours", workers=1)
                try:
                    run.wait_for(lambda b=base: run.signed_message(b))
                    samples[python]["cold"].append(time.perf_counter() - started)
                finally:
                    run.stop(process)
                result = run.measured_run(world, "ours", run.messenger_message, 1, senders=16)
                samples[python]["cpu"].append(result["cpu_ms_per_request"])
                samples[python]["rate"].append(result["per_second"])
    finally:
        world.close()
    rows = []
    for python, venv in venvs.items():
        version = subprocess.run([venv, "--version"], capture_output=True, text=True).stdout.split()[1]
        med = {k: statistics.median(v) for k, v in samples[python].items()}
        rows.append((version, med))
    best = min(rows, key=lambda r: (r[1]["cold"], r[1]["cpu"]))
    lines = [
        "# Our bot on each Python",
        "",
        f"Measured by `make bench-python` on {run.os.cpu_count()} cores: medians of {ROUNDS} rounds, taken in turns. "
        "Cold start: process start to the first 200 of a returning person's Messenger message on Firestore. "
        "CPU and rate: one worker, 16 concurrent senders, Messenger on Firestore.",
        "",
        "| Python | cold start | × " + rows[0][0] + " | server CPU per message | messages per second |",
        "|---|---|---|---|---|",
    ]
    for version, med in rows:
        lines.append(
            f"| {version} | {med['cold']:.2f} s | {med['cold'] / rows[0][1]['cold']:.2f}× | {med['cpu']:.2f} ms "
            f"| {med['rate']:.0f} |"
        )
    lines += ["", f"Fastest cold start here: Python {best[0]}.", ""]
    (run.ROOT / "bench" / "python.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
