"""The Firestore emulator from the gcloud SDK, started and stopped by the tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

import requests

PROJECT = "demo-mentor"  # demo- projects never reach real Google Cloud


class Emulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="firestore-emulator-", suffix=".log", delete=False)  # noqa: SIM115

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("gcloud") and shutil.which("java"))

    def start(self, timeout: float = 90) -> None:
        command = ["gcloud", "emulators", "firestore", "start", f"--host-port={self.host}", "--quiet"]
        # Its own session, so stopping it takes the Java child down too.
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(f"http://{self.host}/", timeout=1).text.strip() == "Ok":
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        with open(self.log.name, encoding="utf-8", errors="replace") as handle:
            raise RuntimeError(f"the Firestore emulator did not start on {self.host}:\n{handle.read()[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None

    def clear(self, project: str = PROJECT) -> None:
        url = f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents"
        requests.delete(url, timeout=10).raise_for_status()

    def url(self, project: str = PROJECT) -> str:
        return f"firestore://{project}"
