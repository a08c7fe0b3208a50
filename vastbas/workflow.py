"""Load and validate workflow files, and build the one transitions Machine per file.

The workflow file is the single source of truth for states, transitions, guards,
roles, activities and deadlines. Every validation error names the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from transitions import Machine

from vastbas.calendar import Period
from vastbas.enums import FollowUpKind, MeetingKind, ParticipantKind
from vastbas.guards import GUARDS

WORKFLOW_DIR = Path(__file__).resolve().parent.parent / "workflows"

# 004, page 5: myndighetsutövning "kan bli aktuell under hela processen"; consent can be
# withdrawn at any time. Every open state must therefore offer both ways out.
REQUIRED_EXITS = ("referred_to_authority", "consent_withdrawn")
ROLE_SCOPES = ("system", "case", "derived")
# The records that can start a deadline (`anchor:` in the file) and the activities that
# can meet one (`stopped_by:`); the services announce these by name.
ANCHORS = frozenset(
    {"meeting.starts_at", "action.due_on", "consent.given_on", "case.last_activity_at"}
)
STOPPING_EVENTS = frozenset({"send_invitations", "record_follow_up:eht", "complete_action"})
# Recipients that are not roles on the case but follow from the record that is due.
RECIPIENT_EXTRAS = frozenset({"action_owner"})
ACTIVITIES = frozenset(
    {
        "record_consent",
        "appoint_koordinatorer",
        "record_child_voice",
        "set_problem_analysis",
        "edit_network_map",
        "book_meeting",
        "hold_meeting",
        "appoint_sprakror",
        "appoint_kontaktperson",
        "create_plan",
        "revise_plan",
        "update_action",
        "record_follow_up",
        "record_evaluation",
        "register_deviation",
        "appoint_sammankallande",
        "appoint_plan_samordnare",
        "record_placement",
    }
)
# The only placeholder a mail subject in a workflow file may use: nothing about the child.
SUBJECT_PLACEHOLDERS = frozenset({"reference"})


class WorkflowError(ValueError):
    """A workflow file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class RoleDef:
    name: str
    label: str
    scope: str


@dataclass(frozen=True)
class StateDef:
    name: str
    label: str
    description: str
    step: int | None
    owner: str | None
    final: bool


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    label: str
    sources: tuple[str, ...]
    dest: str
    guards: tuple[str, ...]
    roles: frozenset[str]
    outcome: str | None
    requires_reason: bool
    confirm: bool
    new_period: bool
    starts: tuple[str, ...]
    stops: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class InitialDef:
    state: str
    trigger: str
    label: str
    roles: frozenset[str]
    starts: tuple[str, ...]


@dataclass(frozen=True)
class ActivityDef:
    name: str
    roles: frozenset[str]
    states: frozenset[str]


@dataclass(frozen=True)
class ReminderDef:
    before: Period | None
    overdue: bool
    to: tuple[str, ...]


@dataclass(frozen=True)
class LeadTimeDef:
    """A lead time for the statistics: from the start of one deadline to the stop of another.

    Deadlines start and stop with the file's transitions, so the measure follows the file.
    """

    key: str
    label: str
    starts: str
    stops: str


@dataclass(frozen=True)
class DeadlineDef:
    name: str
    label: str
    due: Period
    anchor: str | None
    before_anchor: bool
    repeat: bool
    restart_on_activity: bool
    reminders: tuple[ReminderDef, ...]
    stopped_by: str | None = None
    subject: str | None = None
    # A deadline met by holding a meeting of this kind; booking one later is warned about.
    meeting: MeetingKind | None = None
    late_booking: str | None = None

    def mail_subject(self, reference: str) -> str | None:
        """The file's own subject line for this deadline's mails, if it sets one."""
        return None if self.subject is None else self.subject.format(reference=reference)


@dataclass(frozen=True, eq=False)
class Workflow:
    """A validated workflow: its definitions and the shared state machine."""

    name: str
    title: str
    reference_prefix: str
    path: Path
    roles: Mapping[str, RoleDef]
    states: tuple[StateDef, ...]
    initial: InitialDef
    outcomes: Mapping[str, str]
    transitions: tuple[TransitionDef, ...]
    activities: Mapping[str, ActivityDef]
    deadlines: Mapping[str, DeadlineDef]
    machine: Machine
    participant_kinds: tuple[ParticipantKind, ...] = tuple(ParticipantKind)
    meeting_kinds: tuple[MeetingKind, ...] = tuple(MeetingKind)
    follow_up_kinds: tuple[FollowUpKind, ...] = tuple(FollowUpKind)
    # The follow-up form's "reported back" box, when the routine has someone to report to.
    follow_up_report_label: str | None = None
    lead_times: tuple[LeadTimeDef, ...] = ()

    def state(self, name: str) -> StateDef:
        return next(s for s in self.states if s.name == name)

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states if not s.final)

    @property
    def steps(self) -> tuple[StateDef, ...]:
        """The numbered steps, in order, for the stepper."""
        return tuple(sorted((s for s in self.states if s.step), key=lambda s: s.step or 0))

    @property
    def case_roles(self) -> tuple[RoleDef, ...]:
        """The roles appointed on a case of this workflow, in the file's order."""
        return tuple(r for r in self.roles.values() if r.scope == "case")

    def is_final(self, state: str) -> bool:
        return self.state(state).final

    def transition(self, trigger: str) -> TransitionDef | None:
        return next((t for t in self.transitions if t.trigger == trigger), None)

    def transitions_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def activity_allowed(self, name: str, state: str) -> bool:
        activity = self.activities.get(name)
        return activity is not None and state in activity.states

    def fire(self, trigger: str, state: str) -> str:
        """Run a trigger through the machine from `state` and return the new state.

        Guards and permissions are checked by the engine before; the machine makes sure
        the trigger exists from this state, so the file alone decides what comes next.
        """
        token: Any = _Token()
        self.machine.add_model(token, initial=state)
        try:
            token.trigger(trigger)
            return str(token.state)
        finally:
            self.machine.remove_model(token)

    def mermaid(self) -> str:
        """The process as a Mermaid state diagram."""
        from vastbas.diagram import mermaid

        return mermaid(self)


class _Token:
    """The stand-in model the machine moves; the case itself is never handed to it.

    transitions gives it `state` and `trigger()` in add_model.
    """


class _Loader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping and of each of its keys."""


class _Map(dict[str, Any]):
    line: int
    key_lines: dict[str, int]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map(loader.construct_mapping(node, deep=True))
    result.line = node.start_mark.line + 1
    result.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
    return result


class _Seq(list[Any]):
    item_lines: list[int]


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_sequence(node, deep=True))
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Reader:
    """Reads the parsed file, turning every problem into a WorkflowError with a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int, message: str) -> WorkflowError:
        return WorkflowError(f"{self.path}:{line}: {message}")

    def line_of(self, mapping: Any, key: str | None = None) -> int:
        if not isinstance(mapping, _Map):
            return 1
        return mapping.key_lines.get(key, mapping.line) if key else mapping.line

    def line_of_item(self, parent: Any, key: str, item: str) -> int:
        """The line of one item of a list value, so an error points at the bad name."""
        value = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(value, _Seq) and item in value:
            return value.item_lines[value.index(item)]
        return self.line_of(parent, key)

    def mapping(self, parent: _Map, key: str, *, required: bool = True) -> _Map:
        value = parent.get(key)
        if value is None and not required:
            return _Map()
        if not isinstance(value, _Map):
            raise self.fail(self.line_of(parent, key), f"'{key}' must be a mapping")
        return value

    def text(self, parent: Mapping[str, Any], key: str, *, default: str | None = None) -> str:
        value = parent.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(self.line_of(parent, key), f"'{key}' must be a non-empty text")
        return value

    def names(self, parent: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = parent.get(key, [])
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(self.line_of(parent, key), f"'{key}' must be a list of names")
        return tuple(value)

    def period(self, parent: _Map, key: str) -> Period:
        try:
            return Period.from_mapping(self.mapping(parent, key))
        except ValueError as exc:
            raise self.fail(self.line_of(parent, key), f"'{key}': {exc}") from exc


def load_workflow(path: str | Path) -> Workflow:
    """Read, validate and build a workflow file; raises WorkflowError naming the line."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read the file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise WorkflowError(f"{path}:{line}: not valid YAML ({exc})") from exc
    if not isinstance(data, _Map):
        raise WorkflowError(f"{path}:1: the file must be a mapping")
    from vastbas.workflow_check import build

    return build(_Reader(path), data)


def workflow_names() -> list[str]:
    """The names of every workflow file in workflows/, e.g. ["sip", "vastbas"]."""
    return sorted(path.stem for path in WORKFLOW_DIR.glob("*.yaml"))


@cache
def workflow_named(name: str) -> Workflow:
    """The workflow in workflows/<name>.yaml, loaded once per process."""
    return load_workflow(WORKFLOW_DIR / f"{name}.yaml")


KNOWN_GUARDS = frozenset(GUARDS)
