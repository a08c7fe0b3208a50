"""The benchmark suite still runs: every figure, at a tiny size, on SQLite.

`python -m bench` takes minutes and is not part of the suite; this runs the same figure
functions on 200 cases, so a change that breaks the bench (a renamed service, a column
the generator does not fill, a sweep that no longer fires what it should) fails here.
The bench checks its own work as it goes (every timer fired once, every case moved).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from bench.__main__ import run
from bench.common import Scale
from bench.databases import fresh_database

TINY = Scale(
    cases=200,
    events=4_000,
    timers=2_000,
    due=200,
    zero_due_runs=2,
    page_samples=10,
    http_seconds=1,
    http_connections=2,
    users=2,
    add_sample=20,
    transitions=10,
)
# The figures issue 6 names, and the peers' comparisons.
NAMED = {
    "transitions_per_s",
    "transitions_ratio_raw_sql",
    "case_page_p50_ms",
    "case_page_p95_ms",
    "my_cases_p95_ms",
    "http_rps",
    "sweep_zero_due_ms",
    "fire_10k_s",
    "rss_mb",
    "apscheduler_jobstore_add_s",
    "apscheduler_jobstore_fire_10k_s",
    "apscheduler_jobstore_ratio_fire_10k",
    "spiffworkflow_transitions_per_s",
    "spiffworkflow_ratio_transitions",
}


def test_every_named_figure_is_one_json_line(tmp_path: Path) -> None:
    out = io.StringIO()
    with fresh_database("sqlite", folder=tmp_path) as database:
        run(database, TINY, out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    names = [line["name"] for line in lines]
    assert not NAMED - set(names), f"missing: {sorted(NAMED - set(names))}"
    assert len(names) == len(set(names)), "a figure was printed twice"
    for line in lines:
        assert {"name", "value", "unit", "target", "backend", "n"} <= line.keys()
        assert isinstance(line["value"], int | float), line
        assert (line["backend"], line["n"]) == ("sqlite", TINY.cases)
    by_name = {line["name"]: line for line in lines}
    assert by_name["pending_timers"]["value"] == TINY.timers
    assert by_name["audit_events"]["value"] == TINY.events
    assert by_name["case_page_p95_ms"]["target"] == 50
    assert by_name["http_rps"]["value"] > 0
