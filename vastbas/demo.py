"""A fictional municipality and cases in every step, made through the real services.

`walk_to` is also what the tests use to build a case at a given step, so tests and
demo data walk the same paths a user does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
    Profession,
    SystemRole,
    UnitKind,
)
from vastbas.models import Case, Person, PersonRole, Unit
from vastbas.services import (
    assignments,
    cases,
    followups,
    meetings,
    network,
    plans,
    transitions,
)
from vastbas.services.accounts import hash_password
from vastbas.services.base import load_case

DEMO_PASSWORD = "demo"
SCHOOLS = ["Hallernaskolan", "Kristinedalskolan", "Ödsmålsskolan", "Spekerödsskolan"]
FORSKOLOR = ["Förskolan Solrosen", "Förskolan Tallbacken", "Förskolan Ängen"]
FIRST_NAMES = [
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Anders", "Elin", "Per",
    "Lena", "Mikael", "Emma", "Jonas", "Sofia", "Nils", "Ida", "Fredrik", "Hanna", "Magnus",
    "Linnea", "Oskar", "Maja", "Gustav", "Ebba", "Viktor", "Klara", "Henrik", "Alva", "Björn",
]  # fmt: skip
LAST_NAMES = [
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
    "Bengtsson", "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Lindström", "Åberg",
]  # fmt: skip
CHILD_NAMES = [
    "Alice", "Liam", "Olivia", "William", "Astrid", "Hugo", "Elsa", "Noah", "Wilma", "Lucas",
    "Saga", "Adam", "Selma", "Elias", "Vera", "Oliver", "Stella", "Axel", "Freja", "Leo",
]  # fmt: skip

# The walk through the process, in order; `walk_to` stops at the wanted state.
PATH = [
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "evaluation",
]  # fmt: skip


@dataclass
class People:
    """The demo municipality's key people, by role."""

    samordnare: Person
    admin: Person
    koordinatorer: list[Person] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)


def fictional_personnummer(year: int, month: int, day: int, serial: int) -> str:
    """A checksum-valid personnummer in the 98xx serial range used for test data."""
    digits = f"{year % 100:02d}{month:02d}{day:02d}98{serial % 100:02d}"[:9]
    total = 0
    for i, ch in enumerate(digits):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    check = (10 - total % 10) % 10
    return f"{year}{month:02d}{day:02d}-{digits[6:]}{check}"


def child_name(n: int) -> str:
    """The name of fictional child n."""
    return f"{CHILD_NAMES[n % len(CHILD_NAMES)]} {LAST_NAMES[(n * 7) % len(LAST_NAMES)]}"


def child_personnummer(n: int) -> str:
    """The personnummer of fictional child n (the demo recognises its cases by it)."""
    return fictional_personnummer(2010 + n % 10, 1 + n % 12, 1 + n % 28, n)


def build_municipality(db: Session) -> People:
    """Units, rektorer, EHT, 30 koordinatorer, a samordnare and an admin (idempotent)."""
    existing = db.scalar(sa.select(Person).where(Person.username == "samordnare"))
    if existing is not None:
        return _load_people(db)
    now = clock.now()
    names = iter(f"{f} {last}" for last in LAST_NAMES for f in FIRST_NAMES)
    # Demo accounts only: every one logs in with DEMO_PASSWORD (hashed once, for speed).
    demo_hash = hash_password(DEMO_PASSWORD)

    def person(username: str | None, org: Organisation, prof: Profession, unit: Unit | None = None):  # type: ignore[no-untyped-def]
        p = Person(
            username=username,
            name=next(names),
            email=f"{username}@vastbas.example" if username else None,
            password_hash=demo_hash if username else None,
            organisation=org,
            profession=prof,
            unit=unit,
            created_at=now,
        )
        db.add(p)
        return p

    central = Unit(name="Centrala Barn- och Elevhälsan", kind=UnitKind.CENTRAL)
    ifo = Unit(name="IFO Barn och familj", kind=UnitKind.SOCIALTJANST)
    db.add_all([central, ifo])
    samordnare = person(
        "samordnare", Organisation.CENTRAL_ELEVHALSA, Profession.SAMORDNARE, central
    )
    samordnare.system_roles.append(PersonRole(role=SystemRole.SAMORDNARE))
    admin = person("admin", Organisation.CENTRAL_ELEVHALSA, Profession.ANNAN, central)
    admin.system_roles.append(PersonRole(role=SystemRole.ADMIN))
    units = []
    for i, name in enumerate(SCHOOLS + FORSKOLOR, start=1):
        school = name in SCHOOLS
        org = Organisation.SKOLA if school else Organisation.FORSKOLA
        unit = Unit(name=name, kind=UnitKind.SKOLA if school else UnitKind.FORSKOLA)
        db.add(unit)
        unit.rektor = person(f"rektor{i}", org, Profession.REKTOR, unit)
        unit.eht = [
            person(f"kurator{i}", org, Profession.KURATOR, unit),
            person(f"skoterska{i}", org, Profession.SKOLSKOTERSKA, unit),
            person(f"specped{i}", org, Profession.SPECIALPEDAGOG, unit),
        ]
        units.append(unit)
    koordinatorer = []
    for k in range(1, 31):
        if k <= 12:
            org, prof, unit = Organisation.SKOLA, Profession.LARARE, units[k % len(SCHOOLS)]
        elif k <= 20:
            org, prof = Organisation.FORSKOLA, Profession.FORSKOLLARARE
            unit = units[len(SCHOOLS) + k % len(FORSKOLOR)]
        else:
            org, prof, unit = Organisation.SOCIALTJANST, Profession.SOCIALSEKRETERARE, ifo
        p = person(f"koordinator{k}", org, prof, unit)
        p.in_koordinator_pool = True
        p.pool_active = True
        koordinatorer.append(p)
    db.commit()
    return People(samordnare, admin, koordinatorer, units)


def _load_people(db: Session) -> People:
    by_username = {p.username: p for p in db.scalars(sa.select(Person)) if p.username}
    units = db.scalars(
        sa.select(Unit).where(Unit.kind.in_([UnitKind.SKOLA, UnitKind.FORSKOLA])).order_by(Unit.id)
    ).all()
    return People(
        samordnare=by_username["samordnare"],
        admin=by_username["admin"],
        koordinatorer=[p for u, p in by_username.items() if u.startswith("koordinator")],
        units=list(units),
    )


def register(db: Session, people: People, n: int, unit: Unit, *, consent: bool = True) -> Case:
    """Register a demo request for fictional child number n at a unit."""
    return cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=child_name(n),
        child_personnummer=child_personnummer(n),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        initiator_name="Mentor",
        background="Hög frånvaro och oro hemma; flera aktörer behöver dra åt samma håll.",
        consent_given_by="Vårdnadshavare" if consent else None,
        consent_actors=["skola", "socialtjänst", "BUP"] if consent else (),
    )


class Walker:
    """Carries one case forward through the services, as the right person each time."""

    def __init__(self, db: Session, people: People, reference: str) -> None:
        self.db = db
        self.people = people
        self.reference = reference

    @property
    def case(self) -> Case:
        self.db.expire_all()
        return self.db.scalars(sa.select(Case).where(Case.reference == self.reference)).one()

    def holder(self, role: CaseRole) -> int:
        assignment = self.case.current(role)
        assert assignment is not None, f"{role} missing on {self.reference}"
        return assignment.person_id

    def fire(self, trigger: str, actor: int, reason: str | None = None) -> None:
        transitions.fire(
            self.db,
            self.reference,
            trigger,
            actor=actor,
            expected_version=self.case.version,
            reason=reason,
        )

    def call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        return fn(self.db, self.reference, *args, expected_version=self.case.version, **kwargs)

    # One method per step: do what the step needs, then leave it.
    def request(self) -> None:
        self.fire("start_assessment", self.people.samordnare.id)

    def assessment(self) -> None:
        case = load_case(self.db, self.reference)
        pair = assignments.koordinator_suggestions(self.db, case).pairs[0]
        sam = self.people.samordnare.id
        self.call(
            assignments.appoint_koordinatorer, pair[0].person_id, pair[1].person_id, actor=sam
        )
        self.fire("accept_case", sam)

    def offer(self) -> None:
        k1 = self.holder(CaseRole.KOORDINATOR_1)
        self.call(cases.record_child_voice, actor=k1, text="Vill gå i skolan men orkar inte.")
        self.fire("family_accepts", k1)

    def pre_meeting(self) -> None:
        k1 = self.holder(CaseRole.KOORDINATOR_1)
        self.call(
            cases.set_problem_analysis,
            actor=k1,
            problem_analysis="Frånvaro sedan hösten; oklart stöd i hemmet.",
            purpose="Få barnet tillbaka till skolan med stöd som drar åt samma håll.",
        )
        self.call(
            network.add_network_entry,
            actor=k1,
            kind=ParticipantKind.VARDNADSHAVARE,
            name="Vårdnadshavare 1",
            on_guest_list=True,
        )
        self.call(
            network.add_network_entry,
            actor=k1,
            kind=ParticipantKind.SKOLA,
            name="Mentor",
            on_guest_list=True,
        )
        self.call(
            assignments.appoint_sprakror,
            actor=k1,
            outside_name="Moster till barnet",
            trust_confirmed_by_guardian=True,
        )
        self._meeting(MeetingKind.PRE_MEETING, k1, timedelta(hours=3))
        self.call(
            meetings.book_meeting,
            actor=k1,
            kind=MeetingKind.NETWORK_MEETING_1,
            starts_at=clock.now() - timedelta(hours=2),
            place="Kommunhuset, rum 3",
        )
        self.fire("complete_pre_meeting", k1)

    def network_meeting_1(self) -> None:
        k1 = self.holder(CaseRole.KOORDINATOR_1)
        meeting = next(m for m in self.case.meetings if m.kind == MeetingKind.NETWORK_MEETING_1)
        attendance = [
            meetings.Attendance(p.id, True, "Jag kan hämta på morgonen.")
            for p in meeting.participants
        ]
        self.call(
            meetings.hold_meeting,
            meeting.id,
            actor=k1,
            minutes="Gemensam behovsanalys gjord; språkröret presenterat.",
            attendance=attendance,
        )
        self.fire("complete_network_meeting_1", k1)

    def network_meeting_2(self) -> None:
        k1 = self.holder(CaseRole.KOORDINATOR_1)
        self._meeting(MeetingKind.NETWORK_MEETING_2, k1, timedelta(hours=1))
        today = local_date(clock.now())
        self.call(
            plans.save_plan,
            actor=k1,
            goals=["Barnet är i skolan minst fyra dagar i veckan."],
            actions=[
                plans.ActionInput("Morgonstöd hemifrån", "Vårdnadshavare 1", today + timedelta(30)),
                plans.ActionInput("Anpassat schema", "Mentor", today + timedelta(14)),
            ],
        )
        unit = self.case.unit
        assert unit is not None and unit.rektor_id is not None
        self.call(assignments.appoint_kontaktperson, unit.eht[0].id, actor=unit.rektor_id)
        self.fire("complete_network_meeting_2", k1)

    def interventions(self) -> None:
        kp = self.holder(CaseRole.KONTAKTPERSON)
        self.start_first_action(kp)
        self.fire("start_follow_up", kp)

    def start_first_action(self, actor: int) -> None:
        """Start the current plan's first planned action."""
        plan = self.case.current_plan
        assert plan is not None
        first = next(a for a in plan.actions if a.status == ActionStatus.PLANNED)
        self.call(plans.set_action_status, first.id, ActionStatus.STARTED, actor=actor)

    def follow_up(self) -> None:
        kp = self.holder(CaseRole.KONTAKTPERSON)
        self.call(
            followups.record_follow_up,
            actor=kp,
            kind=FollowUpKind.EHT,
            notes="Lyft i EHT; närvaron ökar.",
            reported_to_koordinator=True,
        )
        self.fire("start_evaluation", kp)

    def ask_for_new_interventions(self) -> None:
        kp = self.holder(CaseRole.KONTAKTPERSON)
        self.call(
            followups.record_follow_up,
            actor=kp,
            kind=FollowUpKind.MEETING,
            notes="Närvaron har inte ökat; nätverket behöver nya insatser.",
            reported_to_koordinator=True,
        )
        self.fire("plan_new_interventions", kp)

    def new_interventions(self) -> None:
        kp = self.holder(CaseRole.KONTAKTPERSON)
        today = local_date(clock.now())
        self.call(
            plans.save_plan,
            actor=kp,
            goals=["Barnet är i skolan hela veckan."],
            actions=[plans.ActionInput("Rastaktivitet", "Fritidsledare", today + timedelta(21))],
            note="Reviderad efter uppföljning.",
        )
        self.fire("resume_interventions", kp)

    def evaluate(self, decision: EvaluationDecision) -> None:
        kp = self.holder(CaseRole.KONTAKTPERSON)
        notes = {
            EvaluationDecision.CLOSE: "Målen är nådda.",
            EvaluationDecision.CONTINUE: "Delvis nådda mål; insatserna fortsätter en ny period.",
        }[decision]
        self.call(followups.record_evaluation, actor=kp, decision=decision, notes=notes)
        self.fire("close_case" if decision == EvaluationDecision.CLOSE else "continue_period", kp)

    def _meeting(self, kind: MeetingKind, actor: int, ago: timedelta) -> None:
        meeting = self.call(
            meetings.book_meeting,
            actor=actor,
            kind=kind,
            starts_at=clock.now() - ago,
            place="Skolans konferensrum",
        )
        self.call(meetings.hold_meeting, meeting.id, actor=actor, minutes="Mötet genomfört.")


def walk_to(walker: Walker, state: str) -> None:
    """Move the walker's case forward along the main path until it is in `state`.

    Step 9 (new_interventions) is off the main path: it is reached from a follow-up
    that asks for new actions.
    """
    if state == "new_interventions":
        walk_to(walker, "follow_up")
        walker.ask_for_new_interventions()
        return
    if state not in PATH:
        raise ValueError(f"the main path does not pass {state}; walk there by hand")
    while walker.case.state != state:
        getattr(walker, walker.case.state)()
