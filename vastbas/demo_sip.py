"""SIP demo cases, walked through the same services as Västbas by the people 001 names.

The rektor of the child's unit is the responsible manager who calls the meeting
(sammankallande); the kurator of the unit's EHT becomes the plan's samordnare, or a
socialsekreterare when the child is placed outside the home (001, p. 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import (
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
)
from vastbas.models import Case, Person, Unit
from vastbas.services import cases, coordination, followups, meetings, network, plans

WORKFLOW = "sip"
PATH = ["request", "invitation", "sip_meeting", "interventions", "follow_up"]
CONSENT_ACTORS = ["Skola", "Socialtjänst", "Sjukvård"]
REASONS = {
    "consent_not_given": "Vårdnadshavaren vill inte att en plan upprättas just nu.",
    "referred_to_authority": "Orosanmälan; socialtjänsten inleder en utredning.",
    "consent_withdrawn": "Vårdnadshavaren har återkallat samtycket.",
}


def register(db: Session, people: demo.People, n: int, unit: Unit, *, consent: bool = True) -> Case:
    """Register a SIP need for fictional child n (the same child as Västbas demo case n)."""
    return cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=demo.child_name(n),
        child_personnummer=demo.child_personnummer(n),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        initiator_name="Mentor",
        background="Insatser från både socialtjänst och sjukvård; behov av samordning.",
        consent_given_by="Vårdnadshavare" if consent else None,
        consent_actors=CONSENT_ACTORS if consent else (),
        workflow=WORKFLOW,
    )


class SipWalker(demo.Walker):
    """Carries a SIP case forward, one method per step, as the right person each time."""

    placed: bool = False

    def request(self) -> None:
        case = self.case
        unit = case.unit
        assert unit is not None and unit.rektor_id is not None
        sam = self.people.samordnare.id
        if case.active_consent is None or not case.active_consent.actors:
            self.call(
                cases.record_consent, actor=sam, given_by="Vårdnadshavare", actors=CONSENT_ACTORS
            )
        self.call(coordination.appoint_sammankallande, unit.rektor_id, actor=sam)
        self.fire("decide_sip", unit.rektor_id)

    def invitation(self) -> None:
        boss = self.holder(CaseRole.SAMMANKALLANDE)
        for kind, name in (
            (ParticipantKind.VARDNADSHAVARE, "Vårdnadshavare 1"),
            (ParticipantKind.SKOLA, "Mentor"),
            (ParticipantKind.SOCIALTJANST, "Socialsekreterare"),
            (ParticipantKind.SJUKVARD, "BUP-psykolog"),
        ):
            self.call(
                network.add_network_entry, actor=boss, kind=kind, name=name, on_guest_list=True
            )
        meeting = self.call(
            meetings.book_meeting,
            actor=boss,
            kind=MeetingKind.SIP_MEETING,
            starts_at=clock.now() - timedelta(hours=2),
            place="Kommunhuset, rum 3",
        )
        self.call(meetings.mark_invitations_sent, meeting.id, actor=boss)
        self.fire("invitations_done", boss)

    def sip_meeting(self) -> None:
        boss = self.holder(CaseRole.SAMMANKALLANDE)
        meeting = next(m for m in self.case.meetings if m.kind == MeetingKind.SIP_MEETING)
        self.call(
            meetings.hold_meeting,
            meeting.id,
            actor=boss,
            minutes="Gemensam helhetsbild; mål och ansvar överenskomna.",
        )
        today = local_date(clock.now())
        self.call(
            plans.save_plan,
            actor=boss,
            goals=["Barnet har en trygg skoldag och en samordnad vård."],
            actions=[
                plans.ActionInput(
                    "Skolan: anpassat schema, 3 dagar i veckan", "Mentor", today + timedelta(30)
                ),
                plans.ActionInput(
                    "Sjukvården: samtalskontakt varannan vecka",
                    "BUP-psykolog",
                    today + timedelta(45),
                ),
            ],
            note="Uppföljning om tre månader; samordnaren kallar.",
        )
        self.call(coordination.appoint_plan_samordnare, self._samordnare_for_plan(), actor=boss)
        self.fire("adopt_plan", boss)

    def interventions(self) -> None:
        lead = self.holder(CaseRole.PLAN_SAMORDNARE)
        self.start_first_action(lead)
        self.fire("start_follow_up", lead)

    def follow_up(self) -> None:
        self.evaluate(EvaluationDecision.CLOSE)

    def evaluate(self, decision: EvaluationDecision) -> None:
        lead = self.holder(CaseRole.PLAN_SAMORDNARE)
        self.call(
            followups.record_follow_up,
            actor=lead,
            kind=FollowUpKind.PHONE,
            notes="Uppföljning per telefon med uppföljningsblanketten.",
        )
        notes = {
            EvaluationDecision.CLOSE: "Målen är nådda; arbetet avslutas.",
            EvaluationDecision.CONTINUE: "Delvis nådda mål; en ny plan behövs.",
        }[decision]
        self.call(followups.record_evaluation, actor=lead, decision=decision, notes=notes)
        self.fire("close_case" if decision == EvaluationDecision.CLOSE else "make_new_plan", lead)

    def new_plan(self) -> None:
        lead = self.holder(CaseRole.PLAN_SAMORDNARE)
        today = local_date(clock.now())
        self.call(
            plans.save_plan,
            actor=lead,
            goals=["Barnet är i skolan hela veckan."],
            actions=[
                plans.ActionInput(
                    "Fritid: aktivitet efter skolan", "Fritidsledare", today + timedelta(21)
                )
            ],
            note="Ny plan efter uppföljningen.",
        )
        self.fire("resume_interventions", lead)

    def place_outside_home(self) -> None:
        """The child is placed outside the home: social services takes the coordination."""
        actor = self._someone_on_the_case()
        self.call(coordination.record_placement, actor=actor, placed=True)
        if self.case.current(CaseRole.PLAN_SAMORDNARE) is not None:
            self.call(
                coordination.appoint_plan_samordnare, self._samordnare_for_plan(), actor=actor
            )

    def _samordnare_for_plan(self) -> int:
        case = self.case
        if case.placed_outside_home_at is not None:
            social = self.db.scalars(
                sa.select(Person.id)
                .where(Person.organisation == Organisation.SOCIALTJANST, Person.active.is_(True))
                .where(Person.username.is_not(None))
                .order_by(Person.id)
            ).first()
            assert social is not None
            return social
        assert case.unit is not None
        return case.unit.eht[0].id

    def _someone_on_the_case(self) -> int:
        boss = self.case.current(CaseRole.SAMMANKALLANDE)
        return boss.person_id if boss is not None else self.people.samordnare.id


def walk_to(walker: SipWalker, state: str) -> None:
    """Move a SIP case forward along the main path until it is in `state`.

    new_plan is off the main path: a follow-up that decides to continue leads there.
    """
    if state == "new_plan":
        walk_to(walker, "follow_up")
        walker.evaluate(EvaluationDecision.CONTINUE)
        return
    if state not in PATH:
        raise ValueError(f"the SIP main path does not pass {state}; walk there by hand")
    while walker.case.state != state:
        getattr(walker, walker.case.state)()


@dataclass(frozen=True)
class SipDemoCase:
    """One SIP demo case: the Västbas demo child it belongs to, its step and outcome."""

    child: int
    step: str
    outcome: str | None = None
    placed: bool = False
    consent: bool = True


# Children 1–40 have Västbas demo cases; 2, 14, 17, 23 and 26 get a SIP beside it.
PLAN: tuple[SipDemoCase, ...] = (
    SipDemoCase(41, "request", consent=False),
    SipDemoCase(2, "request"),
    SipDemoCase(42, "invitation"),
    SipDemoCase(14, "invitation"),
    SipDemoCase(43, "sip_meeting"),
    SipDemoCase(44, "sip_meeting", placed=True),
    SipDemoCase(17, "interventions"),
    SipDemoCase(45, "interventions", placed=True),
    SipDemoCase(23, "follow_up"),
    SipDemoCase(46, "follow_up"),
    SipDemoCase(47, "new_plan"),
    SipDemoCase(26, "new_plan"),
    SipDemoCase(48, "follow_up", "completed"),
    SipDemoCase(49, "follow_up", "completed", placed=True),
    SipDemoCase(50, "request", "consent_not_given", consent=False),
    SipDemoCase(51, "sip_meeting", "referred_to_authority"),
    SipDemoCase(52, "interventions", "consent_withdrawn"),
)


def build_demo_cases(db: Session, people: demo.People) -> int:
    """Make every SIP case of PLAN not in the database yet; returns how many were made."""
    present = set(db.scalars(sa.select(Case.child_personnummer).where(Case.workflow == WORKFLOW)))
    made = 0
    for index, row in enumerate(PLAN):
        if demo.child_personnummer(row.child) in present:
            continue
        build_case(db, people, index, row)
        made += 1
    return made


def build_case(db: Session, people: demo.People, index: int, row: SipDemoCase) -> str:
    """Register one SIP demo case and walk it to its step (and outcome)."""
    unit = people.units[index % len(people.units)]
    case = register(db, people, row.child, unit, consent=row.consent)
    walker = SipWalker(db, people, case.reference)
    if row.placed:
        walker.place_outside_home()
    if row.outcome == "completed":
        walk_to(walker, "follow_up")
        walker.evaluate(EvaluationDecision.CLOSE)
        return case.reference
    walk_to(walker, row.step)
    if row.outcome is not None:
        from vastbas.demo_cases import close

        close(walker, row.outcome, REASONS[row.outcome])
    return case.reference
