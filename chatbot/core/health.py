"""One finding about the service's health: what `flask doctor` prints and the owner is told."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.outbound import scrub


@dataclass
class Check:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {scrub(self.detail)}"
