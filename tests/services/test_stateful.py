"""Random walks through the Västbas process: many people, helpful and careless, on one case.

Each Hypothesis example registers a new case in a municipality built once per test and
then, step by step, either makes progress (what the step needs, mostly by the right
person) or pokes the case with a random trigger or activity by anyone around it. After
every service call it checks that an accepted change wrote one audit event and raised
the version, and that a refused one wrote nothing at all.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
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

from vastbas import clock, demo, rules
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    ParticipantKind,
)
from vastbas.errors import InvalidInput, NotFound, VastbasError
from vastbas.guards import FAMILY_KINDS
from vastbas.models import (
    Action,
    ActionPlan,
    Assignment,
    Case,
    Consent,
    Deviation,
    Evaluation,
    Event,
    FollowUp,
    Goal,
    Meeting,
    MeetingParticipant,
    NetworkMapEntry,
    Person,
    Unit,
)
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
from vastbas.workflow import workflow_named

WORKFLOW = workflow_named("vastbas")
STATES = frozenset(s.name for s in WORKFLOW.states)
TRIGGERS = tuple(t.trigger for t in WORKFLOW.transitions)
ACTORS = (
    "samordnare",
    "koordinator_1",
    "koordinator_2",
    "kontaktperson",
    "rektor",
    "other_rektor",
    "outside_koordinator",
    "eht_member",
    "admin",
)
CASE_ROLES = frozenset(role.value for role in CaseRole)
# A case leaves the process early only after it has once been as far as follow_up, so that
# the walks go deep first; stage_seq counts every step entered, across periods.
LEAVE_AFTER = 8
STILL_SEEING = frozenset({"samordnare", "admin", "rektor"})  # who sees a closed case
UNKNOWN_ID = 10**6
# Careless input, including text no database column can hold (too long, a NUL byte).
HOSTILE_TEXTS = ("x" * 300, "noll\x00byte")
TEXTS = st.sampled_from(["Anteckning.", "", "   ", "Vad barnet säger: å, ä och ö.", *HOSTILE_TEXTS])
VERSION_SHIFT = st.sampled_from([0] * 16 + [-1, -3, 1])  # mostly the version the user saw
REASONS = st.sampled_from(["Skäl till beslutet.", None, ""])


@dataclass(frozen=True)
class UnitFacts:
    id: int
    rektor: int
    eht: tuple[int, ...]


@dataclass(frozen=True)
class Town:
    """The ids of the municipality's people, read once per test."""

    samordnare: int
    admin: int
    pool: tuple[int, ...]
    unit_of: dict[int, int | None]  # pool member -> their unit
    units: tuple[UnitFacts, ...]

    @classmethod
    def build(cls, db: Session) -> Town:
        people = municipality(db)
        units = db.scalars(sa.select(Unit).where(Unit.id.in_([u.id for u in people.units])))
        town = cls(
            samordnare=people.samordnare.id,
            admin=people.admin.id,
            pool=tuple(sorted(p.id for p in people.koordinatorer)),
            unit_of={p.id: p.unit_id for p in people.koordinatorer},
            units=tuple(
                UnitFacts(u.id, u.rektor_id or 0, tuple(p.id for p in u.eht))
                for u in sorted(units, key=lambda u: u.id)
            ),
        )
        db.rollback()
        return town


@dataclass(frozen=True)
class Snapshot:
    """What the database holds about the case; a refused call must leave it as it was."""

    version: int
    state: str
    period: int
    stage_seq: int
    case_events: int
    all_events: int
    rows: tuple[int, ...]
    holders: tuple[tuple[str, int], ...]  # current role -> person
    former: tuple[tuple[str, int], ...]  # role -> the last person who held it

    def holder(self, role: str) -> int | None:
        return dict(self.holders).get(role)


Call = Callable[[int, int], object]  # given (actor, expected_version)
Poke = tuple[str, tuple[str, ...], Call]  # name, the roles that may do it, the call


@dataclass(frozen=True)
class Move:
    """One helpful action: who should do it, and the call given (actor, expected_version)."""

    name: str
    roles: tuple[str, ...]
    run: Call


def _count(table: sa.FromClause | type, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()


CASE_ID = sa.bindparam("case_id")


def _snapshot_statement() -> sa.Select[tuple[object, ...]]:
    """One read of the case and of counts of everything a service may write.

    Built once: SQLAlchemy then reuses its cache key, which is most of the cost of a read.
    """
    of_case = ActionPlan.case_id == CASE_ID
    return sa.select(
        Case.version,
        Case.state,
        Case.period,
        Case.stage_seq,
        _count(Event, Event.case_id == CASE_ID),
        _count(Event),
        _count(Person),
        _count(Assignment, Assignment.case_id == CASE_ID),
        _count(Assignment, Assignment.case_id == CASE_ID, Assignment.ended_at.is_not(None)),
        _count(Consent, Consent.case_id == CASE_ID),
        _count(Consent, Consent.case_id == CASE_ID, Consent.withdrawn_at.is_not(None)),
        _count(NetworkMapEntry, NetworkMapEntry.case_id == CASE_ID),
        _count(
            NetworkMapEntry,
            NetworkMapEntry.case_id == CASE_ID,
            NetworkMapEntry.removed_at.is_not(None),
        ),
        _count(Meeting, Meeting.case_id == CASE_ID),
        _count(Meeting, Meeting.case_id == CASE_ID, Meeting.held_at.is_not(None)),
        _count(Meeting, Meeting.case_id == CASE_ID, Meeting.invitations_sent_at.is_not(None)),
        _count(sa.join(MeetingParticipant, Meeting), Meeting.case_id == CASE_ID),
        _count(ActionPlan, of_case),
        _count(sa.join(Goal, ActionPlan), of_case),
        _count(sa.join(Action, ActionPlan), of_case),
        _count(sa.join(Action, ActionPlan), of_case, Action.status != ActionStatus.PLANNED),
        _count(FollowUp, FollowUp.case_id == CASE_ID),
        _count(Evaluation, Evaluation.case_id == CASE_ID),
        _count(Deviation, Deviation.case_id == CASE_ID),
    ).where(Case.id == CASE_ID)


SNAPSHOT = _snapshot_statement()
HOLDERS = (
    sa.select(Assignment.role, Assignment.person_id, Assignment.ended_at)
    .where(Assignment.case_id == CASE_ID)
    .order_by(Assignment.id)
)
LAST_ACTOR = (
    sa.select(Event.actor_id).where(Event.case_id == CASE_ID).order_by(Event.id.desc()).limit(1)
)


def careless(data: st.DataObject) -> bool:
    """One time in five; never in the simplest example, which Hypothesis tries first."""
    return data.draw(st.integers(0, 4), label="careless") == 4


class CaseMachine(RuleBasedStateMachine):
    """One case, moved by helpful steps and poked by random calls from anyone around it."""

    children = itertools.count(1)

    def __init__(self, db: Session, town: Town, reached: Counter[str]) -> None:
        super().__init__()
        self.db = db
        self.town = town
        self.reached = reached
        self.states_seen: set[str] = set()
        self.verified_pairs: set[tuple[int, int]] = set()

    # --- the case and what the database says about it ---------------------------------

    @initialize(
        unit=st.integers(0, 6),
        handlaggare=st.one_of(st.none(), st.integers(0, 29)),
        consent=st.booleans(),
    )
    def register(self, unit: int, handlaggare: int | None, consent: bool) -> None:
        self.unit = self.town.units[unit]
        self.other_unit = self.town.units[(unit + 1) % len(self.town.units)]
        # A pool member as handläggare makes the koordinator rule refuse someone eligible.
        self.handlaggare = None if handlaggare is None else self.town.pool[handlaggare]
        n = next(self.children)
        case = cases.register_request(
            self.db,
            actor=self.unit.eht[0],
            child_name=f"Barn {n}",
            child_personnummer=demo.fictional_personnummer(2012 + n % 8, 1 + n % 12, 1 + n % 28, n),
            unit_id=self.unit.id,
            initiator_kind=InitiatorKind.SKOLA,
            background="Hög frånvaro.",
            handlaggare_id=self.handlaggare,
            consent_given_by="Vårdnadshavare" if consent else None,
        )
        self.case_id, self.reference = case.id, case.reference
        self.seen = self.look()
        assert (self.seen.state, self.seen.version, self.seen.case_events) == ("request", 1, 1)
        self.states_seen.add("request")

    def look(self) -> Snapshot:
        """Read the case afresh, as the next request would, and end the read transaction."""
        db, case = self.db, {"case_id": self.case_id}
        db.expire_all()
        version, state, period, stage_seq, case_events, all_events, *rows = db.execute(
            SNAPSHOT, case
        ).one()
        held = db.execute(HOLDERS, case).all()
        db.rollback()
        return Snapshot(
            version,
            state,
            period,
            stage_seq,
            case_events,
            all_events,
            rows=tuple(rows),
            holders=tuple((r.value, p) for r, p, ended in held if ended is None),
            former=tuple({r.value: p for r, p, _ in held}.items()),
        )

    def actor(self, role: str, data: st.DataObject) -> int:
        """The person behind a role name; a role nobody holds falls back to its last holder."""
        seen, unit = self.seen, self.unit
        if role in ("koordinator_1", "koordinator_2", "kontaktperson"):
            person = seen.holder(role) or dict(seen.former).get(role)
            if person is not None:
                return person
            role = "outside_koordinator"
        if role == "outside_koordinator":
            on_case = {p for _, p in seen.holders}
            free = [p for p in self.town.pool if p not in on_case]
            return free[data.draw(st.integers(0, len(free) - 1), label="outside koordinator")]
        if role == "eht_member":
            others = [p for p in unit.eht if p != seen.holder("kontaktperson")]
            return others[data.draw(st.integers(0, len(others) - 1), label="eht member")]
        return {
            "samordnare": self.town.samordnare,
            "admin": self.town.admin,
            "rektor": unit.rektor,
            "other_rektor": self.other_unit.rektor,
        }[role]

    # --- one service call, with the audit and version checks ---------------------------

    def call(self, name: str, role: str, data: st.DataObject, run: Call) -> bool:
        """Call a service as `role`; check what it wrote; tell whether it was accepted."""
        actor = self.actor(role, data)
        before = self.seen
        version = before.version + data.draw(VERSION_SHIFT, label="version shift")
        try:
            run(actor, version)
        except VastbasError as refusal:
            after = self.look()
            note(f"{name} by {role} at v{version}: refused, {type(refusal).__name__}")
            assert after == before, f"{name} was refused ({refusal!r}) but wrote {after}"
            return False
        except Exception as error:
            raise AssertionError(
                f"{name} by {role} raised {type(error).__name__}, not a VastbasError: {error}"
            ) from error
        after = self.seen = self.look()
        note(f"{name} by {role} at v{version}: accepted, now {after.state} v{after.version}")
        assert after.case_events == before.case_events + 1, f"{name} wrote no or several events"
        assert after.all_events == before.all_events + 1, f"{name} wrote events elsewhere"
        assert after.version > before.version, f"{name} did not raise the case version"
        assert before.state != "closed" or name in ("reopen", "register_deviation"), (
            f"the closed case accepted {name}"
        )
        last_actor = self.db.scalar(LAST_ACTOR, {"case_id": self.case_id})
        self.db.rollback()
        assert last_actor == actor, f"the event of {name} names the wrong actor"
        if name == "appoint_koordinatorer":
            self.check_pair_eligible(after)
        self.states_seen.add(after.state)
        return True

    def fire(self, trigger: str, reason: str | None = None) -> Call:
        def run(actor: int, version: int) -> object:
            return transitions.fire(
                self.db,
                self.reference,
                trigger,
                actor=actor,
                expected_version=version,
                reason=reason,
            )

        return run

    def service(self, fn: Callable[..., object], *args: object, **kwargs: object) -> Call:
        def run(actor: int, version: int) -> object:
            return fn(
                self.db, self.reference, *args, actor=actor, expected_version=version, **kwargs
            )

        return run

    # --- the koordinator rule, checked independently of the service ----------------------

    def case_context(self) -> rules.CaseContext:
        """The facts the koordinator rule needs, read by the test itself."""
        network_people = self.db.scalars(
            sa.select(NetworkMapEntry.person_id).where(
                NetworkMapEntry.case_id == self.case_id,
                NetworkMapEntry.removed_at.is_(None),
                NetworkMapEntry.person_id.is_not(None),
            )
        )
        context = rules.CaseContext(
            unit_id=self.unit.id,
            handlaggare_id=self.handlaggare,
            network_person_ids=frozenset(network_people),
            unit_eht_ids=frozenset(self.unit.eht),
            unit_rektor_id=self.unit.rektor,
        )
        self.db.rollback()
        return context

    def eligible_pool(self) -> list[int]:
        """Pool members free of the case: not at the unit, not handläggare, not in its network."""
        c = self.case_context()
        close = {c.unit_rektor_id, *c.unit_eht_ids, c.handlaggare_id, *c.network_person_ids}
        return [p for p in self.town.pool if self.town.unit_of[p] != c.unit_id and p not in close]

    def check_pair_eligible(self, after: Snapshot) -> None:
        """Both new koordinatorer pass the rule, by the rule and by the test's own reading."""
        k1, k2 = after.holder("koordinator_1"), after.holder("koordinator_2")
        assert k1 is not None and k2 is not None and k1 != k2
        context, eligible = self.case_context(), self.eligible_pool()
        for person in (self.db.get_one(Person, k1), self.db.get_one(Person, k2)):
            candidate = rules.Candidate(
                person_id=person.id,
                name=person.name,
                organisation=person.organisation,
                unit_id=person.unit_id,
                profession=person.profession,
                in_pool=person.in_koordinator_pool,
                pool_active=person.pool_active,
                open_cases=0,
                active=person.active,
            )
            assert rules.koordinator_refusals(candidate, context) == []
            assert person.id in eligible, f"koordinator {person.id} is not free of the case"
            assert person.in_koordinator_pool and person.unit_id != self.unit.id
            assert person.id != self.handlaggare
        self.db.rollback()
        self.verified_pairs.add((k1, k2))

    # --- rules --------------------------------------------------------------------------

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        """Mostly make progress, sometimes poke.

        One rule rather than two: Hypothesis switches whole rules off in some examples
        (swarm testing), and an example without progress never leaves the request.
        """
        choices = ["make_progress", "make_progress", "make_progress", "poke"]
        if self.seen.stage_seq >= LEAVE_AFTER and self.seen.state != "closed":
            choices.append("leave")
        what = data.draw(st.sampled_from(choices), label="act")
        getattr(self, what)(data)

    def leave(self, data: st.DataObject) -> None:
        """Close the case by one of this step's ways out, as someone allowed to, with a reason."""
        ways = [t for t in WORKFLOW.transitions_from(self.seen.state) if t.requires_reason]
        way = data.draw(st.sampled_from(ways), label="way out")
        roles = [r for r in sorted(way.roles) if r not in CASE_ROLES or self.seen.holder(r)]
        role = data.draw(st.sampled_from(roles), label=way.trigger)
        self.call(way.trigger, role, data, self.fire(way.trigger, "Skäl till beslutet."))

    def make_progress(self, data: st.DataObject) -> None:
        """Do what the current step needs next, mostly as the right person, a few times."""
        for _ in range(data.draw(st.integers(1, 4), label="moves")):
            move = self.next_move(data)
            right = [r for r in move.roles if r not in CASE_ROLES or self.seen.holder(r)]
            people = ACTORS if careless(data) else right
            role = data.draw(st.sampled_from(people), label=move.name)
            self.call(move.name, role, data, move.run)
            if self.seen.state == "closed":
                break  # leave the closed case to the other rules for a step or two

    def poke(self, data: st.DataObject) -> None:
        """A random trigger or activity, by anyone, with careless input."""
        kind = data.draw(st.sampled_from(POKES), label="poke")
        name, roles, run = getattr(self, f"poke_{kind}")(data)
        role = data.draw(st.sampled_from(list(roles) * 3 + list(ACTORS)), label=name)
        self.call(name, role, data, run)

    @precondition(lambda self: self.seen.state == "closed")
    @rule(data=st.data())
    def closed_case_takes_only_reopen(self, data: st.DataObject) -> None:
        """Everything but reopen, on the closed case: a sweep with valid input, then pokes."""
        for name, role, run in self.closed_sweep():
            assert not self.call(name, role, data, run)
        probes = st.lists(st.sampled_from(CLOSED_PROBES), min_size=1, max_size=3, unique=True)
        for probe in data.draw(probes, label="probes"):
            if probe in TRIGGERS:
                name, run = probe, self.fire(probe, "Skäl.")
            else:
                name, _, run = getattr(self, f"poke_{probe}")(data)
            role = data.draw(st.sampled_from(ACTORS), label="who")
            assert not self.call(name, role, data, run) or name == "register_deviation"

    def closed_sweep(self) -> list[tuple[str, str, Call]]:
        """What those who still see a closed case may do while it is open, with valid input.

        Closing ends every appointment on the case, so only the samordnare and the rektor
        see it; a refusal of these calls can only come from the case being closed.
        """
        valid = {
            "record_consent": lambda: self.service(cases.record_consent, given_by="Vårdnadshavare"),
            "appoint_koordinatorer": lambda: self.service(
                assignments.appoint_koordinatorer, *self.eligible_pool()[:2]
            ),
            "appoint_kontaktperson": lambda: self.service(
                assignments.appoint_kontaktperson, self.unit.eht[0]
            ),
        }
        sweep = []
        for t in WORKFLOW.transitions:
            if t.trigger != "reopen" and (roles := sorted(t.roles & STILL_SEEING)):
                sweep.append((t.trigger, roles[0], self.fire(t.trigger, "Skäl.")))
        for name, activity in WORKFLOW.activities.items():
            if name != "register_deviation" and (roles := sorted(activity.roles & STILL_SEEING)):
                sweep.append((name, roles[0], valid[name]()))
        return sweep

    @invariant()
    def state_is_in_the_workflow(self) -> None:
        assert self.seen.state in STATES

    @invariant()
    def koordinatorer_are_two_people_checked_when_appointed(self) -> None:
        k1, k2 = self.seen.holder("koordinator_1"), self.seen.holder("koordinator_2")
        if k1 is not None and k2 is not None:
            assert k1 != k2
            assert (k1, k2) in self.verified_pairs

    def teardown(self) -> None:
        for state in self.states_seen:
            self.reached[state] += 1

    # --- the helpful path ---------------------------------------------------------------

    def next_move(self, data: st.DataObject) -> Move:
        """The next thing the case's current step needs, read from the case itself."""
        self.db.expire_all()
        case = self.db.get_one(Case, self.case_id)  # lazy loads: only what the step reads
        try:
            return getattr(self, f"next_in_{case.state}")(case, data)
        finally:
            self.db.rollback()

    def next_in_request(self, case: Case, data: st.DataObject) -> Move:
        if case.active_consent is None:
            run = self.service(cases.record_consent, given_by="Vårdnadshavare")
            return Move("record_consent", ("samordnare",), run)
        return Move("start_assessment", ("samordnare",), self.fire("start_assessment"))

    def next_in_assessment(self, case: Case, data: st.DataObject) -> Move:
        if case.current(CaseRole.KOORDINATOR_1) and case.current(CaseRole.KOORDINATOR_2):
            return Move("accept_case", ("samordnare",), self.fire("accept_case"))
        eligible = self.eligible_pool()
        if careless(data):
            # Someone close to the child (at the unit, handläggare, on the map), or one twice.
            close = [p for p in self.town.pool if p not in eligible]
            first = data.draw(st.sampled_from(close), label="close koordinator")
            choices = st.tuples(st.just(first), st.sampled_from([first, *eligible])).map(list)
        else:
            choices = st.lists(st.sampled_from(eligible), min_size=2, max_size=2, unique=True)
        pair = data.draw(choices, label="pair")
        run = self.service(assignments.appoint_koordinatorer, *pair)
        return Move("appoint_koordinatorer", ("samordnare",), run)

    def next_in_offer(self, case: Case, data: st.DataObject) -> Move:
        if not case.child_voice:
            run = self.service(cases.record_child_voice, text="Vill gå i skolan.")
            return Move("record_child_voice", ("koordinator_1", "kontaktperson"), run)
        return Move(
            "family_accepts", ("koordinator_1", "koordinator_2"), self.fire("family_accepts")
        )

    def next_in_pre_meeting(self, case: Case, data: st.DataObject) -> Move:
        koordinatorer = ("koordinator_1", "koordinator_2")
        if not (case.problem_analysis and case.purpose):
            run = self.service(
                cases.set_problem_analysis, problem_analysis="Frånvaro.", purpose="Skola."
            )
            return Move("set_problem_analysis", koordinatorer, run)
        if (move := self.network_move(case)) is not None:
            return move
        if case.current(CaseRole.SPRAKROR) is None:
            return self.sprakror_move(data)
        if (move := self.meeting_move(case, MeetingKind.PRE_MEETING)) is not None:
            return move
        if not self.meetings_of(case, MeetingKind.NETWORK_MEETING_1):
            return self.book_move(MeetingKind.NETWORK_MEETING_1)
        return Move("complete_pre_meeting", koordinatorer, self.fire("complete_pre_meeting"))

    def next_in_network_meeting_1(self, case: Case, data: st.DataObject) -> Move:
        nm1 = self.meetings_of(case, MeetingKind.NETWORK_MEETING_1)
        if not any(m.held_at and any(p.homework for p in m.participants) for m in nm1):
            ready = [m for m in nm1 if self.holdable(m) and m.participants]
            if not ready:
                return self.book_move(MeetingKind.NETWORK_MEETING_1, ("Mentor", "Vårdnadshavare"))
            homework = [
                meetings.Attendance(p.id, True, "Jag kan hämta.") for p in ready[0].participants
            ]
            run = self.service(
                meetings.hold_meeting, ready[0].id, minutes="Behovsanalys.", attendance=homework
            )
            return Move("hold_meeting", ("koordinator_1", "koordinator_2"), run)
        trigger = "complete_network_meeting_1"
        return Move(trigger, ("koordinator_1", "koordinator_2"), self.fire(trigger))

    def next_in_network_meeting_2(self, case: Case, data: st.DataObject) -> Move:
        if (move := self.meeting_move(case, MeetingKind.NETWORK_MEETING_2)) is not None:
            return move
        plan = case.current_plan
        if plan is None or plan.period != case.period:
            return self.plan_move(case)
        if (move := self.network_move(case)) is not None:
            return move
        if case.current(CaseRole.KONTAKTPERSON) is None:
            careful = not careless(data)
            choices = self.unit.eht if careful else (*self.other_unit.eht, self.unit.rektor)
            chosen = data.draw(st.sampled_from(choices), label="kontaktperson")
            run = self.service(assignments.appoint_kontaktperson, chosen)
            return Move("appoint_kontaktperson", ("rektor", "samordnare"), run)
        trigger = "complete_network_meeting_2"
        return Move(trigger, ("koordinator_1", "koordinator_2"), self.fire(trigger))

    def next_in_interventions(self, case: Case, data: st.DataObject) -> Move:
        plan = case.current_plan
        assert plan is not None
        started = (ActionStatus.STARTED, ActionStatus.DONE)
        if not any(a.status in started for a in plan.actions):
            planned = [a for a in plan.actions if a.status == ActionStatus.PLANNED]
            if not planned:
                # Every action was cancelled before one started: no way on but to close.
                note("every action was cancelled before one started")
                trigger = "refer_to_authority"
                return Move(trigger, ("samordnare",), self.fire(trigger, "Inga insatser kvar."))
            run = self.service(plans.set_action_status, planned[0].id, ActionStatus.STARTED)
            return Move("set_action_status", ("kontaktperson", "koordinator_1"), run)
        return Move(
            "start_follow_up", ("kontaktperson", "koordinator_1"), self.fire("start_follow_up")
        )

    def next_in_follow_up(self, case: Case, data: st.DataObject) -> Move:
        if not any(f.stage_seq == case.stage_seq for f in case.follow_ups):
            run = self.service(
                followups.record_follow_up, kind=FollowUpKind.EHT, notes="Lyft i EHT."
            )
            return Move("record_follow_up", ("kontaktperson", "koordinator_2"), run)
        if data.draw(st.integers(0, 3), label="more interventions") == 0:
            return Move(
                "plan_new_interventions", ("kontaktperson",), self.fire("plan_new_interventions")
            )
        return Move(
            "start_evaluation", ("kontaktperson", "koordinator_1"), self.fire("start_evaluation")
        )

    def next_in_new_interventions(self, case: Case, data: st.DataObject) -> Move:
        plan = case.current_plan
        if plan is None or plan.stage_seq != case.stage_seq:
            return self.plan_move(case)
        return Move("resume_interventions", ("kontaktperson",), self.fire("resume_interventions"))

    def next_in_evaluation(self, case: Case, data: st.DataObject) -> Move:
        roles = ("kontaktperson", "koordinator_1", "koordinator_2")
        latest = case.evaluations[-1] if case.evaluations else None
        if latest is None or latest.stage_seq != case.stage_seq:
            decision = data.draw(st.sampled_from(EvaluationDecision), label="decision")
            run = self.service(followups.record_evaluation, decision=decision, notes="Utvärderat.")
            return Move("record_evaluation", roles, run)
        if latest.decision == EvaluationDecision.CLOSE:
            return Move("close_case", roles, self.fire("close_case"))
        return Move("continue_period", roles, self.fire("continue_period"))

    def next_in_closed(self, case: Case, data: st.DataObject) -> Move:
        return Move("reopen", ("samordnare",), self.fire("reopen", "Ny oro för barnet."))

    def meetings_of(self, case: Case, kind: MeetingKind) -> list[Meeting]:
        return [m for m in case.meetings if m.kind == kind and m.period == case.period]

    def holdable(self, meeting: Meeting) -> bool:
        return meeting.held_at is None and meeting.starts_at <= clock.now()

    def network_move(self, case: Case) -> Move | None:
        """Add family and professionals to the network map and its guest list if missing."""
        entries = [e for e in case.network if e.removed_at is None]
        family = any(e.kind in FAMILY_KINDS and e.on_guest_list for e in entries)
        if family and any(e.kind not in FAMILY_KINDS for e in entries):
            return None
        kind, name = (
            (ParticipantKind.SKOLA, "Mentor")
            if family
            else (ParticipantKind.VARDNADSHAVARE, "Mamma")
        )
        run = self.service(network.add_network_entry, kind=kind, name=name, on_guest_list=True)
        return Move("add_network_entry", ("koordinator_1", "kontaktperson"), run)

    def sprakror_move(self, data: st.DataObject) -> Move:
        staff = data.draw(st.one_of(st.none(), st.sampled_from(self.town.pool)), label="sprakror")
        trusted = not careless(data)
        outside = None if staff else "Moster"
        run = self.service(
            assignments.appoint_sprakror,
            person_id=staff,
            outside_name=outside,
            trust_confirmed_by_guardian=trusted,
        )
        return Move("appoint_sprakror", ("koordinator_1", "koordinator_2"), run)

    def meeting_move(self, case: Case, kind: MeetingKind) -> Move | None:
        """Book, then hold, a meeting of this kind in this period, unless one is held."""
        booked = self.meetings_of(case, kind)
        if any(m.held_at and m.minutes for m in booked):
            return None
        ready = [m for m in booked if self.holdable(m)]
        if not ready:
            return self.book_move(kind)
        run = self.service(meetings.hold_meeting, ready[0].id, minutes="Mötet hölls.")
        return Move("hold_meeting", ("koordinator_1", "koordinator_2"), run)

    def book_move(self, kind: MeetingKind, names: tuple[str, ...] = ()) -> Move:
        starts_at = clock.now() - timedelta(hours=1)
        run = self.service(
            meetings.book_meeting, kind=kind, starts_at=starts_at, participant_names=names
        )
        return Move("book_meeting", ("koordinator_1", "koordinator_2"), run)

    def plan_move(self, case: Case) -> Move:
        due = clock.now().date() + timedelta(days=30)
        actions = [
            plans.ActionInput("Morgonstöd", "Mamma", due),
            plans.ActionInput("Schema", "Mentor", due),
        ]
        run = self.service(plans.save_plan, goals=["I skolan varje dag."], actions=actions)
        roles = (
            ("koordinator_1",) if case.current_plan is None else ("kontaktperson", "koordinator_2")
        )
        return Move("save_plan", roles, run)

    # --- random pokes: (name, the roles that may do it, the call) -------------------------

    def poke_fire(self, data: st.DataObject) -> Poke:
        trigger = data.draw(st.sampled_from((*TRIGGERS, "no_such_trigger")), label="trigger")
        transition = WORKFLOW.transition(trigger)
        roles = tuple(sorted(transition.roles & set(ACTORS))) if transition else ()
        return trigger, roles, self.fire(trigger, data.draw(REASONS, label="reason"))

    def poke_record_consent(self, data: st.DataObject) -> Poke:
        run = self.service(cases.record_consent, given_by=data.draw(TEXTS, label="given by"))
        return "record_consent", ("samordnare", "koordinator_1"), run

    def poke_record_child_voice(self, data: st.DataObject) -> Poke:
        run = self.service(cases.record_child_voice, text=data.draw(TEXTS, label="voice"))
        return "record_child_voice", ("koordinator_2", "kontaktperson"), run

    def poke_set_problem_analysis(self, data: st.DataObject) -> Poke:
        run = self.service(
            cases.set_problem_analysis,
            problem_analysis=data.draw(TEXTS, label="analysis"),
            purpose=data.draw(TEXTS, label="purpose"),
        )
        return "set_problem_analysis", ("koordinator_1", "koordinator_2"), run

    def poke_add_network_entry(self, data: st.DataObject) -> Poke:
        # A pool member on the map makes them unfit as koordinator for this case.
        person = st.one_of(
            st.none(), st.sampled_from((*self.town.pool, *self.unit.eht, UNKNOWN_ID))
        )
        run = self.service(
            network.add_network_entry,
            kind=data.draw(st.sampled_from((*ParticipantKind, "okand")), label="kind"),
            name=data.draw(TEXTS, label="name"),
            person_id=data.draw(person, label="person"),
            on_guest_list=data.draw(st.booleans(), label="guest"),
        )
        return "add_network_entry", ("koordinator_1", "kontaktperson"), run

    def poke_remove_network_entry(self, data: st.DataObject) -> Poke:
        entry = self.pick_id(data, NetworkMapEntry.id, NetworkMapEntry.case_id)
        run = self.service(network.remove_network_entry, entry)
        return "remove_network_entry", ("koordinator_2",), run

    def poke_book_meeting(self, data: st.DataObject) -> Poke:
        now = clock.now()
        starts = st.sampled_from(
            [now - timedelta(hours=2), now + timedelta(days=7), now.replace(tzinfo=None)]
        )
        run = self.service(
            meetings.book_meeting,
            kind=data.draw(st.sampled_from((*MeetingKind, "okand")), label="kind"),
            starts_at=data.draw(starts, label="starts at"),
            participant_names=data.draw(st.lists(TEXTS, max_size=2), label="participants"),
        )
        return "book_meeting", ("koordinator_1", "kontaktperson"), run

    def poke_mark_invitations_sent(self, data: st.DataObject) -> Poke:
        run = self.service(
            meetings.mark_invitations_sent, self.pick_id(data, Meeting.id, Meeting.case_id)
        )
        return "mark_invitations_sent", ("koordinator_1",), run

    def poke_hold_meeting(self, data: st.DataObject) -> Poke:
        meeting = self.pick_id(data, Meeting.id, Meeting.case_id)
        participants = self.db.scalars(
            sa.select(MeetingParticipant.id).where(MeetingParticipant.meeting_id == meeting)
        ).all()
        self.db.rollback()
        someone = st.sampled_from([*participants, UNKNOWN_ID])
        attendance = st.lists(
            st.builds(meetings.Attendance, someone, st.booleans(), TEXTS), max_size=3
        )
        run = self.service(
            meetings.hold_meeting,
            meeting,
            minutes=data.draw(TEXTS, label="minutes"),
            attendance=data.draw(attendance, label="attendance"),
        )
        return "hold_meeting", ("koordinator_1", "kontaktperson"), run

    def poke_appoint_koordinatorer(self, data: st.DataObject) -> Poke:
        people = (*self.town.pool, *self.unit.eht, self.unit.rektor, self.town.admin, UNKNOWN_ID)
        pair = data.draw(st.lists(st.sampled_from(people), min_size=2, max_size=2), label="pair")
        run = self.service(assignments.appoint_koordinatorer, *pair)
        return "appoint_koordinatorer", ("samordnare",), run

    def poke_appoint_kontaktperson(self, data: st.DataObject) -> Poke:
        people = (
            *self.unit.eht,
            *self.other_unit.eht,
            self.unit.rektor,
            *self.town.pool[:3],
            UNKNOWN_ID,
        )
        run = self.service(
            assignments.appoint_kontaktperson, data.draw(st.sampled_from(people), label="person")
        )
        return "appoint_kontaktperson", ("rektor", "samordnare"), run

    def poke_appoint_sprakror(self, data: st.DataObject) -> Poke:
        run = self.service(
            assignments.appoint_sprakror,
            person_id=data.draw(
                st.sampled_from([None, self.town.pool[0], UNKNOWN_ID]), label="person"
            ),
            outside_name=data.draw(st.one_of(st.none(), TEXTS), label="outside name"),
            trust_confirmed_by_guardian=data.draw(st.booleans(), label="trust"),
        )
        return "appoint_sprakror", ("koordinator_1", "kontaktperson"), run

    def poke_save_plan(self, data: st.DataObject) -> Poke:
        due = st.sampled_from([None, clock.now().date() + timedelta(days=14)])
        action = st.builds(plans.ActionInput, TEXTS, TEXTS, due)
        run = self.service(
            plans.save_plan,
            goals=data.draw(st.lists(TEXTS, max_size=2), label="goals"),
            actions=data.draw(st.lists(action, max_size=2), label="actions"),
        )
        return "save_plan", ("koordinator_1", "kontaktperson"), run

    def poke_set_action_status(self, data: st.DataObject) -> Poke:
        actions = self.db.scalars(
            sa.select(Action.id).join(ActionPlan).where(ActionPlan.case_id == self.case_id)
        ).all()
        self.db.rollback()
        action = data.draw(st.sampled_from([*actions, UNKNOWN_ID]), label="action")
        status = data.draw(st.sampled_from((*ActionStatus, "okand")), label="status")
        run = self.service(plans.set_action_status, action, status)
        return "set_action_status", ("kontaktperson", "koordinator_1"), run

    def poke_record_follow_up(self, data: st.DataObject) -> Poke:
        today = clock.now().date()
        run = self.service(
            followups.record_follow_up,
            kind=data.draw(st.sampled_from((*FollowUpKind, "okand")), label="kind"),
            notes=data.draw(TEXTS, label="notes"),
            held_on=data.draw(
                st.sampled_from([None, today - timedelta(days=3), today + timedelta(days=3)])
            ),
        )
        return "record_follow_up", ("kontaktperson", "koordinator_2"), run

    def poke_record_evaluation(self, data: st.DataObject) -> Poke:
        run = self.service(
            followups.record_evaluation,
            decision=data.draw(st.sampled_from((*EvaluationDecision, "okand")), label="decision"),
            notes=data.draw(TEXTS, label="notes"),
        )
        return "record_evaluation", ("kontaktperson", "koordinator_1"), run

    def poke_register_deviation(self, data: st.DataObject) -> Poke:
        run = self.service(
            deviations.register_deviation, description=data.draw(TEXTS, label="text")
        )
        return "register_deviation", ("rektor", "eht_member"), run

    def pick_id(self, data: st.DataObject, column: sa.Column, case_column: sa.Column) -> int:
        """An id of one of the case's rows, or (half the time) an id that does not exist."""
        ids = self.db.scalars(sa.select(column).where(case_column == self.case_id)).all()
        self.db.rollback()
        choices = (
            st.one_of(st.just(UNKNOWN_ID), st.sampled_from(ids)) if ids else st.just(UNKNOWN_ID)
        )
        return data.draw(choices, label=str(column))


POKES = tuple(name.removeprefix("poke_") for name in dir(CaseMachine) if name.startswith("poke_"))
# register_deviation is among the probes although the workflow allows it in every state
# (`states: any`): call() checks that it stays the only activity a closed case takes.
CLOSED_PROBES = tuple(t for t in TRIGGERS if t != "reopen") + tuple(p for p in POKES if p != "fire")
# The db fixture reaches the machine through the factory, not through @given, so the
# function-scoped-fixture health check does not apply; each example registers its own case.
# Three quarters of the former budget (40 and 10 examples, then about 15 s and 10 s on an
# idle two-core machine): test_stateful_workflows.py now walks the same file generically.
SQLITE_RUN = settings(max_examples=30, stateful_step_count=40, deadline=None)
POSTGRES_RUN = settings(SQLITE_RUN, max_examples=8)


def walk_randomly(db: Session, run: settings) -> Counter[str]:
    """Run the machine; return in how many examples each state was reached."""
    town = Town.build(db)
    reached: Counter[str] = Counter()
    run_state_machine_as_test(lambda: CaseMachine(db, town, reached), settings=run)
    print(f"\nstates reached, in how many examples: {dict(reached)}")
    return reached


def test_random_walks_keep_the_audit_and_the_rules(db: Session, backend: str) -> None:
    reached = walk_randomly(db, SQLITE_RUN if backend == "sqlite" else POSTGRES_RUN)
    # Nearly every example gets this far; if none does, the walks checked little.
    assert reached["follow_up"] > 0, dict(reached)


# --- input that once reached the database and failed there -------------------------------


@pytest.fixture
def walker(db: Session) -> demo.Walker:
    return case_at(db, municipality(db), "pre_meeting")


def test_an_unknown_person_on_the_network_map_is_refused(walker: demo.Walker) -> None:
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    with pytest.raises(NotFound):
        walker.call(
            network.add_network_entry, actor=k1, kind="skola", name="X", person_id=UNKNOWN_ID
        )


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=["too-long", "nul-byte"])
def test_text_no_database_can_store_is_refused_on_every_backend(
    walker: demo.Walker, text: str
) -> None:
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    with pytest.raises(InvalidInput):
        walker.call(network.add_network_entry, actor=k1, kind="skola", name=text)
