"""How often a secret may be guessed: wrong tries per address and in all, held longer and longer.

The first few wrong tries from an address cost nothing (a typo); after them each wrong try holds
that address for twice as long as the last, up to a quarter of an hour, and while it is held nothing
it sends is checked, the right token included. Wrong tries from everywhere together are counted the
same way with a larger allowance, so many addresses cannot share the work. A count is forgotten
after an hour without a wrong try. The counts live in this process: each instance keeps its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

FREE_PER_ADDRESS = 5  # wrong tries from one address before it is held
FREE_OVERALL = 50  # from every address together
LONGEST_HOLD = 15 * 60.0
FORGET_AFTER = 3600.0  # seconds without a wrong try
KEEP_ADDRESSES = 10_000
EVERYONE = "*"


class Attempts:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, float, float]] = {}  # who: (wrong tries, last one at, held until)

    def _entry(self, who: str, now: float) -> tuple[int, float, float]:
        failures, last, until = self._seen.get(who, (0, 0.0, 0.0))
        return (0, 0.0, 0.0) if now - last > FORGET_AFTER and now >= until else (failures, last, until)

    def wait(self, address: str) -> float:
        """Seconds before ``address`` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            held = max(self._entry(who, now)[2] for who in (address, EVERYONE))
        return max(0.0, held - now)

    def failed(self, address: str) -> int:
        """Count a wrong try from ``address``; how many it has made (within the hour that keeps them)."""
        now = self._clock()
        with self._lock:
            if len(self._seen) > KEEP_ADDRESSES:
                self._seen = {who: entry for who, entry in self._seen.items() if self._entry(who, now)[0]}
            counts = {}
            for who, free in ((address, FREE_PER_ADDRESS), (EVERYONE, FREE_OVERALL)):
                failures = self._entry(who, now)[0] + 1
                until = now + min(LONGEST_HOLD, 2.0 ** (failures - free - 1)) if failures > free else 0.0
                self._seen[who] = (failures, now, until)
                counts[who] = failures
        return counts[address]

    def succeeded(self, address: str) -> None:
        """The right token: this address starts again (everyone's count stays)."""
        with self._lock:
            self._seen.pop(address, None)
