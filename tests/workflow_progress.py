"""What each workflow file's guarded transitions need done, so tests can move any case on.

Why this table must exist: the guards are data (names in the workflow file), but meeting
one takes domain actions — book and hold a meeting, write a plan, appoint someone — that
no file can describe. So for every transition with guards there is one function here that
does what those guards need, as the right people, and then fires it. Everything else the
tests derive from the file: which transitions leave a state, the path to a state
(`path_to`), who may fire (`someone_for`). The functions reuse the demo walkers (the same
steps the demo data and `case_at` take) and add only what a case poked at random needs:
meetings and network entries of this period, an action to start, a coordinating samordnare.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import timedelta

from vastbas import clock, demo
from vastbas.demo_sip import SipWalker
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    MeetingKind,
    Organisation,
    ParticipantKind,
)
from vastbas.guards import FAMILY_KINDS
from vastbas.services import cases, coordination, meetings, network, plans
from vastbas.workflow import Workflow

Step = Callable[[demo.Walker], None]


class Stuck(Exception):
    """A helpful call was refused: something done to the case before stands in the way."""


def start_assessment(w: demo.Walker) -> None:
    """A request needs the family's consent; a reopened case may have lost it."""
    sam = w.people.samordnare.id
    if w.case.active_consent is None:
        w.call(cases.record_consent, actor=sam, given_by="Vårdnadshavare", actors=["skola"])
    w.fire("start_assessment", sam)


def hold(w: demo.Walker, kind: MeetingKind, actor: int, *, homework: bool = False) -> None:
    """Hold a meeting of this kind in this period (booking one if none can be held)."""
    case = w.case
    mine = [m for m in case.meetings if m.kind == kind and m.period == case.period]
    if any(m.held_at and m.minutes and (not homework or _homework(m)) for m in mine):
        return
    ready = [
        m
        for m in mine
        if m.held_at is None and m.starts_at <= clock.now() and (m.participants or not homework)
    ]
    if ready:
        meeting_id, people = ready[0].id, [p.id for p in ready[0].participants]
    else:
        booked = w.call(
            meetings.book_meeting,
            actor=actor,
            kind=kind,
            starts_at=clock.now() - timedelta(hours=1),
            participant_names=("Mentor", "Vårdnadshavare") if homework else (),
        )
        meeting_id, people = booked.id, [p.id for p in booked.participants]
    attendance = (
        [meetings.Attendance(p, True, "Jag kan bidra.") for p in people] if homework else []
    )
    w.call(
        meetings.hold_meeting,
        meeting_id,
        actor=actor,
        minutes="Mötet hölls.",
        attendance=attendance,
    )


def _homework(meeting: object) -> bool:
    return any(p.homework for p in meeting.participants)  # type: ignore[attr-defined]


def complete_network_meeting_1(w: demo.Walker) -> None:
    k1 = w.holder(CaseRole.KOORDINATOR_1)
    hold(w, MeetingKind.NETWORK_MEETING_1, k1, homework=True)
    w.fire("complete_network_meeting_1", k1)


def complete_network_meeting_2(w: demo.Walker) -> None:
    """The walker's step, after putting back a family and a professional someone removed."""
    k1 = w.holder(CaseRole.KOORDINATOR_1)
    kinds = {e.kind for e in w.case.network if e.removed_at is None}
    if not kinds & FAMILY_KINDS:
        w.call(
            network.add_network_entry, actor=k1, kind=ParticipantKind.VARDNADSHAVARE, name="Mamma"
        )
    if not kinds - FAMILY_KINDS:
        w.call(network.add_network_entry, actor=k1, kind=ParticipantKind.SKOLA, name="Mentor")
    demo.Walker.network_meeting_2(w)


def start_follow_up(lead_role: CaseRole) -> Step:
    """Start an action of the plan unless one is under way, then go on to the follow-up."""

    def step(w: demo.Walker) -> None:
        lead = w.holder(lead_role)
        plan = w.case.current_plan
        assert plan is not None
        if not any(a.status in (ActionStatus.STARTED, ActionStatus.DONE) for a in plan.actions):
            planned = [a for a in plan.actions if a.status == ActionStatus.PLANNED]
            if not planned:
                raise Stuck("no action of the plan is left to start")
            w.call(plans.set_action_status, planned[0].id, ActionStatus.STARTED, actor=lead)
        w.fire("start_follow_up", lead)

    return step


def coordinate(w: SipWalker) -> None:
    """A plan names a samordnare, from social services while the child is placed (001, p. 10)."""
    case = w.case
    current = case.current(CaseRole.PLAN_SAMORDNARE)
    placed = case.placed_outside_home_at is not None
    if current is None or (placed and current.person.organisation != Organisation.SOCIALTJANST):
        boss = w.holder(CaseRole.SAMMANKALLANDE)
        w.call(coordination.appoint_plan_samordnare, w._samordnare_for_plan(), actor=boss)


def adopt_plan(w: SipWalker) -> None:
    boss = w.holder(CaseRole.SAMMANKALLANDE)
    hold(w, MeetingKind.SIP_MEETING, boss)
    due = clock.now().date() + timedelta(days=30)
    w.call(
        plans.save_plan,
        actor=boss,
        goals=["Trygg skoldag."],
        actions=[plans.ActionInput("Samtal varannan vecka", "BUP-psykolog", due)],
    )
    coordinate(w)
    w.fire("adopt_plan", w.holder(CaseRole.SAMMANKALLANDE))


def resume_sip(w: SipWalker) -> None:
    coordinate(w)
    SipWalker.new_plan(w)


def _evaluate(decision: EvaluationDecision) -> Step:
    return lambda w: w.evaluate(decision)  # type: ignore[attr-defined]


# Per workflow file: trigger -> what its guards need, then firing it. Only guarded
# transitions are here; the others need nothing but someone allowed (and a reason).
PROGRESS: dict[str, dict[str, Step]] = {
    "vastbas": {
        "start_assessment": start_assessment,
        "accept_case": demo.Walker.assessment,
        "family_accepts": demo.Walker.offer,
        "complete_pre_meeting": demo.Walker.pre_meeting,
        "complete_network_meeting_1": complete_network_meeting_1,
        "complete_network_meeting_2": complete_network_meeting_2,
        "start_follow_up": start_follow_up(CaseRole.KONTAKTPERSON),
        "plan_new_interventions": demo.Walker.ask_for_new_interventions,
        "resume_interventions": demo.Walker.new_interventions,
        "start_evaluation": demo.Walker.follow_up,
        "close_case": _evaluate(EvaluationDecision.CLOSE),
        "continue_period": _evaluate(EvaluationDecision.CONTINUE),
    },
    "sip": {
        "decide_sip": SipWalker.request,  # type: ignore[dict-item]
        "invitations_done": SipWalker.invitation,  # type: ignore[dict-item]
        "adopt_plan": adopt_plan,  # type: ignore[dict-item]
        "start_follow_up": start_follow_up(CaseRole.PLAN_SAMORDNARE),
        "close_case": _evaluate(EvaluationDecision.CLOSE),
        "make_new_plan": _evaluate(EvaluationDecision.CONTINUE),
        "resume_interventions": resume_sip,  # type: ignore[dict-item]
    },
}
WALKERS: dict[str, type[demo.Walker]] = {"vastbas": demo.Walker, "sip": SipWalker}


def path_to(workflow: Workflow, state: str) -> list[str]:
    """The shortest list of forward triggers (no reason asked) from the initial state."""
    paths = {workflow.initial.state: list[str]()}
    queue = deque([workflow.initial.state])
    while queue:
        here = queue.popleft()
        for t in workflow.transitions_from(here):
            if not t.requires_reason and t.dest not in paths:
                paths[t.dest] = [*paths[here], t.trigger]
                queue.append(t.dest)
    return paths[state]


def someone_for(w: demo.Walker, workflow: Workflow, roles: frozenset[str]) -> int:
    """Who on the case may act with these roles: a case role's holder, else the samordnare."""
    case = w.case
    for role in reversed(workflow.case_roles):
        assignment = case.current(CaseRole(role.name))
        if role.name in roles and assignment is not None:
            return assignment.person_id
    if "samordnare" in roles:
        return w.people.samordnare.id
    if "rektor" in roles and case.unit is not None and case.unit.rektor_id is not None:
        return case.unit.rektor_id
    raise Stuck(f"nobody on {w.reference} holds one of {sorted(roles)}")


def move_on(w: demo.Walker, workflow: Workflow, trigger: str, reason: str | None = None) -> None:
    """Do what the trigger's guards need and fire it, as someone allowed to."""
    step = PROGRESS[workflow.name].get(trigger)
    if step is not None:
        step(w)
        return
    transition = workflow.transition(trigger)
    assert transition is not None, trigger
    w.fire(trigger, someone_for(w, workflow, transition.roles), reason=reason)


def walk_to(w: demo.Walker, workflow: Workflow, state: str) -> None:
    """Move a newly registered case forward, by the file's shortest path, into `state`."""
    for trigger in path_to(workflow, state):
        move_on(w, workflow, trigger)
    assert w.case.state == state, (w.case.state, state)
