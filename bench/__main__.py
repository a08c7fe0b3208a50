"""The benchmark suite: generate a municipality at scale, then measure, on each backend.

    python -m bench [--quick] [--backend sqlite|postgres|both] [--postgres-url URL]
                    [--only NAME] [--profile] [--load-client auto|wrk|python]

Full: 100,000 cases in every step, 2,000,000 audit events, 1,000,000 pending timers;
--quick: a tenth of that. Every figure is one JSON line on stdout, {"name", "value",
"unit", "target", "backend", "n"} (n: cases in the database; a target is a minimum for
rates and ratios, a maximum for times, null where there is none); progress, EXPLAIN
plans and profiles go to stderr. PostgreSQL runs in a fresh schema, dropped afterwards.
--only runs one group (timers, apscheduler, transitions, spiffworkflow, web, http) or
the group of a figure name, with the group its peer is compared to. --profile runs each
group under cProfile and prints its top entries (the figures are then slower). The load
for http_rps comes from wrk when it is installed, else from bench.load_client.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import psutil

from bench import http, sweep, transitions, web
from bench.common import FULL, QUICK, Figures, Scale, say, stopwatch
from bench.databases import POSTGRES_URL, Database, describe, fresh_database
from bench.generate import generate
from bench.peers import apscheduler, spiff

GROUPS = ("timers", "apscheduler", "transitions", "spiffworkflow", "web", "http")
NEEDS = {"apscheduler": "timers", "spiffworkflow": "transitions"}
# Figure names by their start, for --only NAME ("": the data only).
PREFIXES = (
    ("apscheduler", "apscheduler"),
    ("spiffworkflow", "spiffworkflow"),
    ("case_page", "web"),
    ("my_cases", "web"),
    ("http", "http"),
    ("rss", "http"),
    ("transitions", "transitions"),
    ("raw_sql", "transitions"),
    ("ms_per_transition", "transitions"),
    ("cpu_ms", "transitions"),
    *((start, "timers") for start in ("sweep", "claim", "stalled", "fire", "add_s", "startup")),
    *((start, "") for start in ("generate", "audit_events", "pending_timers")),
)


def groups_for(only: str | None) -> tuple[str, ...]:
    """The groups to run: all, or the one named (by group or figure) and what it needs."""
    if only is None:
        return GROUPS
    group = only if only in GROUPS else None
    group = (
        group
        if group is not None
        else next((g for start, g in PREFIXES if only.startswith(start)), None)
    )
    if group is None:
        raise ValueError(f"no group or figure {only!r}; groups: {', '.join(GROUPS)}")
    return tuple(g for g in GROUPS if g in (group, NEEDS.get(group)))


def run(
    database: Database,
    scale: Scale,
    groups: tuple[str, ...] = GROUPS,
    *,
    out: IO[str] | None = None,
    profile: bool = False,
    load_client: str = "auto",
) -> Figures:
    """Generate the data into the empty database, then measure each group in turn."""
    figures = Figures(database.backend, scale.cases, out)
    say(f"# generating {scale.cases:,} cases, {scale.events:,} events, {scale.timers:,} timers")
    with stopwatch() as took:
        generated = generate(database.engine, scale)
    figures.emit("generate_s", round(took(), 1), "s")
    figures.emit("audit_events", generated.events, "rows")
    figures.emit("pending_timers", generated.timers, "rows")
    both = (database, generated, scale, figures)
    done: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("timers", lambda: sweep.run(*both)),
        ("apscheduler", lambda: apscheduler.run(*both, done["timers"])),
        ("transitions", lambda: transitions.run(database, scale, figures)),
        ("spiffworkflow", lambda: spiff.run(database, scale, figures, done.get("transitions"))),
        ("web", lambda: web.run(database, scale, figures)),
        ("http", lambda: http.run(database, scale, figures, load_client)),
    ]
    for name, step in steps:
        if name in groups:
            say(f"# {name}")
            with profiled(name, profile), stopwatch() as took:
                done[name] = step()
            say(f"# {name}: {took():.1f} s")
    return figures


@contextmanager
def profiled(name: str, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        say(f"# profile of {name} (cumulative, then own time)")
        stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the full size")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--only", metavar="NAME", help="a group or a figure name")
    parser.add_argument("--profile", action="store_true", help="cProfile each group")
    parser.add_argument(
        "--load-client", choices=("auto", "wrk", "python"), default="auto", help="for http_rps"
    )
    args = parser.parse_args(argv)
    try:
        groups = groups_for(args.only)
    except ValueError as error:
        parser.error(str(error))
    scale = QUICK if args.quick else FULL
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    with stopwatch() as took:
        for backend in backends:
            with fresh_database(backend, args.postgres_url) as database:
                say(f"# {backend}: {describe(database)}; {machine()}")
                run(database, scale, groups, profile=args.profile, load_client=args.load_client)
    say(f"# done in {took():.0f} s; {machine()}")


if __name__ == "__main__":
    main()
