"""When requests happen: human daily rhythm, round-the-clock machines, synchronized shifts.

Times are POSIX seconds (floats). Humans work in their local day and rest at
weekends; harvesters run flat out all day; some operators work in shifts that
start and stop at the same minute across all their accounts.
"""

from __future__ import annotations

import math
import random
import time
from itertools import accumulate

DAY = 86400.0

# Relative activity per local hour for a person: asleep at night, peaks late morning and evening.
_HUMAN_HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2.5, 4.5, 6, 7, 7, 6, 6.5, 7, 7, 6.5, 5.5, 4.5, 4.5, 5, 4.5, 3, 2]
_HUMAN_CUM = list(accumulate(_HUMAN_HOURS))
_HOURS = list(range(24))


def weekday(day_start: float) -> int:
    """0 = Monday, as `datetime.weekday()`."""
    return (int(day_start // DAY) + 3) % 7  # 1970-01-01 was a Thursday


def is_weekend(day_start: float, tz_hours: float = 0.0) -> bool:
    """Whether the UTC day starting at `day_start` is a weekend day where it is noon at UTC+tz_hours."""
    return weekday(day_start + DAY / 2 + tz_hours * 3600) >= 5


def human_times(rng: random.Random, day_start: float, tz_hours: float, count: int) -> list[float]:
    """`count` request times on one local day of a person living at UTC+tz_hours, sorted.

    People send requests in sessions, so times cluster: a session start
    follows the daily rhythm and its requests come minutes apart.
    """
    out: list[float] = []
    while len(out) < count:
        local_hour = rng.choices(_HOURS, cum_weights=_HUMAN_CUM)[0]
        # Local hours wrap onto this UTC day, so a day's requests never leave it (or the simulated period).
        offset = ((local_hour - tz_hours) % 24) * 3600 + rng.random() * 3600
        for _ in range(min(count - len(out), 1 + int(rng.expovariate(0.5)))):
            out.append(day_start + offset % DAY)
            offset += 20 + rng.expovariate(1 / 150)
    out.sort()
    return out


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrivals(rng: random.Random, start: float, end: float, rate_per_hour: float):
    """A Poisson process of request times between `start` and `end` (a generator: no list in memory)."""
    if rate_per_hour <= 0:
        return
    mean_gap = 3600.0 / rate_per_hour
    t = start + rng.expovariate(1 / mean_gap)
    while t < end:
        yield t
        t += rng.expovariate(1 / mean_gap)


def rfc3339(t: float) -> str:
    """UTC timestamp with milliseconds and a Z, as the gateway writes it."""
    ms = int(round((t - math.floor(t)) * 1000))
    whole = math.floor(t)
    if ms == 1000:
        whole, ms = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{ms:03d}Z"
