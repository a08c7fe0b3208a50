"""Bulk-load a municipality at scale: cases in every step, audit events, pending timers.

The demo municipality is made through the services (accounts with the demo password);
everything else goes in through the driver in big batches (bench.bulk): units with a
rektor and an EHT, the koordinator pool, and the cases with what each step has
(bench.case_rows). People grow with the cases, so that a koordinator has a realistic
caseload (about 40 cases) and a rektor about 100 cases at the school.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench import bulk
from bench.case_mix import change_count, has_plan, natural_timer_count, step_of
from bench.case_rows import COLUMNS, TABLE_ORDER, Batch, Quota, School, World, add_case, staff_row
from bench.common import Scale, say
from vastbas import clock, demo
from vastbas.enums import Organisation, Profession, UnitKind
from vastbas.models import Base, Person, Unit, eht_members
from vastbas.workflow import Workflow, workflow_named

CASES_PER_CHUNK = 2_000
CASES_PER_UNIT = 100
CASES_PER_KOORDINATOR = 25  # two roles a case: about 40 open assignments each at full scale
DAY, YEAR = timedelta(days=1), timedelta(days=365)


@dataclass(frozen=True)
class Generated:
    """What the figures need to know about the generated data."""

    start: datetime  # "now" when it was generated; every timer fires after it
    fire_at: list[datetime]  # by timer id - 1
    recipients: list[int]  # how many people each timer reaches, by timer id - 1
    samordnare: int
    cases: int
    events: int
    timers: int


def generate(engine: sa.Engine, scale: Scale) -> Generated:
    """Create the tables and load `scale` cases, events and timers into the empty database."""
    Base.metadata.create_all(engine)
    workflow = workflow_named("vastbas")
    with Session(engine) as db:
        people = demo.build_municipality(db)
        samordnare = people.samordnare.id
        password_hash = people.samordnare.password_hash or ""
    start = clock.now().replace(microsecond=0)
    with engine.begin() as connection:
        schools, koordinatorer, names = _people(connection, scale, password_hash, start)
    slots = list(range(scale.timers))
    random.Random(20261123).shuffle(slots)
    step = (YEAR - DAY) / max(scale.timers, 1)
    world = World(
        workflow=workflow,
        start=start,
        samordnare=samordnare,
        schools=schools,
        koordinatorer=koordinatorer,
        names=names,
        fire_at=[start + DAY + slot * step for slot in slots],
        recipients=[0] * scale.timers,
    )
    extra_actions, reads = _quotas(scale, workflow)
    with engine.connect() as connection:
        ids = {table: _max_id(connection, table) for table in TABLE_ORDER if table != "events"}
    timers_left, events_left = [scale.timers], [scale.events]
    for first in range(1, scale.cases + 1, CASES_PER_CHUNK):
        batch = Batch(ids)
        for i in range(first, min(first + CASES_PER_CHUNK, scale.cases + 1)):
            quota = Quota(extra_actions.get(i, 0), reads[i - 1], timers_left, events_left)
            add_case(batch, world, i, quota)
        with engine.begin() as connection:
            for table in TABLE_ORDER:
                bulk.write(connection, table, COLUMNS[table], batch.rows.get(table, []))
        if first // CASES_PER_CHUNK % 10 == 0:
            say(f"  {min(first + CASES_PER_CHUNK - 1, scale.cases):,} cases loaded")
    with engine.begin() as connection:
        bulk.reset_sequences(connection, [t for t in (*TABLE_ORDER, "units") if t != "events"])
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")  # what autovacuum does after a bulk load
    return Generated(
        start=start,
        fire_at=world.fire_at,
        recipients=world.recipients,
        samordnare=samordnare,
        cases=scale.cases,
        events=scale.events - events_left[0],
        timers=scale.timers - timers_left[0],
    )


def _max_id(connection: sa.Connection, table: str) -> int:
    column = Base.metadata.tables[table].c.id
    return int(connection.scalar(sa.select(sa.func.coalesce(sa.func.max(column), 0))) or 0)


def _quotas(scale: Scale, workflow: Workflow) -> tuple[dict[int, int], list[int]]:
    """Extra actions per planned case and reads per case, so the totals come out exact."""
    cases = range(1, scale.cases + 1)
    natural = sum(natural_timer_count(i, workflow) for i in cases)
    planned = [i for i in cases if step_of(i) != "closed" and has_plan(step_of(i))]
    # Each extra action is one more action_due deadline with its two reminders.
    wanted = max(0, -(-(scale.timers - natural) // 2)) if planned else 0
    extra = {case: _share(k, wanted, len(planned)) for k, case in enumerate(planned)}
    reads_total = max(0, scale.events - sum(change_count(i) for i in cases))
    return extra, [_share(k, reads_total, scale.cases) for k in range(scale.cases)]


def _share(k: int, total: int, parts: int) -> int:
    """Part k of `total` split into `parts` shares as even as whole numbers allow."""
    return (k + 1) * total // parts - k * total // parts


def _people(
    connection: sa.Connection, scale: Scale, password_hash: str, at: datetime
) -> tuple[list[School], list[int], dict[int, str]]:
    """More schools (rektor, three EHT members) and koordinatorer as the cases grow."""
    units_t, persons_t = Unit.__table__, Person.__table__
    person_id = _max_id(connection, "persons")
    unit_id = _max_id(connection, "units")
    schools = _demo_schools(connection)
    koordinatorer = list(
        connection.scalars(
            sa.select(persons_t.c.id).where(persons_t.c.in_koordinator_pool).order_by("id")
        )
    )
    wanted_units = max(len(schools), scale.cases // CASES_PER_UNIT)
    units, staff, eht, rektorer = [], [], [], []
    for n in range(len(schools) + 1, wanted_units + 1):
        unit_id += 1
        kind = UnitKind.SKOLA if n % 7 < 4 else UnitKind.FORSKOLA
        org = Organisation.SKOLA if kind == UnitKind.SKOLA else Organisation.FORSKOLA
        units.append((unit_id, f"Enhet {n:05d}", kind, None))
        members = []
        for prefix, profession in (
            ("rektor", Profession.REKTOR),
            ("kurator", Profession.KURATOR),
            ("skoterska", Profession.SKOLSKOTERSKA),
            ("specped", Profession.SPECIALPEDAGOG),
        ):
            person_id += 1
            name = f"{prefix.capitalize()} {n}"
            login = (f"{prefix}{n}", name, org, profession, unit_id, password_hash, at)
            staff.append(staff_row(person_id, *login))
            members.append(person_id)
        rektorer.append({"unit": unit_id, "rektor": members[0]})
        eht += [(unit_id, member) for member in members[1:]]
        schools.append(School(unit_id, members[0], members[1:]))
    names: dict[int, str] = {}
    for k in range(len(koordinatorer) + 1, max(30, scale.cases // CASES_PER_KOORDINATOR) + 1):
        person_id += 1
        org = (Organisation.SKOLA, Organisation.FORSKOLA, Organisation.SOCIALTJANST)[k % 3]
        name = f"Koordinator {k}"
        home = schools[k % len(schools)].unit_id
        login = (f"koordinator{k}", name, org, Profession.LARARE, home, password_hash, at)
        staff.append(staff_row(person_id, *login, pool=True))
        koordinatorer.append(person_id)
        names[person_id] = name
    bulk.write(connection, "units", ("id", "name", "kind", "rektor_id"), units)
    bulk.write(connection, "persons", COLUMNS["persons"], staff)
    bulk.write(connection, "eht_members", ("unit_id", "person_id"), eht)
    if rektorer:
        connection.execute(
            units_t.update()
            .where(units_t.c.id == sa.bindparam("unit"))
            .values(rektor_id=sa.bindparam("rektor")),
            rektorer,
        )
    names |= dict(connection.execute(sa.select(persons_t.c.id, persons_t.c.name)).all())
    return schools, koordinatorer, names


def _demo_schools(connection: sa.Connection) -> list[School]:
    """The demo's schools and förskolor with their rektor and EHT members."""
    units_t = Unit.__table__
    rows = connection.execute(
        sa.select(units_t.c.id, units_t.c.rektor_id)
        .where(units_t.c.kind.in_([UnitKind.SKOLA, UnitKind.FORSKOLA]))
        .order_by(units_t.c.id)
    ).all()
    members = connection.execute(
        sa.select(eht_members.c.unit_id, eht_members.c.person_id).order_by(
            eht_members.c.unit_id, eht_members.c.person_id
        )
    ).all()
    return [
        School(unit, rektor, [person for u, person in members if u == unit])
        for unit, rektor in rows
    ]
