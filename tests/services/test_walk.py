"""One child's case through all ten steps, a second turn of the spiral, a new period, the end.

Every call goes through the services as the person who would do it; after every accepted
change the test checks that exactly one audit event was written, by that person, and at the
end that no event carries the child's name or personnummer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from builders import municipality
from freezegun import freeze_time
from sip_walk import walk_sip
from sqlalchemy.orm import Session

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    ParticipantKind,
    Profession,
)
from vastbas.models import ActionPlan, Case, Event, Person
from vastbas.services import assignments, cases, followups, meetings, network, plans, transitions
from vastbas.services.base import load_case, roles_on
from vastbas.workflow import workflow_named, workflow_names

CHILD_NAME = "Alice Andersson"
CHILD_PNR = demo.fictional_personnummer(2015, 4, 12, 7)
TEN_STEPS = [
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "new_interventions", "evaluation",
]  # fmt: skip


@dataclass
class Story:
    """One case and the people around it; `act` calls a service as a user would."""

    db: Session
    people: demo.People
    reference: str = ""
    visited: list[str] = field(default_factory=list)

    @property
    def case(self) -> Case:
        self.db.expire_all()
        return self.db.scalars(sa.select(Case).where(Case.reference == self.reference)).one()

    def holder(self, role: CaseRole) -> int:
        assignment = self.case.current(role)
        assert assignment is not None, f"no {role} on the case"
        return assignment.person_id

    def act(self, fn: Callable[..., Any], *args: Any, actor: int, **kwargs: Any) -> Any:
        """Call a service on the version the actor sees; it must write one event, by them."""
        last = self.db.scalar(sa.select(sa.func.max(Event.id))) or 0
        version = self.case.version
        result = fn(self.db, self.reference, *args, actor=actor, expected_version=version, **kwargs)
        events = self.db.scalars(sa.select(Event).where(Event.id > last)).all()
        assert [(e.case_id, e.actor_id) for e in events] == [(self.case.id, actor)]
        assert self.case.version > version
        return result

    def fire(self, trigger: str, actor: int, reason: str | None = None) -> None:
        self.act(transitions.fire, trigger, actor=actor, reason=reason)
        self.visited.append(self.case.state)

    def missing(self, trigger: str, actor: int) -> tuple[str, ...]:
        """What the actor's checklist for `trigger` still lists as missing."""
        case = load_case(self.db, self.reference)
        person = self.db.get(Person, actor)
        assert person is not None
        offered = transitions.transitions_for(case, roles_on(case, person))
        found = [t for t in offered if t.trigger == trigger]
        assert found, f"{trigger} is not offered"
        return found[0].missing


def register(story: Story) -> None:
    """Step 1: the school's kurator registers the request with the guardian's consent."""
    unit = story.people.units[0]
    before = story.db.scalar(sa.select(sa.func.count()).select_from(Event))
    case = cases.register_request(
        story.db,
        actor=unit.eht[0].id,
        child_name=CHILD_NAME,
        child_personnummer=CHILD_PNR,
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        initiator_name="Mentor",
        background="Hög frånvaro sedan hösten.",
        consent_given_by="Vårdnadshavare",
        consent_actors=["skola", "socialtjänst"],
    )
    story.reference = case.reference
    assert story.db.scalar(sa.select(sa.func.count()).select_from(Event)) == before + 1
    year = local_date(clock.now()).year
    assert re.fullmatch(rf"VB-{year}-\d{{4}}", case.reference)
    case = story.case
    assert (case.state, case.period, case.outcome) == ("request", 1, None)
    assert case.active_consent is not None and case.active_consent.given_by == "Vårdnadshavare"
    story.visited.append(case.state)


def request_and_assessment(story: Story) -> None:
    """Steps 1–2: the samordnare assesses, and appoints two koordinatorer free of the case."""
    sam = story.people.samordnare.id
    story.fire("start_assessment", sam)
    assert story.case.state == "assessment"
    pair = assignments.koordinator_suggestions(story.db, load_case(story.db, story.reference))
    k1, k2 = pair.pairs[0]
    story.act(assignments.appoint_koordinatorer, k1.person_id, k2.person_id, actor=sam)
    case = story.case
    first, second = case.current(CaseRole.KOORDINATOR_1), case.current(CaseRole.KOORDINATOR_2)
    assert first is not None and second is not None
    assert first.person_id != second.person_id
    for assignment in (first, second):
        assert assignment.person.in_koordinator_pool
        assert assignment.person.unit_id != case.unit_id
        assert assignment.appointed_by_id == sam
    story.fire("accept_case", sam)
    assert story.case.state == "offer"


def offer(story: Story) -> None:
    """Step 3: K1 notes the child's voice; the family accepts the network meetings."""
    k1 = story.holder(CaseRole.KOORDINATOR_1)
    assert story.missing("family_accepts", k1) == ("Barnets röst är inte noterad.",)
    story.act(cases.record_child_voice, actor=k1, text="Vill gå i skolan men orkar inte.")
    assert story.case.child_voice == "Vill gå i skolan men orkar inte."
    story.fire("family_accepts", k1)
    assert story.case.state == "pre_meeting"


def held_meeting(story: Story, kind: MeetingKind, actor: int, **hold: Any) -> Any:
    meeting = story.act(
        meetings.book_meeting,
        actor=actor,
        kind=kind,
        starts_at=clock.now() - timedelta(hours=1),
        place="Skolans konferensrum",
    )
    story.act(meetings.hold_meeting, meeting.id, actor=actor, minutes="Mötet genomfört.", **hold)
    return meeting


def pre_meeting(story: Story) -> None:
    """Step 4: problem analysis, purpose, network map, språkrör, the förmöte, NM1 booked."""
    k1 = story.holder(CaseRole.KOORDINATOR_1)
    story.act(
        cases.set_problem_analysis,
        actor=k1,
        problem_analysis="Frånvaro sedan hösten.",
        purpose="Tillbaka i skolan med stöd som drar åt samma håll.",
    )
    for kind, name in ((ParticipantKind.VARDNADSHAVARE, "Vårdnadshavare 1"), ("skola", "Mentor")):
        story.act(network.add_network_entry, actor=k1, kind=kind, name=name, on_guest_list=True)
    story.act(
        assignments.appoint_sprakror,
        actor=k1,
        outside_name="Moster till barnet",
        trust_confirmed_by_guardian=True,
    )
    sprakror = story.case.current(CaseRole.SPRAKROR)
    assert sprakror is not None and sprakror.trust_confirmed_by_guardian
    assert not sprakror.person.has_login
    held_meeting(story, MeetingKind.PRE_MEETING, k1)
    story.act(
        meetings.book_meeting,
        actor=k1,
        kind=MeetingKind.NETWORK_MEETING_1,
        starts_at=clock.now() - timedelta(minutes=30),
    )
    assert story.missing("complete_pre_meeting", k1) == ()
    story.fire("complete_pre_meeting", k1)
    assert story.case.state == "network_meeting_1"


def network_meeting_1(story: Story) -> None:
    """Step 5: NM1 is held with the guest list; each participant takes homework."""
    k1 = story.holder(CaseRole.KOORDINATOR_1)
    meeting = next(m for m in story.case.meetings if m.kind == MeetingKind.NETWORK_MEETING_1)
    assert sorted(p.name for p in meeting.participants) == ["Mentor", "Vårdnadshavare 1"]
    homework = [meetings.Attendance(p.id, True, "Jag hämtar.") for p in meeting.participants]
    story.act(meetings.hold_meeting, meeting.id, actor=k1, minutes="Analys.", attendance=homework)
    story.fire("complete_network_meeting_1", k1)
    assert story.case.state == "network_meeting_2"


def network_meeting_2(story: Story) -> None:
    """Step 6: the handlingsplan (version 1) and the kontaktperson appointed by the rektor."""
    k1 = story.holder(CaseRole.KOORDINATOR_1)
    held_meeting(story, MeetingKind.NETWORK_MEETING_2, k1)
    due = clock.now().date() + timedelta(days=30)
    story.act(
        plans.save_plan,
        actor=k1,
        goals=["Barnet är i skolan fyra dagar i veckan."],
        actions=[plans.ActionInput("Morgonstöd", "Vårdnadshavare 1", due)],
    )
    plan = story.case.current_plan
    assert plan is not None and plan.version == 1
    assert [g.text for g in plan.goals] == ["Barnet är i skolan fyra dagar i veckan."]
    assert [(a.description, a.owner_name, a.due_on) for a in plan.actions] == [
        ("Morgonstöd", "Vårdnadshavare 1", due)
    ]
    unit = story.case.unit
    assert unit is not None and unit.rektor_id is not None
    kurator = next(p for p in unit.eht if p.profession == Profession.KURATOR)
    assert story.missing("complete_network_meeting_2", k1) == (
        "Kontaktperson är inte utsedd av rektor.",
    )
    story.act(assignments.appoint_kontaktperson, kurator.id, actor=unit.rektor_id)
    kontaktperson = story.case.current(CaseRole.KONTAKTPERSON)
    assert kontaktperson is not None and kontaktperson.person_id == kurator.id
    assert kontaktperson.appointed_by_id == unit.rektor_id
    assert kontaktperson.on_behalf_of_id is None
    story.fire("complete_network_meeting_2", k1)
    assert story.case.state == "interventions"


def interventions_and_follow_up(story: Story, then: str) -> None:
    """Steps 7–8: the kontaktperson starts an action and documents a follow-up."""
    kp = story.holder(CaseRole.KONTAKTPERSON)
    plan = story.case.current_plan
    assert plan is not None
    story.act(plans.set_action_status, plan.actions[0].id, ActionStatus.STARTED, actor=kp)
    action = story.case.current_plan.actions[0]  # type: ignore[union-attr]
    assert action.status == ActionStatus.STARTED and action.started_at is not None
    story.fire("start_follow_up", kp)
    assert story.case.state == "follow_up"
    story.act(followups.record_follow_up, actor=kp, kind=FollowUpKind.EHT, notes="Lyft i EHT.")
    story.fire(then, kp)


def new_interventions(story: Story, goal: str) -> None:
    """Step 9: a new version of the plan, then back to step 7."""
    kp = story.holder(CaseRole.KONTAKTPERSON)
    previous = story.case.current_plan
    assert previous is not None
    due = clock.now().date() + timedelta(days=21)
    story.act(
        plans.save_plan,
        actor=kp,
        goals=[goal],
        actions=[plans.ActionInput("Rastaktivitet", "Fritidsledare", due)],
        note="Reviderad efter uppföljningen.",
    )
    plan = story.case.current_plan
    assert plan is not None and plan.version == previous.version + 1
    assert [g.text for g in plan.goals] == [goal]
    story.fire("resume_interventions", kp)
    assert story.case.state == "interventions"


def evaluate(story: Story, decision: EvaluationDecision, trigger: str) -> None:
    """Step 10: the evaluation after six months decides to close or to continue."""
    kp = story.holder(CaseRole.KONTAKTPERSON)
    story.act(followups.record_evaluation, actor=kp, decision=decision, notes="Närvaron ökar.")
    story.fire(trigger, kp)


def walk_vastbas(story: Story) -> None:
    """The ten steps, the spiral turned twice, a new period, and the close."""
    db = story.db
    register(story)
    request_and_assessment(story)
    offer(story)
    pre_meeting(story)
    network_meeting_1(story)
    network_meeting_2(story)
    interventions_and_follow_up(story, then="plan_new_interventions")
    assert story.case.state == "new_interventions"
    new_interventions(story, "Barnet är i skolan hela veckan.")
    first = db.scalars(sa.select(ActionPlan).where(ActionPlan.version == 1)).one()
    assert [g.text for g in first.goals] == ["Barnet är i skolan fyra dagar i veckan."]
    interventions_and_follow_up(story, then="start_evaluation")
    assert (story.case.state, story.case.period) == ("evaluation", 1)

    evaluate(story, EvaluationDecision.CONTINUE, "continue_period")
    assert (story.case.state, story.case.period) == ("new_interventions", 2)
    new_interventions(story, "Barnet har en fritidsaktivitet.")
    assert story.case.current_plan.period == 2  # type: ignore[union-attr]
    interventions_and_follow_up(story, then="start_evaluation")
    evaluate(story, EvaluationDecision.CLOSE, "close_case")

    case = story.case
    assert (case.state, case.period, case.outcome) == ("closed", 2, "completed")
    assert workflow_named("vastbas").outcomes[case.outcome] == "Avslutat efter utvärdering"
    assert case.closed_at is not None
    assert case.assignments and all(a.ended_at is not None for a in case.assignments)
    assert [p.version for p in case.plans] == [1, 2, 3]
    assert story.visited == [
        *TEN_STEPS[:8], "new_interventions", "interventions", "follow_up", "evaluation",
        "new_interventions", "interventions", "follow_up", "evaluation", "closed",
    ]  # fmt: skip
    assert set(TEN_STEPS) <= set(story.visited)


# One walk description per workflow file (tests/sip_walk.py holds SIP's): the steps differ
# in what each needs, and a walk written out says what a user does better than a generic one.
WALKS: dict[str, Callable[[Story], None]] = {"vastbas": walk_vastbas, "sip": walk_sip}


def test_every_workflow_file_has_a_walk() -> None:
    assert sorted(WALKS) == workflow_names()


@pytest.mark.parametrize("name", workflow_names())
def test_a_case_walks_every_step_of_its_workflow_and_closes(db: Session, name: str) -> None:
    story = Story(db, municipality(db))
    WALKS[name](story)
    case = story.case
    workflow = workflow_named(name)
    assert case.workflow == name and case.state == "closed" and case.outcome == "completed"
    assert {s.name for s in workflow.steps} <= set(story.visited)
    assert case.closed_at is not None
    assert case.assignments and all(a.ended_at is not None for a in case.assignments)
    assert_no_event_names_the_child(db, case)


def assert_no_event_names_the_child(db: Session, case: Case) -> None:
    events = db.scalars(sa.select(Event).where(Event.case_id == case.id)).all()
    assert len(events) > 20
    digits = CHILD_PNR.replace("-", "")
    secrets = {*CHILD_NAME.split(), CHILD_PNR, digits, digits[2:], f"{digits[2:8]}-{digits[8:]}"}
    for event in events:
        text = json.dumps([event.action, event.before, event.after], ensure_ascii=False)
        assert not [s for s in secrets if s.casefold() in text.casefold()], text


def register_at(db: Session, people: demo.People, instant: str, n: int) -> str:
    with freeze_time(datetime.fromisoformat(instant).astimezone(UTC)):
        return demo.register(db, people, n, people.units[n % 2]).reference


def test_references_count_up_per_swedish_calendar_year(db: Session) -> None:
    people = municipality(db)
    # 22:59 UTC on New Year's Eve is 23:59 in Stockholm; 23:00 UTC is already 1 January.
    made = [
        register_at(db, people, "2026-06-01T09:00:00+00:00", 1),
        register_at(db, people, "2026-12-31T22:59:00+00:00", 2),
        register_at(db, people, "2026-12-31T23:00:30+00:00", 3),
        register_at(db, people, "2027-01-02T08:00:00+00:00", 4),
    ]

    assert made == ["VB-2026-0001", "VB-2026-0002", "VB-2027-0001", "VB-2027-0002"]
