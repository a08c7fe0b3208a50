"""Validation of a parsed workflow file and construction of its Workflow object."""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from string import Formatter
from typing import Any

from transitions import Machine

from vastbas.enums import CaseRole, FollowUpKind, MeetingKind, ParticipantKind
from vastbas.guards import GUARDS
from vastbas.workflow import (
    ACTIVITIES,
    ANCHORS,
    RECIPIENT_EXTRAS,
    REQUIRED_EXITS,
    ROLE_SCOPES,
    STOPPING_EVENTS,
    SUBJECT_PLACEHOLDERS,
    ActivityDef,
    DeadlineDef,
    InitialDef,
    LeadTimeDef,
    ReminderDef,
    RoleDef,
    StateDef,
    TransitionDef,
    Workflow,
    _Map,
    _Reader,
)

TOP_LEVEL = {
    "name", "title", "reference_prefix", "roles", "initial", "states", "outcomes",
    "transitions", "activities", "deadlines", "participant_kinds", "meeting_kinds",
    "follow_up_kinds", "follow_up_report_label", "lead_times",
}  # fmt: skip
LEAD_TIME_KEYS = {"label", "from", "to"}
TRANSITION_KEYS = {
    "trigger", "label", "source", "dest", "guards", "roles", "outcome", "requires_reason",
    "confirm", "new_period", "starts", "stops",
}  # fmt: skip
STATE_KEYS = {"name", "label", "description", "step", "owner", "final"}
DEADLINE_KEYS = {
    "label", "due", "anchor", "before_anchor", "repeat", "restart_on_activity", "reminders",
    "stopped_by", "subject", "meeting",
}  # fmt: skip
MEETING_KEYS = {"kind", "late_booking"}


def build(r: _Reader, data: _Map) -> Workflow:
    """Validate every part of the file, then build the Workflow and its Machine."""
    _only_keys(r, data, TOP_LEVEL, "top level")
    roles = _roles(r, r.mapping(data, "roles"))
    states = _states(r, data, roles)
    names = {s.name for s in states}
    outcomes = _outcomes(r, r.mapping(data, "outcomes"))
    deadlines = _deadlines(r, r.mapping(data, "deadlines", required=False), roles)
    initial = _initial(r, r.mapping(data, "initial"), names, roles, deadlines)
    transitions = _transitions(r, data, states, roles, outcomes, deadlines)
    activities = _activities(r, r.mapping(data, "activities", required=False), states, roles)
    _check_graph(r, data, states, initial, transitions)
    machine = Machine(
        model=None,
        states=[s.name for s in states],
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in transitions
        ],
        initial=initial.state,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
    return Workflow(
        name=r.text(data, "name"),
        title=r.text(data, "title"),
        reference_prefix=r.text(data, "reference_prefix"),
        path=r.path,
        roles=roles,
        states=states,
        initial=initial,
        outcomes=outcomes,
        transitions=transitions,
        activities=activities,
        deadlines=deadlines,
        lead_times=_lead_times(r, r.mapping(data, "lead_times", required=False), deadlines),
        machine=machine,
        participant_kinds=_kinds(r, data, "participant_kinds", ParticipantKind),
        meeting_kinds=_kinds(r, data, "meeting_kinds", MeetingKind),
        follow_up_kinds=_kinds(r, data, "follow_up_kinds", FollowUpKind),
        follow_up_report_label=(
            r.text(data, "follow_up_report_label") if "follow_up_report_label" in data else None
        ),
    )


def _kinds(r: _Reader, data: _Map, key: str, enum_class: type[StrEnum]) -> tuple:
    """A list of stored enum values the file offers; all of them when it names none."""
    if key not in data:
        return tuple(enum_class)
    names = r.names(data, key)
    known = {member.value for member in enum_class}
    for name in names:
        if name not in known:
            raise r.fail(r.line_of_item(data, key, name), f"unknown {key[:-1]} '{name}'")
    if not names:
        raise r.fail(r.line_of(data, key), f"'{key}' must name at least one")
    return tuple(enum_class(name) for name in names)


def _only_keys(r: _Reader, mapping: _Map, allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise r.fail(r.line_of(mapping, key), f"unknown key '{key}' in {where}")


def _roles(r: _Reader, raw: _Map) -> dict[str, RoleDef]:
    roles = {}
    for name, spec in raw.items():
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(raw, name), f"role '{name}' must be a mapping")
        scope = spec.get("scope")
        if scope not in ROLE_SCOPES:
            raise r.fail(spec.line, f"role '{name}': scope must be one of {', '.join(ROLE_SCOPES)}")
        if scope == "case" and name not in {role.value for role in CaseRole}:
            # Appointments are stored rows; a new case role needs its enum value first.
            raise r.fail(spec.line, f"role '{name}': no such case role in vastbas.enums.CaseRole")
        roles[name] = RoleDef(name, r.text(spec, "label"), scope)
    return roles


def _known_roles(r: _Reader, spec: _Map, key: str, roles: dict[str, Any], extra=()) -> tuple:
    found = r.names(spec, key)
    for role in found:
        if role not in roles and role not in extra:
            raise r.fail(r.line_of_item(spec, key, role), f"unknown role '{role}'")
    return found


def _states(r: _Reader, data: _Map, roles: dict[str, RoleDef]) -> tuple[StateDef, ...]:
    raw = data.get("states")
    if not isinstance(raw, list) or not raw:
        raise r.fail(r.line_of(data, "states"), "'states' must be a non-empty list")
    states: list[StateDef] = []
    for spec in raw:
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(data, "states"), "each state must be a mapping")
        _only_keys(r, spec, STATE_KEYS, "a state")
        name = r.text(spec, "name")
        if any(s.name == name for s in states):
            raise r.fail(spec.line, f"state '{name}' is defined twice")
        owner = spec.get("owner")
        if owner is not None and owner not in roles:
            raise r.fail(r.line_of(spec, "owner"), f"unknown role '{owner}'")
        step = spec.get("step")
        if step is not None and not isinstance(step, int):
            raise r.fail(r.line_of(spec, "step"), "'step' must be a number")
        states.append(
            StateDef(
                name=name,
                label=r.text(spec, "label"),
                description=str(spec.get("description", "")),
                step=step,
                owner=owner,
                final=bool(spec.get("final", False)),
            )
        )
    if not any(s.final for s in states):
        raise r.fail(r.line_of(data, "states"), "no final state")
    return tuple(states)


def _outcomes(r: _Reader, raw: _Map) -> dict[str, str]:
    for key in REQUIRED_EXITS:
        if key not in raw:
            raise r.fail(raw.line, f"outcome '{key}' is required")
    return {key: r.text(raw, key) for key in raw}


def _lead_times(
    r: _Reader, raw: _Map, deadlines: dict[str, DeadlineDef]
) -> tuple[LeadTimeDef, ...]:
    """`lead_times: {name: {label, from: <deadline>, to: <deadline>}}` for the statistics."""
    found = []
    for name, spec in raw.items():
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(raw, name), f"lead time '{name}' must be a mapping")
        _only_keys(r, spec, LEAD_TIME_KEYS, f"lead time '{name}'")
        ends = []
        for key in ("from", "to"):
            deadline = r.text(spec, key)
            if deadline not in deadlines:
                raise r.fail(r.line_of(spec, key), f"unknown deadline '{deadline}'")
            ends.append(deadline)
        found.append(LeadTimeDef(name, r.text(spec, "label"), ends[0], ends[1]))
    return tuple(found)


def _deadlines(r: _Reader, raw: _Map, roles: dict[str, RoleDef]) -> dict[str, DeadlineDef]:
    deadlines = {}
    for name, spec in raw.items():
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(raw, name), f"deadline '{name}' must be a mapping")
        _only_keys(r, spec, DEADLINE_KEYS, f"deadline '{name}'")
        reminders = []
        for reminder in spec.get("reminders", []):
            if not isinstance(reminder, _Map):
                raise r.fail(spec.line, f"deadline '{name}': each reminder must be a mapping")
            to = _known_roles(r, reminder, "to", roles, RECIPIENT_EXTRAS)
            if not to:
                raise r.fail(reminder.line, f"deadline '{name}': a reminder needs 'to'")
            before = r.period(reminder, "before") if "before" in reminder else None
            overdue = bool(reminder.get("overdue", False))
            if (before is None) == (not overdue):
                raise r.fail(reminder.line, "a reminder has either 'before' or 'overdue: true'")
            reminders.append(ReminderDef(before, overdue, to))
        if spec.get("repeat") and len(reminders) != 1:
            raise r.fail(spec.line, f"deadline '{name}' repeats: give it exactly one reminder")
        anchor = spec.get("anchor")
        if anchor is not None and anchor not in ANCHORS:
            raise r.fail(r.line_of(spec, "anchor"), f"unknown anchor '{anchor}'")
        stopped_by = spec.get("stopped_by")
        if stopped_by is not None and stopped_by not in STOPPING_EVENTS:
            raise r.fail(r.line_of(spec, "stopped_by"), f"unknown activity '{stopped_by}'")
        subject = spec.get("subject")
        if subject is not None:
            subject = _subject(r, spec, name)
        meeting, late_booking = _meeting_rule(r, spec, name)
        deadlines[name] = DeadlineDef(
            name=name,
            label=r.text(spec, "label"),
            due=r.period(spec, "due"),
            anchor=anchor,
            stopped_by=stopped_by,
            subject=subject,
            meeting=meeting,
            late_booking=late_booking,
            before_anchor=bool(spec.get("before_anchor", False)),
            repeat=bool(spec.get("repeat", False)),
            restart_on_activity=bool(spec.get("restart_on_activity", False)),
            reminders=tuple(reminders),
        )
    return deadlines


def _meeting_rule(r: _Reader, spec: _Map, name: str) -> tuple[MeetingKind | None, str | None]:
    """`meeting: {kind, late_booking}`: the meeting that meets the deadline, and the warning
    shown when one is booked after its due date."""
    raw = spec.get("meeting")
    if raw is None:
        return None, None
    if not isinstance(raw, _Map):
        raise r.fail(r.line_of(spec, "meeting"), f"deadline '{name}': meeting must be a mapping")
    _only_keys(r, raw, MEETING_KEYS, f"deadline '{name}' meeting")
    kind = raw.get("kind")
    if kind not in {k.value for k in MeetingKind}:
        raise r.fail(r.line_of(raw, "kind"), f"unknown meeting kind '{kind}'")
    return MeetingKind(kind), r.text(raw, "late_booking")


def _subject(r: _Reader, spec: _Map, name: str) -> str:
    """A mail subject template; it may name only the case reference, never the child."""
    subject = r.text(spec, "subject")
    line = r.line_of(spec, "subject")
    try:
        fields = [f for _, f, _, _ in Formatter().parse(subject) if f is not None]
    except ValueError as exc:
        raise r.fail(line, f"deadline '{name}': subject is not a valid template ({exc})") from exc
    for field in fields:
        if field not in SUBJECT_PLACEHOLDERS:
            raise r.fail(line, f"deadline '{name}': subject may only use {{reference}}")
    return subject


def _known_deadlines(r: _Reader, spec: _Map, key: str, deadlines: dict) -> tuple[str, ...]:
    found = r.names(spec, key)
    for name in found:
        if name not in deadlines:
            raise r.fail(r.line_of_item(spec, key, name), f"unknown deadline '{name}'")
    return found


def _initial(r: _Reader, spec: _Map, names: set[str], roles: dict, deadlines: dict) -> InitialDef:
    state = r.text(spec, "state")
    if state not in names:
        raise r.fail(r.line_of(spec, "state"), f"unknown state '{state}'")
    return InitialDef(
        state=state,
        trigger=r.text(spec, "trigger"),
        label=r.text(spec, "label"),
        roles=frozenset(_known_roles(r, spec, "roles", roles)),
        starts=_known_deadlines(r, spec, "starts", deadlines),
    )


def _sources(r: _Reader, spec: _Map, states: tuple[StateDef, ...]) -> tuple[str, ...]:
    names = {s.name for s in states}
    raw = r.names(spec, "source")
    if raw == ("open",):
        return tuple(s.name for s in states if not s.final)
    for source in raw:
        if source not in names:
            raise r.fail(r.line_of_item(spec, "source", source), f"unknown state '{source}'")
    if not raw:
        raise r.fail(spec.line, "a transition needs a 'source'")
    return raw


def _transitions(
    r: _Reader,
    data: _Map,
    states: tuple[StateDef, ...],
    roles: dict[str, RoleDef],
    outcomes: dict[str, str],
    deadlines: dict[str, DeadlineDef],
) -> tuple[TransitionDef, ...]:
    raw = data.get("transitions")
    if not isinstance(raw, list) or not raw:
        raise r.fail(r.line_of(data, "transitions"), "'transitions' must be a non-empty list")
    by_name = {s.name: s for s in states}
    result: list[TransitionDef] = []
    for spec in raw:
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(data, "transitions"), "each transition must be a mapping")
        _only_keys(r, spec, TRANSITION_KEYS, "a transition")
        trigger = r.text(spec, "trigger")
        if any(t.trigger == trigger for t in result):
            raise r.fail(spec.line, f"trigger '{trigger}' is defined twice")
        dest = r.text(spec, "dest")
        if dest not in by_name:
            raise r.fail(r.line_of(spec, "dest"), f"unknown state '{dest}'")
        guards = r.names(spec, "guards")
        for guard in guards:
            if guard not in GUARDS:
                raise r.fail(r.line_of_item(spec, "guards", guard), f"unknown guard '{guard}'")
        trigger_roles = _known_roles(r, spec, "roles", roles)
        if not trigger_roles:
            raise r.fail(spec.line, f"transition '{trigger}' names no role that may fire it")
        outcome = spec.get("outcome")
        if by_name[dest].final and outcome not in outcomes:
            raise r.fail(spec.line, f"transition '{trigger}' ends the case: name a known outcome")
        if outcome is not None and not by_name[dest].final:
            raise r.fail(
                r.line_of(spec, "outcome"), "only a transition to a final state has an outcome"
            )
        result.append(
            TransitionDef(
                trigger=trigger,
                label=r.text(spec, "label"),
                sources=_sources(r, spec, states),
                dest=dest,
                guards=guards,
                roles=frozenset(trigger_roles),
                outcome=outcome,
                requires_reason=bool(spec.get("requires_reason", False)),
                confirm=bool(spec.get("confirm", False)),
                new_period=bool(spec.get("new_period", False)),
                starts=_known_deadlines(r, spec, "starts", deadlines),
                stops=_known_deadlines(r, spec, "stops", deadlines),
                line=spec.line,
            )
        )
    return tuple(result)


def _activities(
    r: _Reader, raw: _Map, states: tuple[StateDef, ...], roles: dict[str, RoleDef]
) -> dict[str, ActivityDef]:
    names = {s.name for s in states}
    open_states = frozenset(s.name for s in states if not s.final)
    activities = {}
    for name, spec in raw.items():
        if name not in ACTIVITIES:
            raise r.fail(r.line_of(raw, name), f"unknown activity '{name}'")
        if not isinstance(spec, _Map):
            raise r.fail(r.line_of(raw, name), f"activity '{name}' must be a mapping")
        raw_states = spec.get("states", "open")
        if raw_states == "open":
            allowed = open_states
        elif raw_states == "any":
            allowed = frozenset(names)
        else:
            allowed = frozenset(r.names(spec, "states"))
            unknown = allowed - names
            if unknown:
                raise r.fail(r.line_of(spec, "states"), f"unknown state '{sorted(unknown)[0]}'")
        activity_roles = _known_roles(r, spec, "roles", roles)
        activities[name] = ActivityDef(name, frozenset(activity_roles), allowed)
    return activities


def _check_graph(
    r: _Reader,
    data: _Map,
    states: tuple[StateDef, ...],
    initial: InitialDef,
    transitions: tuple[TransitionDef, ...],
) -> None:
    state_lines = {s.get("name"): s.line for s in data.get("states", []) if isinstance(s, _Map)}
    edges: dict[str, set[str]] = {s.name: set() for s in states}
    for t in transitions:
        for source in t.sources:
            edges[source].add(t.dest)
    reachable = _reach(edges, [initial.state])
    for s in states:
        if s.name not in reachable:
            raise r.fail(state_lines[s.name], f"state '{s.name}' cannot be reached")
    finals = {s.name for s in states if s.final}
    for s in states:
        if s.final:
            continue
        if not _reach(edges, [s.name]) & finals:
            raise r.fail(state_lines[s.name], f"open state '{s.name}' has no way out")
        exits = {t.outcome for t in transitions if s.name in t.sources}
        for outcome in REQUIRED_EXITS:
            if outcome not in exits:
                raise r.fail(
                    state_lines[s.name],
                    f"open state '{s.name}' has no '{outcome}' exit",
                )


def _reach(edges: dict[str, set[str]], start: list[str]) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
