"""Every deadline of the design's table, reminded on the right working day at 07:00.

Cases are walked through the real services at a frozen time (so each deadline counts
from that day); the sweep then runs with an explicit `now`, never in the scheduler thread
and never under freezegun. `Sweeper.expect` walks a case's reminders in time order and
checks each one three ways: a sweep one minute before fires nothing, a sweep at the time
fires it exactly once to the right people, and a second sweep fires nothing.
"""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from freezegun import freeze_time
from mailserver import MailServer
from sqlalchemy.orm import Session

from vastbas import clock, demo, outbox
from vastbas.calendar import STOCKHOLM, add_working_days, holiday_name, is_working_day
from vastbas.db import session_factory
from vastbas.enums import CaseRole, MeetingKind
from vastbas.models import CaseDeadline, Notification, Timer
from vastbas.services import assignments, cases, meetings, plans
from vastbas.settings import Settings
from vastbas.sweep import SweepReport, claim_due, sweep
from vastbas.workflow import workflow_named

SETTINGS = Settings(base_url="https://vastbas.example")
WORKFLOW = workflow_named("vastbas")
LABELS = {d.label: d.name for d in WORKFLOW.deadlines.values()}
SUBJECT = re.compile(
    r"(?P<kind>Påminnelse|Försenat): (?P<what>.+) (?:senast|sedan) "
    r"(?P<due>\d{4}-\d{2}-\d{2}) – (?P<reference>\S+)"
)
ONE_MINUTE = timedelta(minutes=1)


def local(text: str) -> datetime:
    """A Stockholm wall-clock time as the UTC instant the code works with."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).astimezone(UTC)


def seven(day: str) -> datetime:
    """07:00 in Stockholm on a day: when reminders fire."""
    return local(f"{day}T07:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def label(name: str) -> str:
    """A deadline's label from the workflow file, as messages show it."""
    return WORKFLOW.deadlines[name].label


def notifications(engine: sa.Engine) -> list[Notification]:
    """Every notification, in the order it was made, read in a session of its own."""
    with session_factory(engine)() as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


@dataclass(frozen=True, order=True)
class Reminder:
    """What people were told: by which sweep, on which case, about what, and who."""

    at: datetime
    reference: str
    deadline: str
    due_on: date
    overdue: bool
    to: tuple[int, ...]


def reminder(
    at: datetime, reference: str, deadline: str, due: str, to: list[int | None], *, overdue=False
) -> Reminder:
    people = {p for p in to if p is not None}
    return Reminder(
        at, reference, deadline, date.fromisoformat(due), overdue, tuple(sorted(people))
    )


@dataclass(frozen=True)
class Who:
    """The people behind the roles of one case, by person id."""

    samordnare: int
    k1: int | None
    k2: int | None
    kontaktperson: int | None
    sprakror: int | None
    rektor: int | None


def who(walker: demo.Walker, people: demo.People) -> Who:
    case = walker.case

    def holder(role: CaseRole) -> int | None:
        assignment = case.current(role)
        return assignment.person_id if assignment else None

    return Who(
        samordnare=people.samordnare.id,
        k1=holder(CaseRole.KOORDINATOR_1),
        k2=holder(CaseRole.KOORDINATOR_2),
        kontaktperson=holder(CaseRole.KONTAKTPERSON),
        sprakror=holder(CaseRole.SPRAKROR),
        rektor=case.unit.rektor_id if case.unit else None,
    )


class Sweeper:
    """Runs the sweep at chosen instants and reads back what it told whom."""

    def __init__(self, engine: sa.Engine, db: Session) -> None:
        self.sessions = session_factory(engine)
        self.db = db
        self.seen = 0

    def run(self, now: datetime, settings: Settings = SETTINGS) -> tuple[SweepReport, list]:
        # No transaction (SQLite's write lock) may stay open in the test's own session.
        self.db.rollback()
        report = sweep(self.sessions, settings, now=now)
        return report, self.told()

    def told(self) -> list[Reminder]:
        """The reminders made since the last look, one per message, grouped by recipient."""
        groups: dict[tuple, set[int]] = {}
        for row in self.new_rows():
            match = SUBJECT.fullmatch(row.subject)
            assert match, row.subject
            key = (
                row.created_at,
                match["reference"],
                LABELS[match["what"]],
                date.fromisoformat(match["due"]),
                match["kind"] == "Försenat",
            )
            groups.setdefault(key, set()).add(row.recipient_id)
        return sorted(Reminder(*key, tuple(sorted(ids))) for key, ids in groups.items())

    def new_rows(self) -> list[Notification]:
        with self.sessions() as session:
            rows = list(
                session.scalars(
                    sa.select(Notification)
                    .where(Notification.id > self.seen, Notification.kind == "reminder")
                    .order_by(Notification.id)
                )
            )
        if rows:
            self.seen = rows[-1].id
        return rows

    def expect(self, *expected: Reminder, until: datetime) -> None:
        """Exactly these reminders, each at its time and not before, and none up to `until`."""
        for at in sorted({r.at for r in expected}):
            assert at <= until
            wanted = sorted(r for r in expected if r.at == at)
            report, told = self.run(at - ONE_MINUTE)
            assert told == [], f"fired before {at}: {told}"
            report, told = self.run(at)
            assert told == wanted
            assert report.fired + report.stalled == len(wanted)
            report, told = self.run(at)
            assert (told, report.fired, report.stalled) == ([], 0, 0)
        report, told = self.run(until)
        assert (told, report.fired, report.stalled) == ([], 0, 0)


@pytest.fixture
def people(db: Session) -> demo.People:
    made = municipality(db)
    db.commit()
    return made


@pytest.fixture
def sweeper(engine: sa.Engine, db: Session) -> Sweeper:
    return Sweeper(engine, db)


def walk(db: Session, people: demo.People, state: str, at: datetime, n: int = 1) -> demo.Walker:
    with freeze_time(at):
        return case_at(db, people, state, n=n)


def agree_on_plan(walker: demo.Walker, owner: int) -> None:
    """Network meeting 2 as the koordinatorer hold it: a plan with two dated actions.

    One action is owned by a person with an account (`owner`), the other only by a name.
    """
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    meeting = walker.call(
        meetings.book_meeting,
        actor=k1,
        kind=MeetingKind.NETWORK_MEETING_2,
        starts_at=clock.now() - timedelta(hours=1),
        place="Skolans konferensrum",
    )
    walker.call(meetings.hold_meeting, meeting.id, actor=k1, minutes="Handlingsplan gjord.")
    walker.call(
        plans.save_plan,
        actor=k1,
        goals=["Barnet är i skolan minst fyra dagar i veckan."],
        actions=[
            plans.ActionInput("Anpassat schema", "Mentor", date(2026, 11, 13)),
            plans.ActionInput(
                "Morgonstöd", "Specialpedagogen", date(2026, 12, 23), owner_person_id=owner
            ),
        ],
    )
    unit = walker.case.unit
    assert unit is not None and unit.rektor_id is not None
    walker.call(assignments.appoint_kontaktperson, unit.eht[0].id, actor=unit.rektor_id)
    walker.fire("complete_network_meeting_2", k1)


# The plan is agreed on Wednesday 28 October 2026, three days after the autumn change.
PLAN_AGREED = local("2026-10-28T10:00")


def planned_case(db: Session, people: demo.People) -> tuple[demo.Walker, int]:
    """A case whose plan was agreed at PLAN_AGREED; returns it and the action owner's id."""
    owner = people.units[1].eht[2].id  # a specialpedagog of another school
    walker = walk(db, people, "network_meeting_2", PLAN_AGREED)
    with freeze_time(PLAN_AGREED):
        agree_on_plan(walker, owner)
    return walker, owner


@pytest.mark.parametrize(
    ("registered", "reminded", "due", "overdue", "stall_due", "stalled"),
    [
        # Midsommarafton, Friday 19 June, is no working day: Monday 15 June + 5 working
        # days is Tuesday 23 June.
        ("2026-06-15", "2026-06-22", "2026-06-23", "2026-06-24", "2026-07-06", "2026-07-07"),
        # Nyårsafton, nyårsdagen and trettondedag jul: Monday 28 December + 5 working
        # days is Thursday 7 January.
        ("2026-12-28", "2027-01-05", "2027-01-07", "2027-01-08", "2027-01-18", "2027-01-19"),
    ],
    ids=["midsommar", "new-year"],
)
def test_an_assessment_reminds_the_samordnare_the_working_day_before_and_when_overdue(
    db, people, sweeper, registered, reminded, due, overdue, stall_due, stalled
):
    start = date.fromisoformat(registered)
    assert add_working_days(start, 5) == date.fromisoformat(due)
    assert add_working_days(date.fromisoformat(due), -1) == date.fromisoformat(reminded)
    skipped = [start + timedelta(days=d) for d in range(1, 11)]
    assert {"Midsommarafton", "Nyårsafton"} & {holiday_name(d) for d in skipped}

    walker = walk(db, people, "assessment", local(f"{registered}T09:00"))
    ref, sam = walker.reference, people.samordnare.id
    sweeper.expect(
        reminder(seven(reminded), ref, "assessment", due, [sam]),
        reminder(seven(overdue), ref, "assessment", due, [sam], overdue=True),
        # Nothing has happened on the case for 21 days.
        reminder(seven(stalled), ref, "stalled", stall_due, [sam], overdue=True),
        until=seven(stalled) + timedelta(days=60),
    )


def test_koordinator_1_deadlines_after_the_family_says_yes_across_the_spring_change(
    db, people, sweeper
):
    # The family says yes on Monday 2 March 2026 and network meeting 1 is booked at once
    # for Tuesday 31 March. Summer time starts on Sunday 29 March: 07:00 in Stockholm is
    # 06:00 UTC before it and 05:00 UTC after it.
    accepted = local("2026-03-02T09:00")
    walker = walk(db, people, "pre_meeting", accepted)
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    with freeze_time(accepted):
        walker.call(
            meetings.book_meeting,
            actor=k1,
            kind=MeetingKind.NETWORK_MEETING_1,
            starts_at=local("2026-03-31T13:00"),
            place="Kommunhuset",
        )
    ref, sam = walker.reference, people.samordnare.id
    sweeper.expect(
        # Invitations three weeks ahead: by Tuesday 10 March; reminded 2 working days before.
        reminder(utc("2026-03-06T06:00"), ref, "invitation", "2026-03-10", [k1]),
        reminder(utc("2026-03-11T06:00"), ref, "invitation", "2026-03-10", [k1], overdue=True),
        # The förmöte within 14 days: by Monday 16 March.
        reminder(utc("2026-03-17T06:00"), ref, "pre_meeting", "2026-03-16", [k1], overdue=True),
        reminder(utc("2026-03-24T06:00"), ref, "stalled", "2026-03-23", [sam], overdue=True),
        # Network meeting 1 within 30 days: by Wednesday 1 April, after the change.
        reminder(utc("2026-03-25T06:00"), ref, "network_meeting_1", "2026-04-01", [k1]),
        reminder(
            utc("2026-04-02T05:00"),
            ref,
            "network_meeting_1",
            "2026-04-01",
            [k1, sam],
            overdue=True,
        ),
        until=local("2026-06-30T12:00"),
    )


def test_network_meeting_2_is_reminded_across_the_autumn_change(db, people, sweeper):
    # Network meeting 1 is held on Thursday 24 September 2026: network meeting 2 is due 30
    # days later, Saturday 24 October, moved to Monday 26 October. Winter time starts on
    # Sunday 25 October: 07:00 in Stockholm is 05:00 UTC before it and 06:00 UTC after it.
    walker = walk(db, people, "network_meeting_2", local("2026-09-24T10:00"))
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    ref, sam = walker.reference, people.samordnare.id
    sweeper.expect(
        reminder(utc("2026-10-16T05:00"), ref, "stalled", "2026-10-15", [sam], overdue=True),
        reminder(utc("2026-10-19T05:00"), ref, "network_meeting_2", "2026-10-26", [k1]),
        reminder(
            utc("2026-10-27T06:00"), ref, "network_meeting_2", "2026-10-26", [k1], overdue=True
        ),
        until=local("2026-12-31T12:00"),
    )


def test_the_plan_starts_action_eht_sprakror_and_evaluation_reminders(db, people, sweeper):
    walker, owner = planned_case(db, people)
    p = who(walker, people)
    assert p.kontaktperson is not None and p.kontaktperson != owner
    ref, kp = walker.reference, p.kontaktperson
    assert not any(is_working_day(date(2026, 12, d)) for d in (24, 25, 26, 27))
    sweeper.expect(
        # "Anpassat schema", due Friday 13 November, owned by a name only.
        reminder(seven("2026-11-11"), ref, "action_due", "2026-11-13", [kp]),
        reminder(seven("2026-11-16"), ref, "action_due", "2026-11-13", [kp], overdue=True),
        reminder(seven("2026-11-19"), ref, "stalled", "2026-11-18", [p.samordnare], overdue=True),
        # The språkrör reports every four weeks, reminded the working day after.
        reminder(
            seven("2026-11-26"), ref, "sprakror_report", "2026-11-25", [p.sprakror], overdue=True
        ),
        # EHT: reminded after one month (28 November is a Saturday), overdue after two.
        reminder(seven("2026-11-27"), ref, "eht_raise", "2026-12-28", [kp]),
        # "Morgonstöd", due Wednesday 23 December; overdue after Christmas, to its owner too.
        reminder(seven("2026-12-21"), ref, "action_due", "2026-12-23", [kp]),
        reminder(seven("2026-12-28"), ref, "action_due", "2026-12-23", [kp, owner], overdue=True),
        reminder(
            seven("2026-12-28"), ref, "sprakror_report", "2026-12-23", [p.sprakror], overdue=True
        ),
        reminder(seven("2026-12-29"), ref, "eht_raise", "2026-12-28", [kp, p.rektor], overdue=True),
        reminder(
            seven("2027-01-21"), ref, "sprakror_report", "2027-01-20", [p.sprakror], overdue=True
        ),
        reminder(
            seven("2027-02-18"), ref, "sprakror_report", "2027-02-17", [p.sprakror], overdue=True
        ),
        reminder(
            seven("2027-03-18"), ref, "sprakror_report", "2027-03-17", [p.sprakror], overdue=True
        ),
        # Six months after the plan: Wednesday 28 April 2027; reminded two weeks before.
        reminder(seven("2027-04-14"), ref, "evaluation", "2027-04-28", [kp, p.k1, p.k2]),
        reminder(
            seven("2027-04-15"), ref, "sprakror_report", "2027-04-14", [p.sprakror], overdue=True
        ),
        reminder(
            seven("2027-04-29"), ref, "evaluation", "2027-04-28", [kp, p.k1, p.k2], overdue=True
        ),
        until=seven("2027-05-12"),
    )


def test_a_stalled_case_is_reminded_once_per_standstill_and_the_consent_after_a_year(
    db, people, sweeper
):
    # In the offer step (koordinatorer appointed) from Thursday 15 January 2026.
    walker = walk(db, people, "offer", local("2026-01-15T09:00"))
    p = who(walker, people)
    ref, sam = walker.reference, p.samordnare
    sweeper.expect(
        reminder(seven("2026-02-06"), ref, "stalled", "2026-02-05", [sam], overdue=True),
        until=local("2026-03-02T09:00"),
    )
    with freeze_time(local("2026-03-02T09:00")):
        walker.call(cases.record_child_voice, actor=p.k1, text="Vill börja i skolan igen.")
    sweeper.expect(
        reminder(seven("2026-03-24"), ref, "stalled", "2026-03-23", [sam], overdue=True),
        # Consent given on 15 January 2026 is reviewed after 12 months: Friday 15 January 2027.
        reminder(seven("2027-01-18"), ref, "consent_review", "2027-01-15", [p.k1], overdue=True),
        until=seven("2027-03-01"),
    )


def test_reminders_follow_the_role_to_a_new_koordinator(db, people, sweeper):
    walker = walk(db, people, "pre_meeting", local("2026-03-02T09:00"))
    before = who(walker, people)
    case = walker.case
    others = [
        c.person_id
        for c in assignments.koordinator_suggestions(db, case).eligible
        if c.person_id not in (before.k1, before.k2)
    ]
    pair = (others[0], others[1])
    with freeze_time(local("2026-03-05T09:00")):
        walker.call(assignments.appoint_koordinatorer, *pair, actor=before.samordnare)
    after = who(walker, people)
    assert (after.k1, after.k2) == pair
    ref, sam = walker.reference, before.samordnare
    sweeper.expect(
        reminder(seven("2026-03-17"), ref, "pre_meeting", "2026-03-16", [after.k1], overdue=True),
        reminder(seven("2026-03-25"), ref, "network_meeting_1", "2026-04-01", [after.k1]),
        reminder(seven("2026-03-27"), ref, "stalled", "2026-03-26", [sam], overdue=True),
        reminder(
            seven("2026-04-02"),
            ref,
            "network_meeting_1",
            "2026-04-01",
            [after.k1, sam],
            overdue=True,
        ),
        until=seven("2026-04-30"),
    )


def test_reminders_follow_the_role_to_a_new_kontaktperson(db, people, sweeper):
    walker, _ = planned_case(db, people)
    first = who(walker, people)
    unit = walker.case.unit
    assert unit is not None and unit.rektor_id is not None
    second = unit.eht[1].id
    with freeze_time(local("2026-11-02T10:00")):
        walker.call(assignments.appoint_kontaktperson, second, actor=unit.rektor_id)
    assert who(walker, people).kontaktperson == second != first.kontaktperson
    ref = walker.reference
    sweeper.expect(
        reminder(seven("2026-11-11"), ref, "action_due", "2026-11-13", [second]),
        reminder(seven("2026-11-16"), ref, "action_due", "2026-11-13", [second], overdue=True),
        until=seven("2026-11-18"),
    )


def deadline_timers(engine: sa.Engine, name: str) -> list[str]:
    with session_factory(engine)() as session:
        return list(
            session.scalars(
                sa.select(Timer.status)
                .join(CaseDeadline)
                .where(CaseDeadline.name == name)
                .order_by(Timer.id)
            )
        )


def test_leaving_a_step_cancels_its_timers_and_closing_the_case_cancels_all(
    db, engine, people, sweeper
):
    walker = walk(db, people, "pre_meeting", local("2026-03-02T09:00"))
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    sam = people.samordnare.id
    with freeze_time(local("2026-03-10T09:00")):
        walker.pre_meeting()  # held, network meeting 1 booked, complete_pre_meeting
    assert walker.case.state == "network_meeting_1"
    db.rollback()
    assert deadline_timers(engine, "pre_meeting") == ["cancelled"]
    ref = walker.reference
    sweeper.expect(
        reminder(seven("2026-03-25"), ref, "network_meeting_1", "2026-04-01", [k1]),
        reminder(seven("2026-04-01"), ref, "stalled", "2026-03-31", [sam], overdue=True),
        reminder(
            seven("2026-04-02"), ref, "network_meeting_1", "2026-04-01", [k1, sam], overdue=True
        ),
        until=local("2026-04-10T09:00"),
    )
    with freeze_time(local("2026-04-10T09:00")):
        walker.fire("refer_to_authority", k1, reason="Orosanmälan; socialtjänsten utreder.")
    db.rollback()
    with session_factory(engine)() as session:
        statuses = session.execute(
            sa.select(Timer.status, sa.func.count()).group_by(Timer.status)
        ).all()
    # Assessment (2) and förmöte (1) when their steps were left, the consent review (1) when
    # the case was closed; the two reminders of network meeting 1 had fired.
    assert dict(statuses) == {"cancelled": 4, "fired": 2}
    sweeper.expect(until=seven("2028-01-01"))


def test_a_deadline_already_past_when_made_fires_on_the_next_sweep_once(db, people, sweeper):
    booked = local("2026-03-02T09:00")
    walker = walk(db, people, "pre_meeting", booked)
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    with freeze_time(booked):
        # On Thursday 12 March: the invitations were due three weeks before, 19 February.
        walker.call(
            meetings.book_meeting,
            actor=k1,
            kind=MeetingKind.EXTRA,
            starts_at=local("2026-03-12T13:00"),
        )
    next_sweep = booked + ONE_MINUTE
    ref = walker.reference
    report, told = sweeper.run(next_sweep)
    assert told == [
        reminder(next_sweep, ref, "invitation", "2026-02-19", [k1]),
        reminder(next_sweep, ref, "invitation", "2026-02-19", [k1], overdue=True),
    ]
    assert report.fired == 2
    report, told = sweeper.run(next_sweep + ONE_MINUTE)
    assert (told, report.fired) == ([], 0)


def missed_in_100_days(p: Who, owner: int) -> list[tuple[str, int | None]]:
    """What the planned case should have told whom by 5 February 2027, in fire_at order."""
    spr, kp = p.sprakror, p.kontaktperson
    return [
        ("Påminnelse: Åtgärd klar senast 2026-11-13", kp),
        ("Försenat: Åtgärd klar sedan 2026-11-13", kp),
        (f"Försenat: {label('sprakror_report')} sedan 2026-11-25", spr),
        (f"Påminnelse: {label('eht_raise')} senast 2026-12-28", kp),
        ("Påminnelse: Åtgärd klar senast 2026-12-23", kp),
        ("Försenat: Åtgärd klar sedan 2026-12-23", owner),
        ("Försenat: Åtgärd klar sedan 2026-12-23", kp),
        (f"Försenat: {label('sprakror_report')} sedan 2026-12-23", spr),
        (f"Försenat: {label('eht_raise')} sedan 2026-12-28", kp),
        (f"Försenat: {label('eht_raise')} sedan 2026-12-28", p.rektor),
        (f"Försenat: {label('sprakror_report')} sedan 2027-01-20", spr),
        # Stalled cases are found by a query after the timers.
        (f"Försenat: {label('stalled')} sedan 2026-11-18", p.samordnare),
    ]


BACK_AFTER_100_DAYS = PLAN_AGREED + timedelta(days=100)  # Friday 5 February 2027


def told_in_order(engine: sa.Engine) -> list[tuple[str, int]]:
    return [(r.subject.split(" – ")[0], r.recipient_id) for r in notifications(engine)]


def test_after_100_days_down_every_missed_reminder_fires_once(db, engine, people, sweeper):
    walker, owner = planned_case(db, people)
    expected = missed_in_100_days(who(walker, people), owner)
    report, _ = sweeper.run(BACK_AFTER_100_DAYS)
    told = told_in_order(engine)
    assert sorted(told, key=repr) == sorted(expected, key=repr)
    assert (report.fired, report.stalled) == (9, 1)  # three of them språkrör periods
    # Every reminder that does not repeat comes in the order it was due.
    once = label("sprakror_report")
    assert [t for t in told if once not in t[0]] == [t for t in expected if once not in t[0]]
    report, _ = sweeper.run(BACK_AFTER_100_DAYS + ONE_MINUTE)
    assert (report.fired, report.stalled, len(notifications(engine))) == (0, 0, len(expected))


def test_after_100_days_down_missed_reminders_fire_in_fire_at_order(db, engine, people, sweeper):
    walker, owner = planned_case(db, people)
    sweeper.run(BACK_AFTER_100_DAYS)
    assert told_in_order(engine) == missed_in_100_days(who(walker, people), owner)


def test_a_crashed_sweeps_claim_is_taken_over_when_its_lease_ends(db, engine, people, sweeper):
    walker = walk(db, people, "assessment", local("2026-06-15T09:00"))
    due = seven("2026-06-22")
    db.rollback()
    with session_factory(engine)() as session:
        claimed = claim_due(session, now=due, token="crashed", lease_s=SETTINGS.lease_s, limit=10)
        session.commit()
    assert len(claimed) == 1  # the assessment reminder, never fired by its claimer
    report, told = sweeper.run(due + ONE_MINUTE)
    assert (told, report.fired) == ([], 0)
    taken_over = due + timedelta(seconds=SETTINGS.lease_s + 1)
    report, told = sweeper.run(taken_over)
    sam = people.samordnare.id
    assert told == [reminder(taken_over, walker.reference, "assessment", "2026-06-23", [sam])]
    assert report.fired == 1
    report, told = sweeper.run(taken_over + ONE_MINUTE)
    assert (told, report.fired) == ([], 0)


@pytest.fixture
def inbox() -> Iterator[tuple[MailServer, Settings]]:
    with MailServer() as mail:
        yield mail, replace(SETTINGS, smtp_host="127.0.0.1", smtp_port=mail.port, smtp_timeout_s=5)


def personnummer_forms(pnr: str) -> set[str]:
    """A personnummer as people write it: 12 or 10 digits, with or without the dash."""
    digits = re.sub(r"\D", "", pnr)
    assert len(digits) == 12
    forms = set()
    for number in (digits, digits[2:]):
        forms |= {number, f"{number[:-4]}-{number[-4:]}", f"{number[:-4]}+{number[-4:]}"}
    return forms


def test_reminder_mails_name_neither_the_child_nor_the_personnummer(
    db, engine, people, inbox, caplog
):
    caplog.set_level(logging.DEBUG)
    mail, settings = inbox
    walker, _ = planned_case(db, people)
    case = walker.case
    secrets = {case.child_name, *case.child_name.split()} | personnummer_forms(
        case.child_personnummer
    )
    assert personnummer_forms(demo.child_personnummer(1)) <= secrets
    db.rollback()
    sessions = session_factory(engine)
    back = seven("2027-05-03")
    sweep(sessions, settings, now=back)
    with sessions() as session:
        with_email = session.scalar(
            sa.select(sa.func.count()).where(Notification.email.is_not(None))
        )
    result = outbox.send_due(sessions, settings, now=back)
    assert result.sent == with_email == len(mail.received) > 5
    for raw in (received.raw for received in mail.received):
        message = email.message_from_bytes(raw, policy=default_policy)
        seen = [raw.decode("utf-8", "replace"), *(f"{k}: {v}" for k, v in message.items())]
        seen += [part.get_content() for part in message.walk() if not part.is_multipart()]
        assert walker.reference in message["Subject"]
        for text in seen:
            for secret in secrets:
                assert secret not in text
    # Nor do the log lines of the sweep and the sender (STYLE.md, 12).
    assert walker.reference in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
