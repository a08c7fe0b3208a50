"""What every figure module shares: the scale of a run, printing figures, timing."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True)
class Scale:
    """How big a run is: the generated data and how much each figure samples."""

    cases: int
    events: int
    timers: int
    due: int = 10_000  # timers made due at once for fire_10k
    zero_due_runs: int = 15
    page_samples: int = 300  # case pages timed in-process (my_cases: a third of it)
    http_seconds: float = 10.0
    http_connections: int = 4
    users: int = 5  # koordinatorer logged in for the page figures
    add_sample: int = 5_000  # reminders added one by one, then extrapolated to `timers`
    transitions: int = 5_000  # at most this many for ours, as many again for the baseline


FULL = Scale(cases=100_000, events=2_000_000, timers=1_000_000)
QUICK = Scale(
    cases=10_000,
    events=200_000,
    timers=100_000,
    zero_due_runs=9,
    page_samples=150,
    http_seconds=4.0,
    add_sample=500,
    transitions=500,
)


class Figures:
    """Prints one JSON line per figure, tagged with the backend and the run's scale."""

    def __init__(self, backend: str, n: int, out: IO[str] | None = None) -> None:
        self.backend = backend
        self.n = n
        self.out = out or sys.stdout
        self.printed: dict[str, float] = {}

    def emit(
        self, name: str, value: float, unit: str, target: float | None = None, **extra: Any
    ) -> None:
        """One figure; `target` is a minimum for rates and ratios, a maximum for times."""
        line = {"name": name, "value": value, "unit": unit, "target": target}
        line |= {"backend": self.backend, "n": self.n, **extra}
        print(json.dumps(line, ensure_ascii=False), file=self.out, flush=True)
        self.printed[name] = value


def say(text: str) -> None:
    """Progress and diagnostics go to stderr, so stdout stays JSON lines."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Seconds since the block began, frozen when it ends."""
    started = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - started
    ended.append(time.perf_counter())


def percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def ratio(ours: float, theirs: float) -> float | None:
    """How many times better ours is (rates: ours/theirs; pass times swapped)."""
    return round(ours / theirs, 2) if theirs else None
