"""One finding about the service's health: what `flask doctor` prints and the owner is told."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.outbound import scrub


@dataclass
class Check:
    ok: bool
    name: str
    detail: str
    # The platform did not answer (a 5xx, the network): the check says nothing either way, so the
    # scheduled job neither opens nor closes a problem on it (doctor still prints it).
    unsure: bool = False

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {scrub(self.detail)}"
