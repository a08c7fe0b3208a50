"""How a case ends, from every step of every workflow file, and how a closed case comes back.

Everything here is read from the workflow file: its open states, the transitions from each
into a final state (their outcome, roles and reason rule) and the transitions back from the
final state. A case reaches a step by the file's shortest path (tests/workflow_progress.py
does what each guarded transition on the way needs).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from builders import municipality
from sqlalchemy.orm import Session
from workflow_progress import WALKERS, move_on, path_to, someone_for, walk_to

from vastbas import demo
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.errors import InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.models import CaseDeadline, Event, Timer
from vastbas.services import cases
from vastbas.workflow import TransitionDef, Workflow, workflow_named, workflow_names

REASON = "Socialtjänsten har inlett en utredning."
BLANKS = (None, "", "  ")
STEPS = [(name, state) for name in workflow_names() for state in workflow_named(name).open_states]


def new_case(db: Session, people: demo.People, workflow: Workflow, n: int = 1) -> demo.Walker:
    """A request for fictional child n, with consent, at one of the units (n picks which)."""
    unit = people.units[n % len(people.units)]
    case = cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=demo.child_name(n),
        child_personnummer=demo.child_personnummer(n),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        background="Flera aktörer behöver dra åt samma håll.",
        consent_given_by="Vårdnadshavare",
        consent_actors=["skola", "socialtjänst"],
        workflow=workflow.name,
    )
    return WALKERS[workflow.name](db, people, case.reference)


def written(walker: demo.Walker) -> tuple[int, int, str]:
    """What a refused call must leave as it was: the version, the audit log, the step."""
    case = walker.case
    events = walker.db.scalar(sa.select(sa.func.count()).select_from(Event))
    return case.version, events, case.state


def open_deadlines(walker: demo.Walker) -> list[str]:
    case_id = walker.case.id
    names = walker.db.scalars(
        sa.select(CaseDeadline.name).where(
            CaseDeadline.case_id == case_id, CaseDeadline.closed_at.is_(None)
        )
    )
    return sorted(names)


def pending_timers(walker: demo.Walker) -> int:
    where = (Timer.case_id == walker.case.id, Timer.status == "pending")
    return walker.db.scalar(sa.select(sa.func.count()).select_from(Timer).where(*where)) or 0


def last_event(db: Session) -> Event:
    return db.scalars(sa.select(Event).order_by(Event.id.desc()).limit(1)).one()


def close(walker: demo.Walker, workflow: Workflow, way: TransitionDef) -> None:
    """Leave by `way`: what its guards need if it has any, else just fire it (with a reason)."""
    move_on(walker, workflow, way.trigger, REASON if way.requires_reason else None)


def test_every_outcome_of_a_file_is_where_some_transition_ends() -> None:
    for name in workflow_names():
        workflow = workflow_named(name)
        ends = {t.outcome for t in workflow.transitions if workflow.is_final(t.dest)}
        assert ends == set(workflow.outcomes), name


@pytest.mark.parametrize(("name", "state"), STEPS)
def test_every_way_out_of_a_step_closes_the_case_with_its_outcome(
    db: Session, name: str, state: str
) -> None:
    workflow, people = workflow_named(name), municipality(db)
    ways = [t for t in workflow.transitions_from(state) if workflow.is_final(t.dest)]
    assert {"referred_to_authority", "consent_withdrawn"} <= {t.outcome for t in ways}
    for n, way in enumerate(ways, start=1):
        walker = new_case(db, people, workflow, n)
        walk_to(walker, workflow, state)
        if way.requires_reason:
            before = written(walker)
            closer = someone_for(walker, workflow, way.roles)
            with pytest.raises(InvalidInput) as refused:
                walker.fire(way.trigger, closer, reason=BLANKS[n % len(BLANKS)])
            assert refused.value.message == "Ange ett skäl."
            assert written(walker) == before
        close(walker, workflow, way)
        assert_closed(walker, workflow, way, state)


def assert_closed(walker: demo.Walker, workflow: Workflow, way: TransitionDef, state: str) -> None:
    """The outcome and its reason are recorded, and nothing is left running on the case."""
    case = walker.case
    assert (case.state, case.outcome) == (way.dest, way.outcome)
    assert workflow.outcomes[case.outcome]  # a label to show
    assert case.outcome_reason == (REASON if way.requires_reason else None)
    assert case.closed_at is not None
    assert all(a.ended_at is not None for a in case.assignments)
    assert open_deadlines(walker) == [] and pending_timers(walker) == 0
    event = last_event(walker.db)
    assert (event.action, event.before["state"], event.after["state"]) == (
        way.trigger,
        state,
        way.dest,
    )
    assert REASON not in str(event.after)
    if way.outcome == "consent_withdrawn":
        assert case.consents and all(c.withdrawn_at is not None for c in case.consents)
    else:
        assert case.active_consent is not None


def walk_until_someone_but_the_rektor_holds_a_role(
    walker: demo.Walker, workflow: Workflow
) -> tuple[str, int]:
    """Along the main path to the first step where a case role is held by a staff member."""
    rektor = walker.case.unit.rektor_id  # type: ignore[union-attr]
    for trigger in path_to(workflow, workflow.steps[-1].name):
        holders = [(a.role.value, a.person_id) for a in walker.case.assignments]
        others = [(role, p) for role, p in holders if p != rektor]
        if others:
            return others[0]
        move_on(walker, workflow, trigger)
    raise AssertionError(f"no case role is held on the way through {workflow.name}")


@pytest.mark.parametrize("name", workflow_names())
def test_a_closed_case_takes_only_the_files_ways_back_by_their_roles(
    db: Session, name: str
) -> None:
    workflow, people = workflow_named(name), municipality(db)
    walker = new_case(db, people, workflow)
    role, former = walk_until_someone_but_the_rektor_holds_a_role(walker, workflow)
    state = walker.case.state
    refer = next(
        t for t in workflow.transitions_from(state) if t.outcome == "referred_to_authority"
    )
    close(walker, workflow, refer)
    final = workflow.state(walker.case.state)
    sam, rektor = people.samordnare.id, walker.case.unit.rektor_id  # type: ignore[union-attr]
    before = written(walker)

    for t in workflow.transitions:
        if final.name in t.sources:
            continue
        with pytest.raises(RuleBroken) as refused:
            walker.fire(t.trigger, sam, reason="Försök.")
        assert f"steget {final.label}" in refused.value.message
    with pytest.raises(NotFound):  # the appointment ended with the case
        walker.fire(workflow.transitions_from(final.name)[0].trigger, former, reason="Ny oro.")
    assert written(walker) == before

    for back in workflow.transitions_from(final.name):
        assert rektor is not None and "rektor" not in back.roles and "samordnare" in back.roles
        with pytest.raises(NotAllowed):  # the rektor sees the case but may not do this
            walker.fire(back.trigger, rektor, reason="Ny oro.")
        if back.requires_reason:
            with pytest.raises(InvalidInput):
                walker.fire(back.trigger, sam, reason="  ")
        assert written(walker) == before
    back = workflow.transitions_from(final.name)[0]
    walker.fire(back.trigger, sam, reason="Ny oro från skolan.")

    case = walker.case
    assert (case.state, case.outcome, case.closed_at) == (back.dest, None, None)
    assert case.period == 1 + (1 if back.new_period else 0)
    assert case.current(CaseRole(role)) is None
    assert open_deadlines(walker) == sorted(back.starts)
    forward = path_to(workflow, workflow.steps[1].name)[-1]
    move_on(walker, workflow, forward)  # the consent was never withdrawn
    assert walker.case.state == workflow.steps[1].name


@pytest.mark.parametrize("name", workflow_names())
def test_withdrawn_consent_stays_withdrawn_and_a_reopened_case_needs_new_consent(
    db: Session, name: str
) -> None:
    workflow, people = workflow_named(name), municipality(db)
    walker = new_case(db, people, workflow)
    second = workflow.steps[1].name
    walk_to(walker, workflow, second)
    sam = people.samordnare.id
    walker.call(cases.record_consent, actor=sam, given_by="Vårdnadshavare 2", actors=["BUP"])
    withdraw = next(
        t for t in workflow.transitions_from(second) if t.outcome == "consent_withdrawn"
    )
    close(walker, workflow, withdraw)
    assert len(walker.case.consents) == 2 and walker.case.active_consent is None
    back = workflow.transitions_from(walker.case.state)[0]
    walker.fire(back.trigger, sam, reason="Familjen hör av sig igen.")
    assert walker.case.active_consent is None

    forward = workflow.transition(path_to(workflow, second)[-1])
    assert forward is not None
    with pytest.raises(RuleBroken) as refused:
        walker.fire(forward.trigger, someone_for(walker, workflow, forward.roles))
    assert any("samtycke" in reason.lower() for reason in refused.value.reasons)
    move_on(walker, workflow, forward.trigger)  # records a new consent on the way
    case = walker.case
    assert (case.state, case.period) == (second, 2)
    assert case.active_consent is not None and len(case.consents) == 3
