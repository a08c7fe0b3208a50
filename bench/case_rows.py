"""The rows of one generated case, as far as the case page and the sweep read them.

A case at a step has what the walk through the services (vastbas.demo.Walker) would have
left there: koordinatorer from step 3, network map, språkrör and meetings from step 4, a
handlingsplan and kontaktperson from step 7, follow-ups after that; its open deadlines
with their pending timers; and its audit events, the changes first and then audited
reads up to its share of the total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.case_mix import CHANGES, STEPS, has_plan, open_deadlines, path_to, reached_of
from vastbas.calendar import add_period, local_date
from vastbas.demo import child_personnummer
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    FollowUpKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
    Profession,
)
from vastbas.workflow import Workflow

NETWORK = (
    (ParticipantKind.VARDNADSHAVARE, "Vårdnadshavare 1", "Mamma"),
    (ParticipantKind.VARDNADSHAVARE, "Vårdnadshavare 2", "Pappa"),
    (ParticipantKind.SKOLA, "Mentor", None),
    (ParticipantKind.ELEVHALSA, "Kurator", None),
    (ParticipantKind.SOCIALTJANST, "Socialsekreterare", None),
)
COLUMNS = {
    "persons": ("id", "username", "name", "email", "organisation", "profession", "unit_id",
                "in_koordinator_pool", "pool_active", "active", "password_hash",
                "failed_logins", "digest_enabled", "created_at"),
    "cases": ("id", "reference", "workflow", "state", "outcome", "outcome_reason", "period",
              "stage_seq", "version", "child_name", "child_personnummer", "unit_id",
              "initiator_kind", "initiator_name", "background", "child_voice",
              "problem_analysis", "purpose", "registered_by_id", "created_at",
              "state_entered_at", "last_activity_at", "closed_at"),
    "consents": ("id", "case_id", "given_by", "actors", "given_on", "review_on",
                 "recorded_by_id", "recorded_at"),
    "assignments": ("id", "case_id", "role", "person_id", "started_at", "ended_at",
                    "appointed_by_id", "trust_confirmed_by_guardian"),
    "network_entries": ("id", "case_id", "kind", "name", "relation", "on_guest_list"),
    "meetings": ("id", "case_id", "period", "kind", "starts_at", "place",
                 "invitations_sent_at", "held_at", "minutes", "booked_by_id"),
    "meeting_participants": ("id", "meeting_id", "name", "network_entry_id", "attended",
                             "homework"),
    "action_plans": ("id", "case_id", "version", "period", "stage_seq", "created_at",
                     "created_by_id", "note"),
    "goals": ("id", "plan_id", "position", "text"),
    "actions": ("id", "plan_id", "position", "description", "owner_name", "owner_person_id",
                "due_on", "status", "started_at"),
    "follow_ups": ("id", "case_id", "period", "stage_seq", "kind", "held_on", "notes",
                   "reported_to_koordinator", "recorded_by_id", "recorded_at"),
    "evaluations": ("id", "case_id", "period", "stage_seq", "decision", "notes",
                    "recorded_by_id", "recorded_at"),
    "deviations": ("id", "case_id", "description", "status", "reported_by_id", "reported_at"),
    "case_deadlines": ("id", "case_id", "name", "subject_kind", "subject_id", "period",
                       "due_on", "started_at", "closed_at", "closed_as"),
    "timers": ("id", "deadline_id", "case_id", "reminder_index", "overdue", "recipients",
               "fire_at", "status"),
    "events": ("case_id", "actor_id", "at", "action", "before", "after"),
}  # fmt: skip
TABLE_ORDER = tuple(COLUMNS)
DETAILS = {"book_meeting": {"kind": "network_meeting_1"}, "record_follow_up": {"kind": "eht"}}
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class School:
    unit_id: int
    rektor_id: int
    eht: list[int]


@dataclass
class Batch:
    """The rows of a chunk of cases, by table, and the ids handed out so far."""

    ids: dict[str, int]
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, *values: Any) -> int:
        """Append a row with the next id of its table (events: no id column)."""
        if table == "events":
            self.rows[table].append(values)
            return 0
        self.ids[table] += 1
        self.rows[table].append((self.ids[table], *values))
        return self.ids[table]


@dataclass
class Quota:
    """How many pending timers and audit events a case gets, to reach the exact totals."""

    extra_actions: int
    reads: int
    timers_left: list[int]  # shared countdown: stop at the total
    events_left: list[int]


@dataclass(frozen=True)
class World:
    """What every case needs from the generated municipality."""

    workflow: Workflow
    start: datetime
    samordnare: int
    schools: list[School]
    koordinatorer: list[int]
    names: dict[int, str]
    fire_at: list[datetime]  # by timer id - 1
    recipients: list[int]  # people each timer reaches, by timer id - 1


def spread(i: int, size: int) -> int:
    """Case i's pick of `size` things, evenly but unrelated to its step (i % 100)."""
    return (i * 2654435761 % 2**32) * size >> 32


def add_case(batch: Batch, world: World, i: int, quota: Quota) -> None:
    """Every row of case i."""
    reached, ending = reached_of(i)
    p = STEPS.index(reached)
    school = world.schools[spread(i, len(world.schools))]
    pool = len(world.koordinatorer)
    k1 = world.koordinatorer[spread(i, pool)]
    k2 = world.koordinatorer[(spread(i, pool) + pool // 2) % pool]
    kp = school.eht[i % len(school.eht)]
    sam = world.samordnare
    created = world.start - timedelta(days=10 + 20 * p + i % 17, hours=i % 9)
    entered = world.start - timedelta(days=1 + i % 9)
    closed_at = world.start - timedelta(hours=2 + i % 40) if ending else None
    case_id = _case(batch, world, i, school, created, entered, closed_at)
    holders: dict[str, int] = {}

    def appoint(role: CaseRole, person: int, by: int, at: datetime, trusted: bool = False) -> None:
        batch.add("assignments", case_id, role.value, person, at, closed_at, by, trusted)
        holders[role.value] = person

    if p >= 2:
        appoint(CaseRole.KOORDINATOR_1, k1, sam, created + DAY)
        appoint(CaseRole.KOORDINATOR_2, k2, sam, created + DAY)
    entries: list[tuple[int, str]] = []
    nm1 = 0
    if p >= 3:
        for kind, name, relation in NETWORK:
            entry = batch.add("network_entries", case_id, kind, name, relation, True)
            entries.append((entry, name))
        sprakror = batch.add(
            "persons", None, f"Moster till barn {i}", None, Organisation.EXTERN,
            Profession.ANNAN, None, False, False, True, None, 0, True, created,
        )  # fmt: skip
        appoint(CaseRole.SPRAKROR, sprakror, k1, created + 3 * DAY, trusted=True)
        _meeting(batch, case_id, MeetingKind.PRE_MEETING, created + 5 * DAY, p >= 4, k1, [])
        nm1 = _meeting(
            batch, case_id, MeetingKind.NETWORK_MEETING_1, created + 20 * DAY, p >= 5, k1, entries
        )
    if p >= 5:
        nm2_at = created + 40 * DAY
        _meeting(batch, case_id, MeetingKind.NETWORK_MEETING_2, nm2_at, p >= 6, k1, entries)
    actions: list[tuple[int, int | None]] = []
    if has_plan(reached):
        appoint(CaseRole.KONTAKTPERSON, kp, school.rektor_id, created + 40 * DAY)
        versions = 2 if i % 3 == 0 else 1
        for version in range(1, versions + 1):
            current = version == versions
            count = 2 + (quota.extra_actions if current else 0)
            actions = _plan(batch, world, case_id, version, count, p >= 7, k1, created)
    if p >= 8:
        kind = FollowUpKind.MEETING if reached == "new_interventions" else FollowUpKind.EHT
        batch.add(
            "follow_ups", case_id, 1, 8, kind, local_date(entered), "Lyft i EHT; närvaron ökar.",
            True, kp, entered,
        )  # fmt: skip
    if ending and ending[0] == "completed":
        batch.add("evaluations", case_id, 1, 10, "close", "Målen är nådda.", kp, closed_at)
    if i % 50 == 0:
        batch.add("deviations", case_id, "Kallelsen kom för sent.", "ny", sam, created + 9 * DAY)
    holders["samordnare"] = sam
    holders["rektor"] = school.rektor_id
    if not ending:
        _deadlines(batch, world, case_id, i, holders, nm1, actions, quota)
    _events(batch, world, case_id, i, reached, ending, created, quota, (sam, k1, kp))


def _case(
    batch: Batch,
    world: World,
    i: int,
    school: School,
    created: datetime,
    entered: datetime,
    closed_at: datetime | None,
) -> int:
    """The case row and the family's consent; the case's id."""
    reached, ending = reached_of(i)
    p = STEPS.index(reached)
    case_id = batch.add(
        "cases", f"VB-{created.year}-{i:06d}", "vastbas", "closed" if ending else reached,
        ending[0] if ending else None, "Avslutat enligt beslut." if ending else None,
        1, p + 1 + (1 if ending else 0), 1,
        f"Barn {i}", child_personnummer(i), school.unit_id, "skola", "Mentor",
        "Hög frånvaro och oro hemma; flera aktörer behöver dra åt samma håll.",
        "Vill gå i skolan men orkar inte." if p >= 2 else None,
        "Frånvaro sedan hösten; oklart stöd i hemmet." if p >= 3 else None,
        "Få barnet tillbaka till skolan med stöd som drar åt samma håll." if p >= 3 else None,
        school.eht[0], created, entered,
        # Active all year: a sweep at a later `now` fires timers only, instead of also
        # telling the samordnare about every case as stalled.
        world.start + timedelta(days=365), closed_at,
    )  # fmt: skip
    given_on = local_date(created)
    batch.add(
        "consents", case_id, "Vårdnadshavare", ["Skola", "Socialtjänst", "BUP"], given_on,
        add_period(given_on, world.workflow.deadlines["consent_review"].due), school.eht[0],
        created,
    )  # fmt: skip
    return case_id


def _meeting(
    batch: Batch,
    case_id: int,
    kind: MeetingKind,
    at: datetime,
    held: bool,
    booked_by: int,
    entries: list[tuple[int, str]],
) -> int:
    meeting = batch.add(
        "meetings", case_id, 1, kind, at, "Skolans konferensrum", at - 22 * DAY,
        at + HOUR if held else None, "Mötet genomfört." if held else None, booked_by,
    )  # fmt: skip
    for entry, name in entries:
        homework = "Jag kan hämta på morgonen." if held else None
        batch.add("meeting_participants", meeting, name, entry, True if held else None, homework)
    return meeting


def _plan(
    batch: Batch,
    world: World,
    case_id: int,
    version: int,
    count: int,
    started: bool,
    k1: int,
    created: datetime,
) -> list[tuple[int, int | None]]:
    """A handlingsplan version with two goals and `count` actions; returns (id, owner)."""
    at = created + (40 + 30 * (version - 1)) * DAY
    note = "Reviderad efter uppföljning." if version > 1 else None
    plan = batch.add("action_plans", case_id, version, 1, 6 + 3 * (version - 1), at, k1, note)
    batch.add("goals", plan, 1, "Barnet är i skolan minst fyra dagar i veckan.")
    batch.add("goals", plan, 2, "Barnet har en vuxen att gå till varje dag.")
    made = []
    for position in range(1, count + 1):
        owner = k1 if position == 1 else None
        status = ActionStatus.STARTED if started and position == 1 else ActionStatus.PLANNED
        due = local_date(world.start) + timedelta(days=14 + 7 * position)
        action = batch.add(
            "actions", plan, position, f"Åtgärd {position}: morgonstöd och anpassat schema",
            world.names.get(owner, "Vårdnadshavare 1") if owner else "Vårdnadshavare 1",
            owner, due, status, at + DAY if status == ActionStatus.STARTED else None,
        )  # fmt: skip
        made.append((action, owner))
    return made


def _deadlines(
    batch: Batch,
    world: World,
    case_id: int,
    i: int,
    holders: dict[str, int],
    nm1: int,
    actions: list[tuple[int, int | None]],
    quota: Quota,
) -> None:
    """The case's open deadlines, each with a pending timer per reminder, up to the total."""
    today = local_date(world.start)
    wanted: list[tuple[str, tuple[str, int] | None, int | None]] = [
        (name, ("meeting", nm1) if name == "invitation" else None, None)
        for name in open_deadlines(i)
    ]
    wanted += [("action_due", ("action", action), owner) for action, owner in actions]
    for name, subject, owner in wanted:
        definition = world.workflow.deadlines[name]
        # Due dates from a week ago to three months ahead: some late, some due this week,
        # as on Mina ärenden. A repeating deadline (sprakror_report) starts its next one
        # when it fires: due in four weeks, so the next one is never due within a sweep.
        spread_days = (i + batch.ids["case_deadlines"]) % 97 - 7
        due_on = today + timedelta(days=28 if definition.repeat else spread_days)
        deadline = batch.add(
            "case_deadlines", case_id, name, *(subject or (None, None)), 1, due_on,
            world.start - DAY, None, None,
        )  # fmt: skip
        for index, reminder in enumerate(definition.reminders):
            if quota.timers_left[0] <= 0:
                return
            quota.timers_left[0] -= 1
            fire_at = world.fire_at[batch.ids["timers"]]  # the next id's, counted from 1
            timer = batch.add(
                "timers", deadline, case_id, index, reminder.overdue, list(reminder.to),
                fire_at, "pending",
            )  # fmt: skip
            people = {
                owner if role == "action_owner" else holders.get(role) for role in reminder.to
            }
            people.discard(None)
            world.recipients[timer - 1] = len(people)


def _events(
    batch: Batch,
    world: World,
    case_id: int,
    i: int,
    reached: str,
    ending: tuple[str, str, str] | None,
    created: datetime,
    quota: Quota,
    actors: tuple[int, int, int],
) -> None:
    """The audit events: the changes up to the step, then audited reads of the case."""
    sam, k1, kp = actors
    changes: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = []
    previous = None
    for step in path_to(reached):
        for action in CHANGES[step]:
            actor = kp if has_plan(step) else sam if STEPS.index(step) < 2 else k1
            before, after = _before_after(world.workflow, action, previous)
            changes.append((action, actor, before, after))
        previous = step
    if ending:
        before = {"state": reached, "period": 1, "outcome": None}
        after = {"state": "closed", "period": 1, "outcome": ending[0], "reason_given": True}
        changes.append((ending[1], sam, before, after))
    span = (world.start - HOUR - created) / (len(changes) + 1)
    for n, (action, actor, before, after) in enumerate(changes, start=1):
        if quota.events_left[0] <= 0:
            return
        quota.events_left[0] -= 1
        batch.add("events", case_id, actor, created + n * span, action, before, after)
    for n in range(quota.reads):
        if quota.events_left[0] <= 0:
            return
        quota.events_left[0] -= 1
        at = created + (n + 0.5) * (world.start - created) / quota.reads
        batch.add("events", case_id, (sam, k1, kp)[n % 3], at, "read_case", {}, {})


def _before_after(
    workflow: Workflow, action: str, previous: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    transition = workflow.transition(action)
    if action == "register":
        return {}, {"state": "request"}
    if transition is None:
        return {}, DETAILS.get(action, {})
    return (
        {"state": previous, "period": 1, "outcome": None},
        {"state": transition.dest, "period": 1, "outcome": None},
    )


def staff_row(
    person_id: int,
    username: str,
    name: str,
    organisation: Organisation,
    profession: Profession,
    unit_id: int | None,
    password_hash: str,
    at: datetime,
    *,
    pool: bool = False,
) -> tuple[Any, ...]:
    """A person with a login (the demo password), in the column order of COLUMNS."""
    email = f"{username}@vastbas.example"
    return (
        person_id, username, name, email, organisation, profession, unit_id, pool, pool, True,
        password_hash, 0, True, at,
    )  # fmt: skip
