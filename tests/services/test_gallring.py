"""Gallring: a case closed longer than the period loses its personal data, nothing else does.

`build` makes a municipality with four cases: the target, closed in March 2024 after a
whole walk in which every text about the family says "hemlig"; a case closed in 2025 (too
recent); an open case; and a case closed in 2024 but reopened. `build_small` makes only a
case closed in March 2024 and one closed in 2025, for the tests about when and how often.
Thinning runs "on" 1 June 2026 with the default 24 months.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from builders import municipality
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import demo
from vastbas.calendar import STOCKHOLM
from vastbas.db import session_factory
from vastbas.enums import (
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    ParticipantKind,
)
from vastbas.errors import RuleBroken
from vastbas.models import ActionPlan, Base, Case, Event, Meeting, Person
from vastbas.scheduler import retention
from vastbas.services import (
    assignments,
    cases,
    deviations,
    followups,
    meetings,
    network,
    plans,
    transitions,
)
from vastbas.services.gallring import (
    anonymous_payload,
    cases_due_for_gallring,
    gallra,
)
from vastbas.settings import Settings

CLOSED_LONG_AGO = datetime(2024, 3, 4, 10, 0, tzinfo=STOCKHOLM)
CLOSED_RECENTLY = datetime(2025, 9, 1, 10, 0, tzinfo=STOCKHOLM)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=STOCKHOLM)
SETTINGS = Settings()
CHILD_NAME = "Tindra Hemligsson"
SECRET = "hemlig"  # in every text the test writes about the target's family
SPRAKROR_PHONE = "0701234599"
# Texts the demo walk writes into the target case (vastbas/demo.py); no other case has them.
DEMO_TEXTS = (
    "Frånvaro sedan hösten",
    "Få barnet tillbaka till skolan",
    "Vårdnadshavare 1",
    "Moster till barnet",
    "Kommunhuset, rum 3",
    "Skolans konferensrum",
    "Jag kan hämta på morgonen",
    "Gemensam behovsanalys",
    "Barnet är i skolan minst fyra dagar",
    "Morgonstöd hemifrån",
    "Anpassat schema",
    "Lyft i EHT",
)


@dataclass
class Scenario:
    target: str
    pnr: str
    recent: str
    open: str
    reopened: str


def register(db: Session, people: demo.People, n: int, name: str) -> str:
    unit = people.units[n % len(people.units)]
    return cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=name,
        child_personnummer=demo.child_personnummer(n),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        background="Skolan ser ett behov av samverkan.",
    ).reference


def build_target(db: Session, people: demo.People) -> str:
    """A case walked through every step, with a text about the family in every record."""
    unit = people.units[0]
    reference = cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=CHILD_NAME,
        child_personnummer=demo.child_personnummer(1),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.FORALDER,
        initiator_name="Morfar Hemlig",
        background="Hemlig bakgrund: familjen har flyttat tre gånger i år.",
        consent_given_by="Mamma Hemlig",
        consent_actors=["skola", "Farmor Hemlig"],
    ).reference
    walker = demo.Walker(db, people, reference)
    demo.walk_to(walker, "follow_up")
    kp = walker.holder(CaseRole.KONTAKTPERSON)
    walker.call(
        followups.record_follow_up,
        actor=kp,
        kind=FollowUpKind.MEETING,
        notes="Hemlig uppföljning: pappan har slutat svara.",
        reported_to_koordinator=True,
    )
    walker.fire("plan_new_interventions", kp)
    today = CLOSED_LONG_AGO.date()
    walker.call(
        plans.save_plan,
        actor=kp,
        goals=["Hemligt mål: sova hemma hos mormor varje fredag."],
        actions=[plans.ActionInput("Hemlig insats", "Hemlig moster Lena", today + timedelta(21))],
        note="Hemlig anteckning om planen.",
    )
    walker.fire("resume_interventions", kp)
    demo.walk_to(walker, "evaluation")
    walker.call(cases.record_child_voice, actor=kp, text="Hemligt: vill bo hos mormor.")
    walker.call(
        network.add_network_entry,
        actor=kp,
        kind=ParticipantKind.ANHORIGA,
        name="Mormor Hemlig",
        relation="Hemlig relation: mormor",
        on_guest_list=True,
    )
    walker.call(
        assignments.appoint_sprakror,
        actor=kp,
        outside_name="Granne Hemlig",
        outside_phone=SPRAKROR_PHONE,
        trust_confirmed_by_guardian=True,
    )
    meeting = walker.call(
        meetings.book_meeting,
        actor=kp,
        kind=MeetingKind.EXTRA,
        starts_at=CLOSED_LONG_AGO - timedelta(hours=1),
        place="Hemlig plats: familjens kök",
    )
    walker.call(
        meetings.hold_meeting,
        meeting.id,
        actor=kp,
        minutes="Hemligt protokoll: mamman grät.",
        attendance=[
            meetings.Attendance(p.id, True, "Hemlig hemläxa") for p in meeting.participants
        ],
    )
    walker.call(
        deviations.register_deviation, actor=kp, description="Hemlig avvikelse: BUP kom ej."
    )
    walker.call(
        followups.record_evaluation,
        actor=kp,
        decision=EvaluationDecision.CLOSE,
        notes="Hemlig utvärdering: målen nåddes delvis.",
    )
    walker.fire("refer_to_authority", kp, reason="Hemligt skäl: orosanmälan om våld.")
    # Today's services write no text into audit payloads; an event from an older version
    # (or a careless future one) may, and gallring must empty it too.
    db.add(
        Event(
            case_id=walker.case.id,
            at=CLOSED_LONG_AGO,
            action="note_from_older_version",
            before={"state": "Hemligt tillstånd", "kind": "eht"},
            after={"reason": "Hemlig text i loggen", "names": ["Mormor Hemlig"], "count": 2},
        )
    )
    db.commit()
    return reference


def close(db: Session, people: demo.People, reference: str) -> None:
    walker = demo.Walker(db, people, reference)
    walker.fire("refer_to_authority", people.samordnare.id, reason="Socialtjänsten tar över.")


def build(db: Session) -> Scenario:
    with freeze_time(CLOSED_LONG_AGO):
        people = municipality(db)
        target = build_target(db, people)
        reopened = register(db, people, 2, "Rut Återöppnad")
        close(db, people, reopened)
    with freeze_time(CLOSED_LONG_AGO + timedelta(days=30)):
        walker = demo.Walker(db, people, reopened)
        walker.fire("reopen", people.samordnare.id, reason="Nya uppgifter från skolan.")
    with freeze_time(CLOSED_RECENTLY):
        recent = register(db, people, 3, "Sixten Nyligen")
        close(db, people, recent)
        still_open = register(db, people, 4, "Ella Pågående")
    db.commit()
    return Scenario(target, demo.child_personnummer(1), recent, still_open, reopened)


def text_dump(db: Session) -> str:
    """Every text and JSON column of every row of every table, lower-cased."""
    parts = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.c if isinstance(c.type, sa.String | sa.JSON)]
        if not columns:
            continue
        for row in db.execute(sa.select(*columns)):
            parts += [json.dumps(v, ensure_ascii=False) for v in row if v is not None]
    return "\n".join(parts).lower()


def personal_data_found(dump: str, pnr: str) -> list[str]:
    digits = pnr.replace("-", "")
    needles = [
        SECRET,
        *CHILD_NAME.lower().split(),
        pnr,
        digits,
        digits[2:],
        pnr[2:],
        SPRAKROR_PHONE,
        *(t.lower() for t in DEMO_TEXTS),
    ]
    return [needle for needle in needles if needle in dump]


def rows_of(db: Session, reference: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to the case, table by table."""
    case_id = db.scalar(sa.select(Case.id).where(Case.reference == reference))
    plan_ids = sa.select(ActionPlan.id).where(ActionPlan.case_id == case_id)
    meeting_ids = sa.select(Meeting.id).where(Meeting.case_id == case_id)
    found = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "cases":
            where = table.c.id == case_id
        elif "case_id" in table.c:
            where = table.c.case_id == case_id
        elif "plan_id" in table.c:
            where = table.c.plan_id.in_(plan_ids)
        elif "meeting_id" in table.c:
            where = table.c.meeting_id.in_(meeting_ids)
        else:
            continue
        query = sa.select(table).where(where).order_by(*table.primary_key.columns)
        found[table.name] = [tuple(row) for row in db.execute(query)]
    return found


def everything(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: [
            tuple(row) for row in db.execute(sa.select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


def test_thinning_leaves_no_personal_data_of_the_case_anywhere(db: Session) -> None:
    scenario = build(db)
    written = personal_data_found(text_dump(db), scenario.pnr)
    expected = {SECRET, "tindra", scenario.pnr, SPRAKROR_PHONE, *map(str.lower, DEMO_TEXTS)}
    assert expected <= set(written), "the scenario lacks some personal data"

    report = gallra(db, NOW, SETTINGS, dry_run=False)

    assert [c.reference for c in report.thinned] == [scenario.target]
    assert personal_data_found(text_dump(db), scenario.pnr) == []
    event = db.scalars(sa.select(Event).where(Event.action == "gallra")).one()
    assert event.actor_id is None
    assert event.after["reference"] == scenario.target
    assert set(event.after["removed"]) == {
        "child", "request", "child_voice", "problem_analysis", "purpose", "outcome_reason",
        "consents", "network_map", "meetings", "meeting_participants", "plans", "goals",
        "actions", "follow_ups", "evaluations", "deviations", "outside_contacts",
        "event_payloads",
    }  # fmt: skip
    case = db.scalars(sa.select(Case).where(Case.reference == scenario.target)).one()
    assert case.gallrad_at == NOW


def test_thinning_keeps_the_statistics_and_the_structure_and_touches_no_other_case(
    db: Session,
) -> None:
    from vastbas.queries.statistics import statistics

    scenario = build(db)
    others = (scenario.recent, scenario.open, scenario.reopened)
    unit_id = db.scalar(sa.select(Case.unit_id).where(Case.reference == scenario.target))
    filters: list[dict[str, Any]] = [
        {"since": None, "until": None, "unit_id": None},
        {"since": CLOSED_LONG_AGO.date(), "until": NOW.date(), "unit_id": unit_id},
    ]
    figures = [statistics(db, **f) for f in filters]
    structure = structure_of(db, scenario.target)
    other_rows = {reference: rows_of(db, reference) for reference in others}
    db.rollback()

    gallra(db, NOW, SETTINGS, dry_run=False)

    db.expire_all()
    assert [statistics(db, **f) for f in filters] == figures
    assert structure_of(db, scenario.target) == structure
    assert {reference: rows_of(db, reference) for reference in others} == other_rows
    case = db.scalars(sa.select(Case).where(Case.reference == scenario.target)).one()
    closing = db.scalars(
        sa.select(Event).where(Event.case_id == case.id, Event.action == "refer_to_authority")
    ).one()
    assert (closing.before["state"], closing.after["state"]) == ("evaluation", "closed")
    assert closing.after["outcome"] == "referred_to_authority"


def structure_of(db: Session, reference: str) -> dict[str, Any]:
    """What statistics and the stepper read: steps, dates, roles, meetings, plan versions."""
    case = db.scalars(sa.select(Case).where(Case.reference == reference)).one()
    return {
        "case": (case.state, case.outcome, case.period, case.unit_id, case.initiator_kind,
                 case.created_at, case.closed_at, case.last_activity_at),
        "roles": [(a.role, a.person_id, a.started_at, a.ended_at) for a in case.assignments],
        "meetings": [(m.kind, m.starts_at, m.held_at, len(m.participants)) for m in case.meetings],
        "plans": [
            (p.version, p.created_at, [(a.status, a.due_on) for a in p.actions], len(p.goals))
            for p in case.plans
        ],
        "follow_ups": [(f.kind, f.held_on) for f in case.follow_ups],
        "evaluations": [(e.decision, e.recorded_at) for e in case.evaluations],
        "events": db.execute(
            sa.select(Event.action, Event.at, Event.actor_id)
            .where(Event.case_id == case.id, Event.action != "gallra")
            .order_by(Event.id)
        ).all(),
    }  # fmt: skip


def build_small(db: Session) -> tuple[str, str]:
    """A case closed in March 2024 (due on 4 March 2026) and one closed in 2025."""
    with freeze_time(CLOSED_LONG_AGO):
        people = municipality(db)
        old = register(db, people, 1, "Tindra Hemligsson")
        close(db, people, old)
    with freeze_time(CLOSED_RECENTLY):
        recent = register(db, people, 3, "Sixten Nyligen")
        close(db, people, recent)
    db.commit()
    return old, recent


def test_a_case_is_due_on_the_day_its_period_has_run_out(db: Session) -> None:
    old, recent = build_small(db)

    def due(now: datetime, settings: Settings = SETTINGS) -> list[str]:
        return [c.reference for c in cases_due_for_gallring(db, now, settings)]

    assert due(datetime(2026, 3, 3, 23, 59, tzinfo=STOCKHOLM)) == []
    assert due(datetime(2026, 3, 4, 0, 0, tzinfo=STOCKHOLM)) == [old]
    assert due(NOW, Settings(gallring_months=36)) == []
    assert due(NOW, Settings(gallring_months=6)) == [old, recent]


def test_a_dry_run_lists_the_due_cases_and_changes_nothing(db: Session) -> None:
    old, _recent = build_small(db)
    before = everything(db)

    report = gallra(db, NOW, SETTINGS, dry_run=True)

    assert [(c.reference, c.closed_at) for c in report.due] == [(old, CLOSED_LONG_AGO)]
    assert report.thinned == ()
    assert everything(db) == before


def test_the_nightly_job_run_twice_thins_once(db: Session, engine: sa.Engine) -> None:
    old, _recent = build_small(db)
    sessions = session_factory(engine)

    first = retention(sessions, SETTINGS, now=NOW)
    after_first = everything(db)
    db.rollback()  # on SQLite even a read holds the write lock (BEGIN IMMEDIATE)
    second = retention(sessions, SETTINGS, now=NOW + timedelta(days=1))

    assert [c.reference for c in first.thinned] == [old]
    assert (second.due, second.thinned) == ((), ())
    assert everything(db) == after_first
    gallringar = db.scalar(sa.select(sa.func.count()).where(Event.action == "gallra"))
    assert gallringar == 1


def test_a_case_that_cannot_be_thinned_is_reported_and_the_others_go_on(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    old, recent = build_small(db)
    # A case of a workflow whose file has since been removed cannot be read.
    db.execute(sa.update(Case).where(Case.reference == old).values(workflow="borttagen"))
    db.commit()

    with caplog.at_level(logging.ERROR, logger="vastbas.services.gallring"):
        report = gallra(db, NOW, Settings(gallring_months=6), dry_run=False)

    assert report.failed == (old,)
    assert [c.reference for c in report.thinned] == [recent]
    assert f"gallring: {old} failed" in caplog.text
    assert "Tindra" not in caplog.text
    names = dict(db.execute(sa.select(Case.reference, Case.child_name)).all())
    assert names == {old: "Tindra Hemligsson", recent: ""}


def test_a_thinned_case_takes_no_new_records_and_cannot_be_reopened(db: Session) -> None:
    old, _recent = build_small(db)
    gallra(db, NOW, SETTINGS, dry_run=False)
    case = db.scalars(sa.select(Case).where(Case.reference == old)).one()
    samordnare = db.scalars(sa.select(Person).where(Person.username == "samordnare")).one()
    db.rollback()

    assert transitions.available_transitions(case, samordnare) == []
    with pytest.raises(RuleBroken, match="gallrat"):
        transitions.fire(
            db, old, "reopen", actor=samordnare.id, expected_version=case.version,
            reason="Ny oro",
        )  # fmt: skip
    with pytest.raises(RuleBroken, match="gallrat"):
        deviations.register_deviation(
            db, old, actor=samordnare.id, expected_version=case.version, description="Text"
        )


def test_the_case_page_of_a_thinned_case_shows_its_structure_only(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    scenario = build(db)
    gallra(db, NOW, SETTINGS, dry_run=False)
    login_as("samordnare")

    page = client.get(f"/cases/{scenario.target}")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gallrad " in html and "2026-06-01</time>" in html
    assert "Personuppgifterna gallrade" in html
    assert "Utvärdering" in html and "Version 2" in html
    assert "2024-03-04 09:00" in html  # the extra meeting, still at its time
    assert personal_data_found(html.lower(), scenario.pnr) == []
    assert scenario.pnr[:8] not in html


def test_only_codes_numbers_and_flags_survive_in_an_audit_payload() -> None:
    payload = {
        "state": "closed",
        "outcome": "referred_to_authority",
        "starts_at": "2024-03-04T09:00:00+00:00",
        "person": 12,
        "held": True,
        "eht": [3, 4],
        "kind": "Mormor Hemlig",
        "reason": "orosanmälan",
        "names": ["Alice", 3],
        "removed": {"goals": 2, "text": "x"},
    }

    assert anonymous_payload(payload) == {
        "state": "closed",
        "outcome": "referred_to_authority",
        "starts_at": "2024-03-04T09:00:00+00:00",
        "person": 12,
        "held": True,
        "eht": [3, 4],
        "removed": {"goals": 2},
    }


def test_the_period_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).gallring_months == 24
    assert Settings.from_env({"VASTBAS_GALLRING_MONTHS": "36"}).gallring_months == 36
    with pytest.raises(ValueError, match="VASTBAS_GALLRING_MONTHS"):
        Settings.from_env({"VASTBAS_GALLRING_MONTHS": "0"})
