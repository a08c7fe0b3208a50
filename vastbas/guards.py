"""Workflow guards: pure checks that list, in Swedish, what is missing for a transition.

A guard takes a `CaseFacts` snapshot and returns a list of missing items; an empty
list means the guard is satisfied. The workflow file names guards by the keys of
`GUARDS`, and the loader refuses a name that is not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vastbas.enums import (
    ActionStatus,
    EvaluationDecision,
    FollowUpKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
)

FAMILY_KINDS = frozenset(
    {ParticipantKind.VARDNADSHAVARE, ParticipantKind.FAMILJ, ParticipantKind.ANHORIGA}
)


@dataclass(frozen=True)
class MeetingFacts:
    kind: MeetingKind
    period: int
    held: bool
    has_minutes: bool
    homework_count: int
    invitations_sent: bool = False


@dataclass(frozen=True)
class ActionFacts:
    owner: str
    has_due_date: bool
    status: ActionStatus


@dataclass(frozen=True)
class PlanFacts:
    version: int
    period: int
    stage_seq: int
    goal_count: int
    actions: tuple[ActionFacts, ...]


@dataclass(frozen=True)
class CaseFacts:
    """What the guards may know about a case, taken from the database in one go."""

    state: str
    period: int
    stage_seq: int
    has_active_consent: bool = False
    consent_actor_count: int = 0
    koordinator_1_id: int | None = None
    koordinator_2_id: int | None = None
    kontaktperson_id: int | None = None
    sprakror_id: int | None = None
    sammankallande_id: int | None = None
    plan_samordnare_id: int | None = None
    plan_samordnare_organisation: Organisation | None = None
    placed_outside_home: bool = False
    has_child_voice: bool = False
    has_problem_analysis: bool = False
    has_purpose: bool = False
    network_kinds: tuple[ParticipantKind, ...] = ()
    guest_count: int = 0
    meetings: tuple[MeetingFacts, ...] = ()
    plan: PlanFacts | None = None
    follow_up_stage_seqs: frozenset[int] = field(default_factory=frozenset)
    follow_up_kinds: frozenset[tuple[int, FollowUpKind]] = field(default_factory=frozenset)
    evaluation: tuple[int, EvaluationDecision] | None = None  # (stage_seq, decision) of the latest

    def meetings_of(self, kind: MeetingKind) -> list[MeetingFacts]:
        return [m for m in self.meetings if m.kind == kind and m.period == self.period]


Guard = Callable[[CaseFacts], list[str]]


def consent_recorded(f: CaseFacts) -> list[str]:
    return [] if f.has_active_consent else ["Familjens samtycke är inte registrerat."]


def koordinatorer_appointed(f: CaseFacts) -> list[str]:
    missing = []
    if f.koordinator_1_id is None:
        missing.append("Koordinator 1 är inte utsedd.")
    if f.koordinator_2_id is None:
        missing.append("Koordinator 2 är inte utsedd.")
    return missing


def child_voice_noted(f: CaseFacts) -> list[str]:
    # 004, step 3: "Barnets/ungdomens röst är viktig att lyssna till."
    return [] if f.has_child_voice else ["Barnets röst är inte noterad."]


def _meeting_held(f: CaseFacts, kind: MeetingKind, name: str) -> list[str]:
    meetings = f.meetings_of(kind)
    if not any(m.held for m in meetings):
        return [f"{name} är inte hållet."]
    if not any(m.held and m.has_minutes for m in meetings):
        return [f"Anteckningar från {name.lower()} saknas."]
    return []


def pre_meeting_held(f: CaseFacts) -> list[str]:
    return _meeting_held(f, MeetingKind.PRE_MEETING, "Förmötet")


def network_meeting_1_held(f: CaseFacts) -> list[str]:
    return _meeting_held(f, MeetingKind.NETWORK_MEETING_1, "Nätverksmöte 1")


def network_meeting_2_held(f: CaseFacts) -> list[str]:
    return _meeting_held(f, MeetingKind.NETWORK_MEETING_2, "Nätverksmöte 2")


def network_meeting_1_booked(f: CaseFacts) -> list[str]:
    booked = f.meetings_of(MeetingKind.NETWORK_MEETING_1)
    return [] if booked else ["Nätverksmöte 1 är inte bokat."]


def problem_analysis_recorded(f: CaseFacts) -> list[str]:
    return [] if f.has_problem_analysis else ["Problemanalysen saknas."]


def purpose_recorded(f: CaseFacts) -> list[str]:
    return [] if f.has_purpose else ["Syftet med nätverksarbetet saknas."]


def sprakror_appointed(f: CaseFacts) -> list[str]:
    return [] if f.sprakror_id is not None else ["Språkrör är inte utsett."]


def guest_list_recorded(f: CaseFacts) -> list[str]:
    return [] if f.guest_count > 0 else ["Gästlistan är tom."]


def homework_recorded(f: CaseFacts) -> list[str]:
    # 004, step 5: "Hemläxa (vad kan jag bidra med?)"
    meetings = f.meetings_of(MeetingKind.NETWORK_MEETING_1)
    if any(m.held and m.homework_count > 0 for m in meetings):
        return []
    return ["Ingen hemläxa är registrerad från nätverksmöte 1."]


def _current_plan(f: CaseFacts) -> PlanFacts | None:
    return f.plan if f.plan is not None and f.plan.period == f.period else None


def plan_has_goals(f: CaseFacts) -> list[str]:
    plan = _current_plan(f)
    if plan is None:
        return ["Handlingsplan saknas."]
    return [] if plan.goal_count > 0 else ["Handlingsplanen saknar mål."]


def plan_actions_owned_and_dated(f: CaseFacts) -> list[str]:
    plan = _current_plan(f)
    if plan is None:
        return []  # plan_has_goals already says the plan is missing
    if not plan.actions:
        return ["Handlingsplanen saknar åtgärder."]
    missing = []
    undated = sum(1 for a in plan.actions if not a.has_due_date)
    unowned = sum(1 for a in plan.actions if not a.owner.strip())
    if undated:
        missing.append(f"{undated} åtgärd(er) i handlingsplanen saknar datum.")
    if unowned:
        missing.append(f"{unowned} åtgärd(er) i handlingsplanen saknar ansvarig.")
    return missing


def network_map_completed(f: CaseFacts) -> list[str]:
    # 004, step 4: the network map started at the förmöte "skall vara klar vid nätverksmöte 2".
    missing = []
    if not any(k in FAMILY_KINDS for k in f.network_kinds):
        missing.append("Nätverkskartan saknar familj eller vårdnadshavare.")
    if not any(k not in FAMILY_KINDS for k in f.network_kinds):
        missing.append("Nätverkskartan saknar professionella aktörer.")
    return missing


def kontaktperson_appointed(f: CaseFacts) -> list[str]:
    return [] if f.kontaktperson_id is not None else ["Kontaktperson är inte utsedd av rektor."]


def action_started(f: CaseFacts) -> list[str]:
    plan = f.plan
    if plan and any(a.status in (ActionStatus.STARTED, ActionStatus.DONE) for a in plan.actions):
        return []
    return ["Ingen åtgärd i handlingsplanen är påbörjad."]


def follow_up_recorded(f: CaseFacts) -> list[str]:
    if f.stage_seq in f.follow_up_stage_seqs:
        return []
    return ["Ingen uppföljning är dokumenterad i detta steg."]


def plan_revised(f: CaseFacts) -> list[str]:
    if f.plan is not None and f.plan.stage_seq == f.stage_seq:
        return []
    return ["Handlingsplanen är inte reviderad (ny version) i detta steg."]


def _evaluation(f: CaseFacts, wanted: EvaluationDecision, other: str) -> list[str]:
    if f.evaluation is None or f.evaluation[0] != f.stage_seq:
        return ["Utvärderingen är inte dokumenterad."]
    return [] if f.evaluation[1] == wanted else [other]


def evaluation_recorded_to_close(f: CaseFacts) -> list[str]:
    return _evaluation(
        f, EvaluationDecision.CLOSE, "Utvärderingen beslutade om fortsatta insatser."
    )


def evaluation_recorded_to_continue(f: CaseFacts) -> list[str]:
    return _evaluation(f, EvaluationDecision.CONTINUE, "Utvärderingen beslutade att avsluta.")


def consent_names_actors(f: CaseFacts) -> list[str]:
    # 001, p. 8: the child or guardian consents in writing, and the consent names the actors.
    if not f.has_active_consent:
        return ["Skriftligt samtycke från barnet eller vårdnadshavaren saknas."]
    return [] if f.consent_actor_count else ["Samtycket anger inte vilka aktörer som ska delta."]


def sammankallande_appointed(f: CaseFacts) -> list[str]:
    return [] if f.sammankallande_id is not None else ["Sammankallande är inte utsedd."]


def sip_meeting_booked(f: CaseFacts) -> list[str]:
    return [] if f.meetings_of(MeetingKind.SIP_MEETING) else ["SIP-mötet är inte bokat."]


def sip_invitations_sent(f: CaseFacts) -> list[str]:
    # 001, p. 8: "Kallelse ska gå ut tre veckor innan SIP-mötet."
    booked = f.meetings_of(MeetingKind.SIP_MEETING)
    if not booked or any(m.invitations_sent for m in booked):
        return []  # sip_meeting_booked already says the meeting is missing
    return ["Kallelsen till SIP-mötet är inte skickad."]


def sip_meeting_held(f: CaseFacts) -> list[str]:
    return _meeting_held(f, MeetingKind.SIP_MEETING, "SIP-mötet")


def plan_samordnare_appointed(f: CaseFacts) -> list[str]:
    # 001, p. 10: the plan names the samordnare the meeting chose.
    if f.plan_samordnare_id is not None:
        return []
    return ["Planen anger ingen samordnare."]


def placement_coordinated_by_socialtjanst(f: CaseFacts) -> list[str]:
    # 001, p. 10: "vid placering utanför hemmet har socialtjänsten samordningsansvaret".
    if not f.placed_outside_home or f.plan_samordnare_id is None:
        return []
    if f.plan_samordnare_organisation == Organisation.SOCIALTJANST:
        return []
    return ["Barnet är placerat utanför hemmet: samordnaren ska komma från socialtjänsten."]


def follow_up_by_meeting_or_phone(f: CaseFacts) -> list[str]:
    # 001, p. 10: "Uppföljning kan ske på olika sätt, i form av möte eller via telefon."
    wanted = (FollowUpKind.MEETING, FollowUpKind.PHONE)
    if any(seq == f.stage_seq and kind in wanted for seq, kind in f.follow_up_kinds):
        return []
    return ["Ingen uppföljning genom möte eller telefon är dokumenterad i detta steg."]


# Each guard with the parts of the case it reads, so a transition loads only those.
# Parts: "case" (the case row), "consents", "assignments", "network", "meetings",
# "plan", "follow_ups", "evaluations".
_GUARD_NEEDS: tuple[tuple[Guard, frozenset[str]], ...] = tuple(
    (guard, frozenset(needs.split()))
    for guard, needs in (
        (consent_recorded, "consents"),
        (koordinatorer_appointed, "assignments"),
        (child_voice_noted, "case"),
        (pre_meeting_held, "meetings"),
        (problem_analysis_recorded, "case"),
        (purpose_recorded, "case"),
        (sprakror_appointed, "assignments"),
        (guest_list_recorded, "network"),
        (network_meeting_1_booked, "meetings"),
        (network_meeting_1_held, "meetings"),
        (homework_recorded, "meetings"),
        (network_meeting_2_held, "meetings"),
        (plan_has_goals, "plan"),
        (plan_actions_owned_and_dated, "plan"),
        (network_map_completed, "network"),
        (kontaktperson_appointed, "assignments"),
        (action_started, "plan"),
        (follow_up_recorded, "follow_ups"),
        (plan_revised, "plan"),
        (evaluation_recorded_to_close, "evaluations"),
        (evaluation_recorded_to_continue, "evaluations"),
        (consent_names_actors, "consents"),
        (sammankallande_appointed, "assignments"),
        (sip_meeting_booked, "meetings"),
        (sip_invitations_sent, "meetings"),
        (sip_meeting_held, "meetings"),
        (plan_samordnare_appointed, "assignments"),
        (placement_coordinated_by_socialtjanst, "case assignments"),
        (follow_up_by_meeting_or_phone, "follow_ups"),
    )
)
GUARDS: dict[str, Guard] = {guard.__name__: guard for guard, _ in _GUARD_NEEDS}
GUARD_NEEDS: dict[str, frozenset[str]] = {guard.__name__: needs for guard, needs in _GUARD_NEEDS}
ALL_PARTS = frozenset().union(*GUARD_NEEDS.values())


def needs_of(guard_names: tuple[str, ...]) -> frozenset[str]:
    """The parts of a case that these guards read."""
    return frozenset().union(*(GUARD_NEEDS[name] for name in guard_names))


def missing_for(guard_names: tuple[str, ...], facts: CaseFacts) -> list[str]:
    """Everything the named guards find missing, in the order the file lists them."""
    return [item for name in guard_names for item in GUARDS[name](facts)]
