"""Several scheduler processes sweeping one PostgreSQL database fire each reminder once.

DESIGN.md ("Durability", "Scale path") promises that any number of scheduler processes
may sweep at once, and that a crashed one's claims are taken over when their lease ends.
These tests hold real OS processes to that: each runs this file as a script (see
`_child`), so every sweep has its own interpreter, connection pool and transactions.

The due timers are bulk-inserted with Core (walking 1,000 cases through the services
would take minutes); the people come from the demo municipality, and each timer's
reminder plan (recipients, overdue) comes from the workflow file as `start` makes it.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vastbas import demo
from vastbas.calendar import local_date
from vastbas.db import make_engine, session_factory
from vastbas.deadlines import plan_reminders
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.models import Assignment, Base, Case, CaseDeadline, Notification, Timer
from vastbas.settings import Settings
from vastbas.sweep import claim_due, sweep
from vastbas.workflow import workflow_named

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 6, 5, tzinfo=UTC)  # 07:05 in Stockholm, a Monday
# Each case gets these deadlines; their reminders go to 3 + 3, 1 + 2 and 2 people.
DEADLINES = ("evaluation", "network_meeting_1", "eht_raise")
TIMERS_PER_CASE = 5
HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
WAIT_S = 60
LEASE_S = 30


@dataclass(frozen=True)
class Schema:
    """A fresh PostgreSQL schema with every table: where all the processes meet."""

    url: str
    name: str
    engine: sa.Engine


@dataclass(frozen=True)
class Loaded:
    """What the database holds after loading: the due timers and who each one must reach."""

    timer_ids: set[int]
    expected: set[tuple[str, int]]  # (dedupe key, recipient id): one notification each


@pytest.fixture
def schema(postgres_url: str, new_postgres_schema: Any) -> Schema:
    engine = new_postgres_schema()
    Base.metadata.create_all(engine)
    with engine.connect() as connection:
        name = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    return Schema(postgres_url, name, engine)


def test_four_processes_sweeping_at_once_fire_every_timer_exactly_once(schema: Schema) -> None:
    loaded = load(schema.engine, cases=1000, stalled=40)
    assert len(loaded.timer_ids) == 5000

    reports = run_sweeps(schema, [f"sweeper-{i}" for i in range(4)], now=NOW, batch=100)

    assert sum(r["fired"] for r in reports) == 5000
    # Every process finds the stalled cases; the unique dedupe key lets one message through.
    assert all(r["stalled"] <= 40 for r in reports)
    with schema.engine.connect() as connection:
        told = connection.scalar(
            sa.select(sa.func.count()).where(Case.stall_reminded_for == Case.last_activity_at)
        )
    assert told == 40
    timers = timer_states(schema.engine)
    assert Counter(status for status, _token in timers.values()) == {"fired": 5000}
    # The processes really shared the work, and each one's report matches its claims.
    by_token = Counter(token for _status, token in timers.values())
    assert by_token == {r["token"]: r["fired"] for r in reports if r["fired"]}
    assert len(by_token) >= 2, by_token
    assert notifications(schema.engine) == loaded.expected


def test_a_killed_sweepers_claims_are_fired_once_by_another_after_the_lease(
    schema: Schema,
) -> None:
    loaded = load(schema.engine, cases=60)

    claimer = Child(schema, "claim", token="doomed", now=NOW, lease_s=LEASE_S, batch=100)
    claimed = set(json.loads(claimer.line()))
    claimer.process.send_signal(signal.SIGKILL)
    assert claimer.process.wait(WAIT_S) == -signal.SIGKILL
    assert len(claimed) == 100
    held = {i: s for i, s in timer_states(schema.engine).items() if s == ("claimed", "doomed")}
    assert held.keys() == claimed

    # Within the lease the dead process's rows are left alone; all the others fire.
    (early,) = run_sweeps(schema, ["early"], now=NOW, lease_s=LEASE_S)
    assert early["fired"] == 200
    # After the lease, the next sweep takes the dead process's rows over, once.
    later = NOW + timedelta(seconds=LEASE_S + 1)
    (late,) = run_sweeps(schema, ["late"], now=later, lease_s=LEASE_S)
    assert late["fired"] == 100

    timers = timer_states(schema.engine)
    assert {i for i, s in timers.items() if s == ("fired", "late")} == claimed
    assert Counter(status for status, _token in timers.values()) == {"fired": 300}
    assert notifications(schema.engine) == loaded.expected


# --- loading ------------------------------------------------------------------------------


def load(engine: sa.Engine, *, cases: int, stalled: int = 0) -> Loaded:
    """Bulk-insert `cases` open cases, each with 5 due timers; `stalled` more cases stand still.

    Every case has its own koordinator pair and kontaktperson; timers fire_at up to
    `cases` × 5 seconds before NOW, in the order of their ids.
    """
    workflow = workflow_named("vastbas")
    with session_factory(engine)() as db:
        people = demo.build_municipality(db)
        samordnare = people.samordnare.id
        schools = [u for u in people.units if u.eht][:4]
        rektor = {u.id: u.rektor_id for u in schools}
        eht = [(u.id, p.id) for u in schools for p in u.eht]
        koordinatorer = [p.id for p in people.koordinatorer]
    today = local_date(NOW)
    case_rows, assignment_rows, deadline_rows, timer_rows = [], [], [], []
    expected: set[tuple[str, int]] = set()
    timer_id = deadline_id = 0
    for case_id in range(1, cases + stalled + 1):
        unit_id, kontaktperson = eht[case_id % len(eht)]
        k1 = koordinatorer[case_id % len(koordinatorer)]
        k2 = koordinatorer[(case_id + 7) % len(koordinatorer)]
        holders = {
            "koordinator_1": k1,
            "koordinator_2": k2,
            "kontaktperson": kontaktperson,
            "samordnare": samordnare,
            "rektor": rektor[unit_id],
        }
        is_stalled = case_id > cases
        active = NOW - timedelta(days=60 if is_stalled else 1)
        case_rows.append(_case(case_id, unit_id, samordnare, active))
        appointed = (
            (CaseRole.KOORDINATOR_1, k1),
            (CaseRole.KOORDINATOR_2, k2),
            (CaseRole.KONTAKTPERSON, kontaktperson),
        )
        for role, person in appointed:
            assignment_rows.append(
                dict(
                    case_id=case_id,
                    role=role,
                    person_id=person,
                    started_at=active,
                    appointed_by_id=samordnare,
                )
            )
        if is_stalled:
            expected.add((f"stalled:{case_id}:{active:%Y%m%d%H%M%S%f}:{samordnare}", samordnare))
            continue
        for name in DEADLINES:
            definition = workflow.deadlines[name]
            due_on = today - timedelta(days=3)
            deadline_id += 1
            deadline_rows.append(
                dict(
                    id=deadline_id,
                    case_id=case_id,
                    name=name,
                    period=1,
                    due_on=due_on,
                    started_at=active,
                )
            )
            for planned in plan_reminders(definition, due_on):
                if name == "eht_raise" and not planned.overdue:
                    continue  # five timers a case: eht_raise only with its overdue one
                timer_id += 1
                timer_rows.append(
                    dict(
                        id=timer_id,
                        deadline_id=deadline_id,
                        case_id=case_id,
                        reminder_index=planned.index,
                        overdue=planned.overdue,
                        recipients=list(planned.to),
                        fire_at=NOW - timedelta(seconds=5 * cases - timer_id),
                        status="pending",
                    )
                )
                expected |= {(f"timer:{timer_id}:{holders[r]}", holders[r]) for r in planned.to}
    with engine.begin() as connection:
        connection.execute(sa.insert(Case), case_rows)
        connection.execute(sa.insert(Assignment), assignment_rows)
        connection.execute(sa.insert(CaseDeadline), deadline_rows)
        connection.execute(sa.insert(Timer), timer_rows)
        for table in ("cases", "case_deadlines", "timers"):
            # Explicit ids: move the sequences on, as the sweep may start new deadlines.
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
    assert len(timer_rows) == TIMERS_PER_CASE * cases
    return Loaded({row["id"] for row in timer_rows}, expected)


def _case(case_id: int, unit_id: int, registrar: int, active: datetime) -> dict[str, Any]:
    return dict(
        id=case_id,
        reference=f"VB-2026-{case_id:05d}",
        workflow="vastbas",
        state="interventions",
        child_name=f"Barn {case_id}",
        child_personnummer=demo.child_personnummer(case_id),
        unit_id=unit_id,
        initiator_kind=InitiatorKind.SKOLA,
        background="",
        registered_by_id=registrar,
        created_at=active - timedelta(days=90),
        state_entered_at=active,
        last_activity_at=active,
    )


def timer_states(engine: sa.Engine) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Timer.id, Timer.status, Timer.claim_token))
        return {row.id: (row.status, row.claim_token) for row in rows}


def notifications(engine: sa.Engine) -> set[tuple[str, int]]:
    """Every notification as (dedupe key, recipient); asserts there are no two alike."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Notification.dedupe_key, Notification.recipient_id))
        pairs = [(row.dedupe_key, row.recipient_id) for row in rows]
    assert len(pairs) == len(set(pairs))
    return set(pairs)


# --- the processes ------------------------------------------------------------------------


class Child:
    """This file run as a script in its own process, talking over stdin and stdout."""

    def __init__(self, schema: Schema, mode: str, **options: Any) -> None:
        arguments = [schema.url, schema.name, mode, json.dumps(options, default=str)]
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), *arguments],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        STARTED.append(self.process)

    def line(self) -> str:
        """The next line the child prints; fails with its stderr if it dies or hangs."""
        ready, _, _ = select.select([self.process.stdout], [], [], WAIT_S)
        text = self.process.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not text:
            self.process.kill()
            _out, err = self.process.communicate()
            pytest.fail(f"a {self.process.args[-2]} process gave no answer:\n{err}")
        return text.strip()

    def go(self) -> None:
        self.process.stdin.write("go\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def finish(self) -> dict[str, Any]:
        """Wait for a started child and check that it ended cleanly; its report."""
        try:
            out, err = self.process.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
            pytest.fail(f"a sweep did not end within {WAIT_S} s (deadlock?):\n{err}")
        assert (self.process.returncode, err) == (0, "")
        return json.loads(out)


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


def run_sweeps(schema: Schema, tokens: list[str], **options: Any) -> list[dict[str, Any]]:
    """One sweep process per token: all started and connected, then let go at once."""
    children = [Child(schema, "sweep", token=token, **options) for token in tokens]
    for child in children:
        assert child.line() == "ready"
    for child in children:
        child.go()
    return [child.finish() for child in children]


def _child(argv: list[str]) -> int:
    """A child process: `sweep` (wait for "go", sweep, print the report) or `claim`.

    `claim` claims one batch, commits, prints the ids and waits to be killed, like a
    scheduler that dies between its claim and firing.
    """
    url, schema, mode, raw = argv
    options = json.loads(raw)
    now = datetime.fromisoformat(options["now"])
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    sessions = session_factory(engine)
    with engine.connect():
        pass  # connected before "ready", so the start is not staggered by connecting
    workflow_named("vastbas")
    token = options["token"]
    if mode == "claim":
        with sessions() as db:
            ids = claim_due(
                db, now=now, token=token, lease_s=options["lease_s"], limit=options["batch"]
            )
            db.commit()
        print(json.dumps(ids), flush=True)
        sys.stdin.readline()
        return 1  # never reached: the test kills us first
    settings = Settings(
        base_url="https://vastbas.example",
        batch_size=options.get("batch", Settings.batch_size),
        lease_s=options.get("lease_s", Settings.lease_s),
    )
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    report = sweep(sessions, settings, now=now, token=token)
    print(json.dumps(dict(token=token, fired=report.fired, stalled=report.stalled)))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
