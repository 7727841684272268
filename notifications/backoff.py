"""How long a push that did not arrive waits before its next try."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

# Retry-After is obeyed up to this many seconds (30 days): every push is missed by then.
LONGEST_RETRY_AFTER = 30 * 86_400.0


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    # Spreads retries of pushes that failed together; not for secrets.
    jitter: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None) -> timedelta:
        """Say how long to wait after ``attempts`` tries.

        Doubling from ``first`` with ±20 % jitter, at most ``cap``; never less than FCM's
        Retry-After, however long: the cap bounds our own growth only.
        """
        # In seconds, with the exponent bounded: a timedelta would overflow first.
        cap = self.cap.total_seconds()
        grown = min(self.first.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 64), cap)
        # Jitter after the cap too, so that retries waiting the longest still spread out.
        wait = min(grown * self.jitter.uniform(0.8, 1.2), cap)
        # An absurd Retry-After must not crash the batch; a retry past it finds the day gone.
        asked = min(retry_after or 0.0, LONGEST_RETRY_AFTER)
        return timedelta(seconds=max(wait, asked))
