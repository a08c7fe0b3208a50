"""Random walks through every workflow file: the file, not the code, says what may happen.

One Hypothesis state machine, run once per file in workflows/ and per database. Each example
registers a case of that workflow; each step either makes progress (what the next step's
guards need, by the right people), pokes the case with a random trigger or activity by
someone around it (right role, wrong role, no role), or closes it by one of the file's ways
out. After every service call the machine checks, against the FILE: the state is one of
its states; a fired transition leaves the previous state for its `dest` and one of the
actor's roles may fire it; an accepted activity is allowed in that step for the actor's
roles (so a closed case takes only what the file allows from its final state); an
accepted change wrote one audit event by the actor and raised the version; a refused one
changed no row of any table and says why in Swedish; a trigger is accepted exactly when
the file's sources, roles, guards and reason rule allow it; the open deadlines are those
the transitions' `starts`/`stops` imply, each with one pending timer per reminder, and a
closed case has none.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from builders import municipality
from hypothesis import note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session
from workflow_progress import PROGRESS, WALKERS, Stuck, move_on

from vastbas import clock, demo
from vastbas.enums import (
    ActionStatus,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    ParticipantKind,
)
from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken, VastbasError
from vastbas.facts import case_facts
from vastbas.guards import missing_for
from vastbas.models import (
    Action,
    ActionPlan,
    Assignment,
    Base,
    Case,
    CaseDeadline,
    Consent,
    Event,
    Meeting,
    MeetingParticipant,
    NetworkMapEntry,
    Person,
    Timer,
)
from vastbas.services import (
    assignments,
    cases,
    coordination,
    deviations,
    followups,
    meetings,
    network,
    plans,
    transitions,
)
from vastbas.services.base import SEEING_ROLES, load_case
from vastbas.workflow import ACTIVITIES, Workflow, workflow_named, workflow_names

UNKNOWN_ID = 10**6
HOSTILE_TEXTS = ("x" * 300, "noll\x00byte")
# Mostly what a careful user types, so that pokes also get past the input checks.
TEXTS = st.sampled_from(
    ["Anteckning.", "Vad barnet säger: å, ä och ö.", "Ok", "", "   ", *HOSTILE_TEXTS]
)
VERSION_SHIFT = st.sampled_from([0] * 12 + [-1, 1])  # mostly the version the user saw
REASON = "Skäl till beslutet."
REASONS = st.sampled_from([REASON, None, "", "  "])
NOBODY = "outsider"  # someone with an account and no role on or around the case
# Every trigger of every file, so a case also meets the triggers of the other processes.
ALL_TRIGGERS = tuple(
    sorted({t.trigger for n in workflow_names() for t in workflow_named(n).transitions})
) + ("no_such_trigger",)
# The activity each service checks (open_case_for / require_activity); save_plan is
# create_plan or revise_plan depending on whether the case has a plan.
SERVICE_ACTIVITY = {
    "record_consent": "record_consent",
    "appoint_koordinatorer": "appoint_koordinatorer",
    "record_child_voice": "record_child_voice",
    "set_problem_analysis": "set_problem_analysis",
    "add_network_entry": "edit_network_map",
    "remove_network_entry": "edit_network_map",
    "book_meeting": "book_meeting",
    "mark_invitations_sent": "book_meeting",
    "hold_meeting": "hold_meeting",
    "appoint_sprakror": "appoint_sprakror",
    "appoint_kontaktperson": "appoint_kontaktperson",
    "save_plan": "create_plan|revise_plan",
    "set_action_status": "update_action",
    "record_follow_up": "record_follow_up",
    "record_evaluation": "record_evaluation",
    "register_deviation": "register_deviation",
    "appoint_sammankallande": "appoint_sammankallande",
    "appoint_plan_samordnare": "appoint_plan_samordnare",
    "record_placement": "record_placement",
}
# A refusal is for a person: Swedish words, none of the English a stray exception carries.
SWEDISH = re.compile(
    r"[åäöÅÄÖ]|\b(?:inte|finns|kan|och|att|ett|en|som|för|med|till|det|du|bara|redan)\b",
    re.IGNORECASE,
)
ENGLISH = re.compile(
    r"\b(?:the|is|are|not|must|cannot|invalid|error|none|null|value|field|missing)\b|Error|_",
    re.IGNORECASE,
)


def assert_swedish(text: str) -> None:
    assert text.strip() and text[0].isupper(), f"refusal without a sentence: {text!r}"
    assert SWEDISH.search(text) and not ENGLISH.search(text), f"not a Swedish refusal: {text!r}"


@dataclass(frozen=True)
class UnitFacts:
    id: int
    rektor: int
    eht: tuple[int, ...]


@dataclass(frozen=True)
class Town:
    """The ids of the municipality's people, read once per test."""

    people: demo.People
    system: dict[str, int]  # system role -> its holder
    logins: frozenset[int]  # everyone here with an account (an outside språkrör has none)
    pool: tuple[int, ...]
    units: tuple[UnitFacts, ...]

    @classmethod
    def build(cls, db: Session) -> Town:
        people = municipality(db)
        town = cls(
            people=people,
            system={"samordnare": people.samordnare.id, "admin": people.admin.id},
            logins=frozenset(db.scalars(sa.select(Person.id).where(Person.username.is_not(None)))),
            pool=tuple(sorted(p.id for p in people.koordinatorer)),
            units=tuple(
                UnitFacts(u.id, u.rektor_id or 0, tuple(p.id for p in u.eht)) for u in people.units
            ),
        )
        db.rollback()
        return town


CASE_ID = sa.bindparam("case_id")
TABLES = tuple(Base.metadata.sorted_tables)


def _count(table: sa.FromClause | type, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()


def _snapshot_statement() -> sa.Select[tuple[object, ...]]:
    """The case row, the rows of every table, and the updates a refusal must not leave."""
    plan_of_case = ActionPlan.case_id == CASE_ID
    return sa.select(
        Case.version,
        Case.state,
        Case.period,
        Case.outcome,
        sa.select(Event.actor_id)
        .where(Event.case_id == CASE_ID)
        .order_by(Event.id.desc())
        .limit(1)
        .scalar_subquery(),
        *(_count(t) for t in TABLES),
        *(_count(t, t.c.case_id == CASE_ID) for t in TABLES if "case_id" in t.c),
        _count(Assignment, Assignment.case_id == CASE_ID, Assignment.ended_at.is_not(None)),
        _count(Consent, Consent.case_id == CASE_ID, Consent.withdrawn_at.is_not(None)),
        _count(
            NetworkMapEntry,
            NetworkMapEntry.case_id == CASE_ID,
            NetworkMapEntry.removed_at.is_not(None),
        ),
        _count(Meeting, Meeting.case_id == CASE_ID, Meeting.held_at.is_not(None)),
        _count(Meeting, Meeting.case_id == CASE_ID, Meeting.invitations_sent_at.is_not(None)),
        _count(sa.join(Action, ActionPlan), plan_of_case, Action.status != ActionStatus.PLANNED),
    ).where(Case.id == CASE_ID)


SNAPSHOT = _snapshot_statement()
TABLE_NAMES = tuple(t.name for t in TABLES)
CASE_TABLE_NAMES = tuple(t.name for t in TABLES if "case_id" in t.c)
HOLDERS = (
    sa.select(Assignment.role, Assignment.person_id, Assignment.ended_at)
    .where(Assignment.case_id == CASE_ID)
    .order_by(Assignment.id)
)
DEADLINES = (
    sa.select(
        CaseDeadline.id,
        CaseDeadline.name,
        CaseDeadline.closed_at.is_(None),
        sa.func.count(Timer.id),
        sa.func.count(Timer.id).filter(Timer.status == "pending"),
    )
    .outerjoin(Timer, Timer.deadline_id == CaseDeadline.id)
    .where(CaseDeadline.case_id == CASE_ID)
    .group_by(CaseDeadline.id, CaseDeadline.name, CaseDeadline.closed_at)
    .order_by(CaseDeadline.id)
)


@dataclass(frozen=True)
class Snapshot:
    """What the database holds about the case; a refused call must leave it as it was."""

    version: int
    state: str
    period: int
    outcome: str | None
    last_actor: int | None
    rows: tuple[int, ...]  # every table, then every table's rows of this case, then updates
    holders: tuple[tuple[str, int], ...]  # current role -> person
    former: tuple[tuple[str, int], ...]  # role -> the last person who held it
    deadlines: tuple[tuple[int, str, bool, int, int], ...]  # id, name, open, timers, pending

    def holder(self, role: str) -> int | None:
        return dict(self.holders).get(role) or None

    def count(self, table: str, *, of_case: bool = False) -> int:
        if of_case:
            return self.rows[len(TABLE_NAMES) + CASE_TABLE_NAMES.index(table)]
        return self.rows[TABLE_NAMES.index(table)]


Call = Callable[[int, int], object]  # given (actor, expected_version)


@dataclass(frozen=True)
class Expect:
    """What the file says of a call: accepted (True), refused (False) or either (None)."""

    accept: bool | None
    refusals: tuple[type[VastbasError], ...] = ()
    reasons: tuple[str, ...] | None = None  # the guard texts a refusal must list


class Checked:
    """Mixed into a demo walker: its calls go through the machine, which checks each one."""

    machine: WorkflowMachine

    def call(self, fn, *args, actor, **kwargs):  # type: ignore[no-untyped-def]
        run = self.machine.service(fn, *args, **kwargs)
        accepted, result = self.machine.attempt(fn.__name__, actor, run)
        if not accepted:
            raise Stuck(fn.__name__)
        return result

    def fire(self, trigger: str, actor: int, reason: str | None = None) -> None:
        run = self.machine.firing(trigger, reason)
        if not self.machine.attempt(trigger, actor, run, trigger=trigger, reason=reason)[0]:
            raise Stuck(trigger)


class WorkflowMachine(RuleBasedStateMachine):
    """One case of one workflow, moved on, poked and closed; checked against its file."""

    children = itertools.count(1)

    def __init__(self, db: Session, town: Town, workflow: Workflow, reached: Counter[str]):
        super().__init__()
        self.db, self.town, self.wf, self.reached = db, town, workflow, reached
        self.states_seen: set[str] = set()
        # Deadlines started by transitions (no anchor): how many the file says are open.
        self.by_transitions = {n for n, d in workflow.deadlines.items() if d.anchor is None}
        self.expected_open: Counter[str] = Counter(workflow.initial.starts)

    # --- the case and what the database says about it ---------------------------------

    @initialize(unit=st.integers(0, 6), consent=st.booleans(), actors=st.booleans())
    def register(self, unit: int, consent: bool, actors: bool) -> None:
        self.unit = self.town.units[unit]
        self.other_unit = self.town.units[(unit + 1) % len(self.town.units)]
        n = next(self.children)
        case = cases.register_request(
            self.db,
            actor=self.unit.eht[1],
            child_name=f"Barn {n}",
            child_personnummer=demo.fictional_personnummer(2012 + n % 8, 1 + n % 12, 1 + n % 28, n),
            unit_id=self.unit.id,
            initiator_kind=InitiatorKind.SKOLA,
            background="Hög frånvaro.",
            consent_given_by="Vårdnadshavare" if consent else None,
            consent_actors=["Skola", "Socialtjänst"] if actors else (),
            workflow=self.wf.name,
        )
        self.case_id, self.reference = case.id, case.reference
        walker_class = WALKERS[self.wf.name]
        self.walker = type(f"Checked{walker_class.__name__}", (Checked, walker_class), {})(
            self.db, self.town.people, self.reference
        )
        self.walker.machine = self
        self.seen = self.look()
        assert (self.seen.state, self.seen.version) == (self.wf.initial.state, 1)
        assert self.seen.count("events", of_case=True) == 1
        self.check_deadlines(self.seen)
        self.states_seen.add(self.seen.state)

    def look(self) -> Snapshot:
        """Read the case afresh, as the next request would, and end the read transaction."""
        db, case = self.db, {"case_id": self.case_id}
        db.expire_all()
        version, state, period, outcome, last_actor, *rows = db.execute(SNAPSHOT, case).one()
        held = db.execute(HOLDERS, case).all()
        deadlines = db.execute(DEADLINES, case).all()
        db.rollback()
        return Snapshot(
            version,
            state,
            period,
            outcome,
            last_actor,
            rows=tuple(rows),
            holders=tuple((r.value, p) for r, p, ended in held if ended is None),
            former=tuple({r.value: p for r, p, _ in held}.items()),
            deadlines=tuple(tuple(row) for row in deadlines),  # type: ignore[misc]
        )

    def roles_of(self, person: int) -> frozenset[str]:
        """The person's roles for this case, read by the test from the case and the town."""
        roles = {role for role, holder in self.seen.holders if holder == person}
        roles |= {role for role, holder in self.town.system.items() if holder == person}
        if person == self.unit.rektor:
            roles.add("rektor")
        if person in self.town.logins:
            roles.add("any_user")
        return frozenset(roles)

    def person_for(self, role: str, data: st.DataObject) -> int:
        """Someone in a role of the file; a case role nobody holds falls to its last holder."""
        seen = self.seen
        scope = self.wf.roles[role].scope if role in self.wf.roles else None
        if scope == "case":
            person = seen.holder(role) or dict(seen.former).get(role)
            if person is not None:
                return person
            role = NOBODY
        if role == "rektor":
            return self.unit.rektor
        on_case = {p for _, p in seen.holders}
        if role == "any_user":
            free = [p for p in self.unit.eht if p not in on_case] or list(self.other_unit.eht)
            return data.draw(st.sampled_from(free), label="colleague")
        if role == NOBODY:
            free = [self.other_unit.rektor, *self.other_unit.eht]
            free += [p for p in self.town.pool if p not in on_case][:5]
            return data.draw(st.sampled_from(free), label="outsider")
        return self.town.system[role]

    def who(self, data: st.DataObject, right: frozenset[str] = frozenset()) -> int:
        """Mostly someone in a right role, else anyone around the case or no one on it."""
        roles = sorted(right & set(self.wf.roles)) * 3 + sorted(self.wf.roles) + [NOBODY]
        return self.person_for(data.draw(st.sampled_from(roles), label="as"), data)

    # --- one service call, checked against the file -------------------------------------

    def service(self, fn: Callable[..., object], *args: object, **kwargs: object) -> Call:
        def run(actor: int, version: int) -> object:
            return fn(
                self.db, self.reference, *args, actor=actor, expected_version=version, **kwargs
            )

        run.__name__ = fn.__name__
        return run

    def firing(self, trigger: str, reason: str | None) -> Call:
        return self.service(transitions.fire, trigger, reason=reason)

    def attempt(
        self,
        name: str,
        actor: int,
        run: Call,
        *,
        trigger: str | None = None,
        reason: str | None = None,
        shift: int = 0,
    ) -> tuple[bool, object]:
        """Call a service as `actor`; check it against the file; tell whether it was accepted."""
        before = self.seen
        roles = self.roles_of(actor)
        version = before.version + shift
        if trigger is not None:
            expect, activity = self.expect_fire(trigger, roles, version, reason), None
        else:
            activity = self.activity_of(name, before)
            expect = self.expect_activity(activity, roles, version)
        try:
            result = run(actor, version)
        except VastbasError as refusal:
            after = self.look()
            note(f"{name} by {sorted(roles)} at v{version}: refused, {refusal!r}")
            assert after == before, f"{name} was refused ({refusal!r}) but wrote {after}"
            assert_swedish(str(refusal))
            assert expect.accept is not True, f"the file allows {name} here, but: {refusal!r}"
            assert not expect.refusals or isinstance(refusal, expect.refusals), refusal
            if expect.reasons is not None:
                assert tuple(getattr(refusal, "reasons", ())) == expect.reasons
            return False, None
        except Exception as error:
            raise AssertionError(f"{name} raised {error!r}, not a VastbasError") from error
        after = self.seen = self.look()
        note(
            f"{name} by {sorted(roles)} at v{version}: accepted, now {after.state} v{after.version}"
        )
        assert expect.accept is not False, f"{name} was accepted; the file says {expect}"
        self.check_accepted(name, before, after, actor, roles, trigger, activity)
        return True, result

    def expect_fire(
        self, trigger: str, roles: frozenset[str], version: int, reason: str | None
    ) -> Expect:
        """What the file (sources, roles, guards, reason rule) says a trigger does now."""
        seen, t = self.seen, self.wf.transition(trigger)
        if not roles & SEEING_ROLES:
            return Expect(False, (NotFound,))  # no role on the case: it does not exist
        if version != seen.version:
            return Expect(False, (Conflict,))
        if t is None or seen.state not in t.sources:
            return Expect(False, (RuleBroken,))
        if not roles & t.roles:
            return Expect(False, (NotAllowed,))
        missing = tuple(missing_for(t.guards, case_facts(load_case(self.db, self.reference))))
        self.db.rollback()
        if missing:
            return Expect(False, (RuleBroken,), missing)
        if t.requires_reason and not (reason or "").strip():
            return Expect(False, (InvalidInput,))
        return Expect(True)

    def activity_of(self, service_name: str, before: Snapshot) -> str:
        activity = SERVICE_ACTIVITY[service_name]
        if service_name == "save_plan":
            first = before.count("action_plans", of_case=True) == 0
            activity = "create_plan" if first else "revise_plan"
        return activity

    def expect_activity(self, activity: str, roles: frozenset[str], version: int) -> Expect:
        """Refused when the file does not allow it here; else the domain rules decide."""
        spec = self.wf.activities.get(activity)
        if not roles & SEEING_ROLES:
            return Expect(False, (NotFound,))
        if version != self.seen.version:
            return Expect(False, (Conflict,))
        if spec is None or not roles & spec.roles:
            return Expect(False, (NotAllowed,))
        if self.seen.state not in spec.states:
            return Expect(False, (RuleBroken,))
        return Expect(None)

    def check_accepted(
        self,
        name: str,
        before: Snapshot,
        after: Snapshot,
        actor: int,
        roles: frozenset[str],
        trigger: str | None,
        activity: str | None,
    ) -> None:
        case_events = after.count("events", of_case=True) - before.count("events", of_case=True)
        assert case_events == 1, f"{name} wrote {case_events} events on the case"
        assert after.count("events") == before.count("events") + 1, f"{name}: events elsewhere"
        assert after.version > before.version, f"{name} did not raise the case version"
        assert after.last_actor == actor, f"the event of {name} names the wrong actor"
        assert after.state in {s.name for s in self.wf.states}
        if trigger is None:
            spec = self.wf.activities[activity or ""]
            assert before.state in spec.states and roles & spec.roles, f"{name} not allowed"
            assert after.state == before.state, f"{name} moved the case"
        else:
            t = self.wf.transition(trigger)
            assert t is not None and before.state in t.sources, f"{trigger} from {before.state}"
            assert after.state == t.dest and roles & t.roles, (trigger, after.state, roles)
            assert after.period == before.period + (1 if t.new_period else 0)
            self.expect_deadlines_after(t)
            if self.wf.is_final(t.dest):
                assert after.outcome == t.outcome and not after.holders
        self.check_deadlines(after)
        self.states_seen.add(after.state)

    # --- deadlines: what the file's starts and stops imply --------------------------------

    def expect_deadlines_after(self, t: object) -> None:
        if self.wf.is_final(t.dest):  # type: ignore[attr-defined]
            self.expected_open.clear()
            return
        for name in t.stops:  # type: ignore[attr-defined]
            self.expected_open[name] = 0
        self.expected_open.update(t.starts)  # type: ignore[attr-defined]

    def check_deadlines(self, seen: Snapshot) -> None:
        """Each open deadline has its file's reminders pending; transitions' ones as implied."""
        open_by_name: Counter[str] = Counter()
        for _, name, is_open, timers, pending in seen.deadlines:
            deadline = self.wf.deadlines[name]
            if is_open:
                open_by_name[name] += 1
                assert timers == pending == len(deadline.reminders), (name, timers, pending)
            else:
                assert pending == 0, f"the closed deadline {name} left {pending} pending timers"
        if self.wf.is_final(seen.state):
            assert not open_by_name, f"the closed case keeps deadlines open: {open_by_name}"
        for name in self.by_transitions:
            wanted = self.expected_open[name]
            if self.wf.deadlines[name].stopped_by:  # an activity may meet it before the step ends
                assert open_by_name[name] <= wanted, (name, open_by_name[name], wanted)
            else:
                assert open_by_name[name] == wanted, (name, open_by_name[name], wanted)

    # --- rules --------------------------------------------------------------------------

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        """Mostly make progress, sometimes poke, late in the process sometimes close.

        One rule rather than several: Hypothesis switches whole rules off in some examples
        (swarm testing), and an example without progress never leaves the first step.
        """
        choices = [self.make_progress] * 2 + [self.poke] * 3
        if len(self.states_seen) >= len(self.wf.open_states) - 1 and not self.closed:
            choices.append(self.leave)
        data.draw(st.sampled_from(choices), label="act")(data)

    @property
    def closed(self) -> bool:
        return self.wf.is_final(self.seen.state)

    def make_progress(self, data: st.DataObject) -> None:
        """Leave a step or three forward by the file's ways (closing ones only from the end)."""
        for _ in range(data.draw(st.integers(1, 3), label="steps")):
            ways = self.wf.transitions_from(self.seen.state)
            forward = [t for t in ways if not t.requires_reason] or ways
            # A step not yet seen in this example first, so that the walks cover the file.
            forward = [t for t in forward if t.dest not in self.states_seen] or forward
            way = data.draw(st.sampled_from(forward), label="way")
            try:
                move_on(self.walker, self.wf, way.trigger, REASON if way.requires_reason else None)
            except Stuck as stuck:
                note(f"progress by {way.trigger} stuck: {stuck}")
                return
            if self.closed:
                return  # leave the closed case to the other rules for a step or two

    def leave(self, data: st.DataObject) -> None:
        """Close the case by one of this step's ways out that asks for a reason."""
        ways = [t for t in self.wf.transitions_from(self.seen.state) if t.requires_reason]
        way = data.draw(st.sampled_from(ways), label="way out")
        try:
            move_on(self.walker, self.wf, way.trigger, REASON)
        except Stuck as stuck:
            note(f"closing by {way.trigger} stuck: {stuck}")

    def poke(self, data: st.DataObject) -> None:
        """A trigger or activity, by anyone, with careless input and version.

        Half the time one the file offers in this step, so that wrong roles, missing
        guards and bad input meet the checks where they matter; else anything at all.
        """
        here = data.draw(st.booleans(), label="one of this step's")
        shift = data.draw(VERSION_SHIFT, label="version shift")
        if data.draw(st.integers(0, 2), label="trigger or activity") == 0:
            ways = [t.trigger for t in self.wf.transitions_from(self.seen.state)]
            trigger = data.draw(st.sampled_from(ways if here else ALL_TRIGGERS), label="trigger")
            reason = data.draw(REASONS, label="reason")
            t = self.wf.transition(trigger)
            actor = self.who(data, t.roles if t else frozenset())
            run = self.firing(trigger, reason)
            self.attempt(trigger, actor, run, trigger=trigger, reason=reason, shift=shift)
            return
        kinds = [k for k in POKES if self.allowed_here(k)] if here else []
        kind = data.draw(st.sampled_from(kinds or POKES), label="activity")
        run = getattr(self, f"poke_{kind}")(data)
        spec = self.wf.activities.get(self.activity_of(kind, self.seen))
        actor = self.who(data, spec.roles if spec else frozenset())
        self.attempt(kind, actor, run, shift=shift)

    def allowed_here(self, kind: str) -> bool:
        """Whether the file allows the activity of this poke in the case's step."""
        activities = SERVICE_ACTIVITY[kind].split("|")
        return any(self.wf.activity_allowed(a, self.seen.state) for a in activities)

    @precondition(lambda self: self.wf.is_final(self.seen.state))
    @rule(data=st.data())
    def closed_case_takes_only_what_the_file_allows(self, data: st.DataObject) -> None:
        """What the file does not allow from the final state, by those who still see the case."""
        state = self.seen.state
        triggers = [t.trigger for t in self.wf.transitions if state not in t.sources]
        activities = [kind for kind in POKES if not self.allowed_here(kind)]
        probes = st.lists(st.sampled_from(triggers + activities), min_size=1, max_size=3)
        for probe in data.draw(probes, label="probes"):
            actor = self.person_for(data.draw(st.sampled_from(["samordnare", "rektor"])), data)
            if probe in triggers:
                run = self.firing(probe, REASON)
                accepted, _ = self.attempt(probe, actor, run, trigger=probe, reason=REASON)
            else:
                run = getattr(self, f"poke_{probe}")(data)
                accepted, _ = self.attempt(run.__name__, actor, run)
            assert not accepted, f"the closed case accepted {probe}"

    @invariant()
    def state_is_one_of_the_files(self) -> None:
        assert self.seen.state in {s.name for s in self.wf.states}

    def teardown(self) -> None:
        for state in self.states_seen:
            self.reached[state] += 1

    # --- random pokes: each returns the service call (named after the service) ------------

    def people_to_appoint(self, data: st.DataObject) -> int:
        people = (
            *self.town.pool[::5],
            *self.unit.eht,
            *self.other_unit.eht,
            self.unit.rektor,
            self.town.system["admin"],
            UNKNOWN_ID,
        )
        return data.draw(st.sampled_from(people), label="person")

    def pick_id(self, data: st.DataObject, column: sa.Column, case_column: sa.Column) -> int:
        """An id of one of the case's rows, or (half the time) an id that does not exist."""
        ids = self.db.scalars(sa.select(column).where(case_column == self.case_id)).all()
        self.db.rollback()
        choices = (
            st.one_of(st.just(UNKNOWN_ID), st.sampled_from(ids)) if ids else st.just(UNKNOWN_ID)
        )
        return data.draw(choices, label=str(column))

    def poke_record_consent(self, data: st.DataObject) -> Call:
        actors = data.draw(st.lists(st.sampled_from(["Skola", "BUP", ""]), max_size=2))
        return self.service(cases.record_consent, given_by=data.draw(TEXTS), actors=actors)

    def poke_appoint_koordinatorer(self, data: st.DataObject) -> Call:
        first, second = self.people_to_appoint(data), self.people_to_appoint(data)
        return self.service(assignments.appoint_koordinatorer, first, second)

    def poke_record_child_voice(self, data: st.DataObject) -> Call:
        return self.service(cases.record_child_voice, text=data.draw(TEXTS))

    def poke_set_problem_analysis(self, data: st.DataObject) -> Call:
        analysis, purpose = data.draw(TEXTS), data.draw(TEXTS)
        return self.service(cases.set_problem_analysis, problem_analysis=analysis, purpose=purpose)

    def poke_add_network_entry(self, data: st.DataObject) -> Call:
        return self.service(
            network.add_network_entry,
            kind=data.draw(st.sampled_from((*ParticipantKind, "okand")), label="kind"),
            name=data.draw(TEXTS),
            person_id=data.draw(st.sampled_from([None, self.town.pool[0], UNKNOWN_ID])),
            on_guest_list=data.draw(st.booleans()),
        )

    def poke_remove_network_entry(self, data: st.DataObject) -> Call:
        entry = self.pick_id(data, NetworkMapEntry.id, NetworkMapEntry.case_id)
        return self.service(network.remove_network_entry, entry)

    def poke_book_meeting(self, data: st.DataObject) -> Call:
        now = clock.now()
        starts = [now - timedelta(hours=2), now + timedelta(days=7), now.replace(tzinfo=None)]
        return self.service(
            meetings.book_meeting,
            kind=data.draw(st.sampled_from((*MeetingKind, "okand")), label="kind"),
            starts_at=data.draw(st.sampled_from(starts), label="starts at"),
            participant_names=data.draw(st.lists(TEXTS, max_size=2)),
        )

    def poke_mark_invitations_sent(self, data: st.DataObject) -> Call:
        meeting = self.pick_id(data, Meeting.id, Meeting.case_id)
        return self.service(meetings.mark_invitations_sent, meeting)

    def poke_hold_meeting(self, data: st.DataObject) -> Call:
        meeting = self.pick_id(data, Meeting.id, Meeting.case_id)
        participants = self.db.scalars(
            sa.select(MeetingParticipant.id).where(MeetingParticipant.meeting_id == meeting)
        ).all()
        self.db.rollback()
        someone = st.sampled_from([*participants, UNKNOWN_ID])
        attendance = st.lists(
            st.builds(meetings.Attendance, someone, st.booleans(), TEXTS), max_size=2
        )
        return self.service(
            meetings.hold_meeting,
            meeting,
            minutes=data.draw(TEXTS),
            attendance=data.draw(attendance),
        )

    def poke_appoint_sprakror(self, data: st.DataObject) -> Call:
        return self.service(
            assignments.appoint_sprakror,
            person_id=data.draw(st.sampled_from([None, self.town.pool[0], UNKNOWN_ID])),
            outside_name=data.draw(st.one_of(st.none(), TEXTS)),
            trust_confirmed_by_guardian=data.draw(st.booleans()),
        )

    def poke_appoint_kontaktperson(self, data: st.DataObject) -> Call:
        return self.service(assignments.appoint_kontaktperson, self.people_to_appoint(data))

    def poke_save_plan(self, data: st.DataObject) -> Call:
        due = st.sampled_from([None, clock.now().date() + timedelta(days=14)])
        action = st.builds(plans.ActionInput, TEXTS, TEXTS, due)
        return self.service(
            plans.save_plan,
            goals=data.draw(st.lists(TEXTS, max_size=2)),
            actions=data.draw(st.lists(action, max_size=2)),
        )

    def poke_set_action_status(self, data: st.DataObject) -> Call:
        actions = self.db.scalars(
            sa.select(Action.id).join(ActionPlan).where(ActionPlan.case_id == self.case_id)
        ).all()
        self.db.rollback()
        action = data.draw(st.sampled_from([*actions, UNKNOWN_ID]), label="action")
        status = data.draw(st.sampled_from((*ActionStatus, "okand")), label="status")
        return self.service(plans.set_action_status, action, status)

    def poke_record_follow_up(self, data: st.DataObject) -> Call:
        today = clock.now().date()
        return self.service(
            followups.record_follow_up,
            kind=data.draw(st.sampled_from((*FollowUpKind, "okand")), label="kind"),
            notes=data.draw(TEXTS),
            held_on=data.draw(
                st.sampled_from([None, today - timedelta(days=3), today + timedelta(3)])
            ),
        )

    def poke_record_evaluation(self, data: st.DataObject) -> Call:
        decision = data.draw(st.sampled_from((*EvaluationDecision, "okand")), label="decision")
        return self.service(followups.record_evaluation, decision=decision, notes=data.draw(TEXTS))

    def poke_register_deviation(self, data: st.DataObject) -> Call:
        return self.service(deviations.register_deviation, description=data.draw(TEXTS))

    def poke_appoint_sammankallande(self, data: st.DataObject) -> Call:
        return self.service(coordination.appoint_sammankallande, self.people_to_appoint(data))

    def poke_appoint_plan_samordnare(self, data: st.DataObject) -> Call:
        return self.service(coordination.appoint_plan_samordnare, self.people_to_appoint(data))

    def poke_record_placement(self, data: st.DataObject) -> Call:
        return self.service(coordination.record_placement, placed=data.draw(st.booleans()))


POKES = tuple(
    name.removeprefix("poke_") for name in dir(WorkflowMachine) if name.startswith("poke_")
)
# The db fixture reaches the machine through the factory, not through @given, so the
# function-scoped-fixture health check does not apply; each example registers its own case.
RUNS = {
    "sqlite": settings(max_examples=20, stateful_step_count=30, deadline=None),
    "postgres": settings(max_examples=8, stateful_step_count=30, deadline=None),
}


def walk_randomly(db: Session, workflow: Workflow, run: settings) -> Counter[str]:
    """Run the machine; return in how many examples each state was reached."""
    town = Town.build(db)
    reached: Counter[str] = Counter()
    run_state_machine_as_test(lambda: WorkflowMachine(db, town, workflow, reached), settings=run)
    print(f"\n{workflow.name}: states reached, in how many examples: {dict(reached)}")
    return reached


@pytest.mark.parametrize("name", workflow_names())
def test_random_walks_keep_to_the_workflow_file(db: Session, backend: str, name: str) -> None:
    workflow = workflow_named(name)
    reached = walk_randomly(db, workflow, RUNS[backend])
    # If no example got this far, the walks checked little of the file.
    assert set(reached) == {s.name for s in workflow.states}, dict(reached)


def test_the_walks_know_every_activity_and_every_guarded_transition() -> None:
    """A new activity or a new workflow file needs a poke here and progress steps."""
    known = {a for service in SERVICE_ACTIVITY.values() for a in service.split("|")}
    assert known == ACTIVITIES
    assert set(POKES) == set(SERVICE_ACTIVITY)
    for name in workflow_names():
        guarded = {t.trigger for t in workflow_named(name).transitions if t.guards}
        assert set(PROGRESS[name]) == guarded, name
        assert name in WALKERS
