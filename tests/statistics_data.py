"""A fixed, hand-countable set of twelve cases for the statistics tests.

Every case is made through the services at a frozen Stockholm time, so each figure of
the statistics can be counted by hand from the table below (today is 2026-10-15):

| # | registered (10:00 unless said) | from | unit | what happened |
|---|---|---|---|---|
| 1 | 01-15 | skola | U0 | 01-20 not a Västbas case |
| 2 | 01-22 | förälder | U1 | still in request (assessment due 01-29) |
| 3 | 02-10 | skola | U0 | 02-12 accepted, 02-20 family declines |
| 4 | 02-17 | BUP | U1 | 02-19 accepted, still in offer |
| 5 | 03-01 00:30 (Feb in UTC) | socialtjänst | U0 | 03-12 not a Västbas case |
| 6 | 03-16 | skola | U0 | 03-18 accepted and family accepts: pre_meeting |
| 7 | 04-07 00:30 (04-06 in UTC) | skola | U0 | plan 05-12 00:30 (35 d), closed 10-13 (154 d) |
| 8 | 04-14 | förälder | U1 | plan 05-05 (21 d), closed 09-29 (147 d) |
| 9 | 04-21 | skola | U0 | plan 05-26 (35 d), still in interventions |
| 10 | 05-05 | habilitering | U1 | 05-07 network meeting 1 held: network_meeting_2 |
| 11 | 05-19 | skola | U0 | plan 06-16 (28 d), myndighetsutövning 07-02 00:30 |
| 12 | 05-25 | polis | U1 | 05-27 accepted, 05-28 consent withdrawn |

Koordinatorer: K1 koordinator2 and K2 koordinator21 everywhere, except case 10 (K1
koordinator21, K2 koordinator3). Every date is in 2026; April to October is summer time,
so the lead times are whole days.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from builders import municipality
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import demo
from vastbas.calendar import STOCKHOLM
from vastbas.db import make_engine, session_factory
from vastbas.demo_cases import closer
from vastbas.enums import EvaluationDecision, InitiatorKind
from vastbas.models import Base
from vastbas.services import assignments, cases
from vastbas.workflow import workflow_named

TODAY = date(2026, 10, 15)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def local(text: str) -> datetime:
    """A Stockholm wall-clock time ("2026-03-01T00:30") as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).astimezone(UTC)


NOON_TODAY = local("2026-10-15T12:00")


@dataclass(frozen=True)
class World:
    """The data set's database and what the tests need to know about it."""

    engine: sa.Engine
    references: dict[int, str]
    units: tuple[int, int]
    unit_names: tuple[str, str]
    koordinatorer: dict[str, int]  # username -> person id
    child_names: tuple[str, ...]
    personnummer: tuple[str, ...]


def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Build the data set once on the requested backend (a module-scoped fixture's body)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("statistics") / "vastbas.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("new_postgres_schema")()
    Base.metadata.create_all(engine)
    with session_factory(engine)() as db:
        built = _build(db, engine)
    yield built
    if request.param == "sqlite":
        engine.dispose()


class _Builder:
    """Makes the cases at their times: one frozen clock, moved (starting freezegun is slow)."""

    def __init__(self, db: Session, people: demo.People, clock: Any) -> None:
        self.db = db
        self.people = people
        self.clock = clock
        self.sam = people.samordnare.id
        self.pool = {p.username: p.id for p in people.koordinatorer}

    def at(self, text: str) -> None:
        self.clock.move_to(local(text))

    def register(self, n: int, at: str, kind: InitiatorKind, unit: int) -> demo.Walker:
        self.at(at)
        case = cases.register_request(
            self.db,
            actor=self.people.units[unit].eht[0].id,
            child_name=f"Statistikbarn{n} Testsson",
            child_personnummer=demo.child_personnummer(100 + n),
            unit_id=self.people.units[unit].id,
            initiator_kind=kind,
            initiator_name="Mentor",
            consent_given_by="Vårdnadshavare",
            consent_actors=["skola", "socialtjänst"],
        )
        return demo.Walker(self.db, self.people, case.reference)

    def assess(
        self, walker: demo.Walker, at: str, k1: str = "koordinator2", k2: str = "koordinator21"
    ) -> None:
        """Start the assessment and accept the case with the given koordinator pair."""
        self.at(at)
        walker.request()
        walker.call(assignments.appoint_koordinatorer, self.pool[k1], self.pool[k2], actor=self.sam)
        walker.fire("accept_case", self.sam)

    def reject(self, walker: demo.Walker, at: str) -> None:
        self.at(at)
        walker.request()
        walker.fire("reject_case", self.sam, reason="Skolans elevhälsa räcker.")

    def to_plan(self, walker: demo.Walker, accepted: str, plan: str) -> None:
        """Accept at `accepted`, walk to network meeting 2, agree the plan at `plan`."""
        self.assess(walker, accepted)
        demo.walk_to(walker, "network_meeting_2")
        self.at(plan)
        walker.network_meeting_2()

    def complete(self, walker: demo.Walker, follow_up: str, closed: str) -> None:
        self.at(follow_up)
        walker.interventions()
        walker.follow_up()
        self.at(closed)
        walker.evaluate(EvaluationDecision.CLOSE)

    def end(self, walker: demo.Walker, trigger: str, at: str) -> None:
        """Close the case by `trigger`, fired by someone whose role allows it."""
        transition = workflow_named("vastbas").transition(trigger)
        assert transition is not None
        self.at(at)
        walker.fire(trigger, closer(walker, transition.roles), reason="Enligt testets plan.")


def _build(db: Session, engine: sa.Engine) -> World:
    with freeze_time(local("2026-01-02T08:00")) as clock:
        people = municipality(db)
        walkers = _cases(_Builder(db, people, clock))
        made = [walker.case for walker in walkers.values()]
    built = World(
        engine=engine,
        references={n: walker.reference for n, walker in walkers.items()},
        units=(people.units[0].id, people.units[1].id),
        unit_names=(people.units[0].name, people.units[1].name),
        koordinatorer={p.username or "": p.id for p in people.koordinatorer},
        child_names=tuple(case.child_name for case in made),
        personnummer=tuple(case.child_personnummer for case in made),
    )
    db.commit()
    return built


def _cases(b: _Builder) -> dict[int, demo.Walker]:
    """The twelve cases of the table above, in the order they happened."""
    w = {}
    w[1] = b.register(1, "2026-01-15T10:00", InitiatorKind.SKOLA, 0)
    b.reject(w[1], "2026-01-20T10:00")
    w[2] = b.register(2, "2026-01-22T10:00", InitiatorKind.FORALDER, 1)
    w[3] = b.register(3, "2026-02-10T10:00", InitiatorKind.SKOLA, 0)
    b.assess(w[3], "2026-02-12T10:00")
    b.end(w[3], "family_declines", "2026-02-20T10:00")
    w[4] = b.register(4, "2026-02-17T10:00", InitiatorKind.BUP, 1)
    b.assess(w[4], "2026-02-19T10:00")
    w[5] = b.register(5, "2026-03-01T00:30", InitiatorKind.SOCIALTJANST, 0)
    b.reject(w[5], "2026-03-12T10:00")
    w[6] = b.register(6, "2026-03-16T10:00", InitiatorKind.SKOLA, 0)
    b.assess(w[6], "2026-03-18T10:00")
    w[6].offer()
    w[7] = b.register(7, "2026-04-07T00:30", InitiatorKind.SKOLA, 0)
    b.to_plan(w[7], "2026-04-07T00:30", "2026-05-12T00:30")
    b.complete(w[7], "2026-06-02T10:00", "2026-10-13T00:30")
    w[8] = b.register(8, "2026-04-14T10:00", InitiatorKind.FORALDER, 1)
    b.to_plan(w[8], "2026-04-14T10:00", "2026-05-05T10:00")
    b.complete(w[8], "2026-06-02T10:00", "2026-09-29T10:00")
    w[9] = b.register(9, "2026-04-21T10:00", InitiatorKind.SKOLA, 0)
    b.to_plan(w[9], "2026-04-21T10:00", "2026-05-26T10:00")
    w[10] = b.register(10, "2026-05-05T10:00", InitiatorKind.HABILITERING, 1)
    b.assess(w[10], "2026-05-07T10:00", k1="koordinator21", k2="koordinator3")
    demo.walk_to(w[10], "network_meeting_2")
    w[11] = b.register(11, "2026-05-19T10:00", InitiatorKind.SKOLA, 0)
    b.to_plan(w[11], "2026-05-19T10:00", "2026-06-16T10:00")
    b.end(w[11], "refer_to_authority", "2026-07-02T00:30")
    w[12] = b.register(12, "2026-05-25T10:00", InitiatorKind.POLIS, 1)
    b.assess(w[12], "2026-05-27T10:00")
    b.end(w[12], "withdraw_consent", "2026-05-28T10:00")
    return w
