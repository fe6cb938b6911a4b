"""Rate limits of the web chat, in each process: a sliding window of requests per key."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A person types and taps a few times a minute; a booking is about ten turns.
SESSION_TURNS = 30
# A family or a clinic behind one address, each tab polling its history every few seconds.
ADDRESS_REQUESTS = 1200
WINDOW = timedelta(minutes=1)


@dataclass
class SlidingWindow:
    """At most `limit` requests per key in any `window`."""

    limit: int
    window: timedelta = WINDOW
    _seen: dict[str, deque[datetime]] = field(default_factory=dict)

    def retry_after(self, key: str, now: datetime) -> int:
        """Count a request; 0 when allowed, else the whole seconds until one would be."""
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return 0
        wait = (times[0] + self.window - now).total_seconds()
        return max(1, math.ceil(wait))

    def forget_idle(self, now: datetime) -> None:
        """Drop the counters of keys quiet for a window (memory stays bounded)."""
        for key in [
            k for k, times in self._seen.items() if not times or now - times[-1] >= self.window
        ]:
            del self._seen[key]


@dataclass(frozen=True, slots=True)
class WebLimits:
    """The web chat's limits (tests lower them)."""

    session_turns: int = SESSION_TURNS
    address_requests: int = ADDRESS_REQUESTS
    window: timedelta = WINDOW
