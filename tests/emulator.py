"""The Firestore emulator from the gcloud SDK, started and stopped by the tests."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
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

    def start(self, timeout: float = 90, import_data: str | None = None) -> None:
        command = ["gcloud", "emulators", "firestore", "start", f"--host-port={self.host}", "--quiet"]
        if import_data:
            command.append(f"--import-data={import_data}")
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
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the Java child may outlive gcloud for a moment
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)

    def export(self, directory: str, project: str = PROJECT) -> str:
        """Save every document; returns the file to pass to ``start(import_data=...)``."""
        os.makedirs(directory, exist_ok=True)
        body = {"database": f"projects/{project}/databases/(default)", "export_directory": directory}
        url = f"http://{self.host}/emulator/v1/projects/{project}:export"
        requests.post(url, json=body, timeout=30).raise_for_status()
        return max(glob.glob(os.path.join(directory, "*", "*.overall_export_metadata")), key=os.path.getmtime)

    def clear(self, project: str = PROJECT) -> None:
        url = f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents"
        requests.delete(url, timeout=10).raise_for_status()

    def url(self, project: str = PROJECT) -> str:
        return f"firestore://{project}"
