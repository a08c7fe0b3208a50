"""Take the snapshot of a case that the workflow guards read."""

from __future__ import annotations

from typing import Any

from vastbas.enums import CaseRole, Organisation
from vastbas.guards import ALL_PARTS, ActionFacts, CaseFacts, MeetingFacts, PlanFacts
from vastbas.models import Assignment, Case


def case_facts(case: Case, needs: frozenset[str] = ALL_PARTS) -> CaseFacts:
    """The guard facts of a case; only the parts in `needs` are read from the database.

    A transition's guards need one or two parts, so firing it loads one or two relations
    instead of all of them (see guards.GUARD_NEEDS).
    """
    facts: dict[str, Any] = {}
    for part in needs:
        facts.update(_READERS[part](case))
    return CaseFacts(state=case.state, period=case.period, stage_seq=case.stage_seq, **facts)


def _case_row(case: Case) -> dict[str, Any]:
    return {
        "has_child_voice": bool((case.child_voice or "").strip()),
        "has_problem_analysis": bool((case.problem_analysis or "").strip()),
        "has_purpose": bool((case.purpose or "").strip()),
        "placed_outside_home": case.placed_outside_home_at is not None,
    }


def _consents(case: Case) -> dict[str, Any]:
    consent = case.active_consent
    return {
        "has_active_consent": consent is not None,
        "consent_actor_count": len(consent.actors or []) if consent is not None else 0,
    }


def _assignments(case: Case) -> dict[str, Any]:
    def person(role: CaseRole) -> int | None:
        assignment = case.current(role)
        return assignment.person_id if assignment else None

    return {
        "koordinator_1_id": person(CaseRole.KOORDINATOR_1),
        "koordinator_2_id": person(CaseRole.KOORDINATOR_2),
        "kontaktperson_id": person(CaseRole.KONTAKTPERSON),
        "sprakror_id": person(CaseRole.SPRAKROR),
        "sammankallande_id": person(CaseRole.SAMMANKALLANDE),
        "plan_samordnare_id": person(CaseRole.PLAN_SAMORDNARE),
        "plan_samordnare_organisation": _organisation(case.current(CaseRole.PLAN_SAMORDNARE)),
    }


def _organisation(assignment: Assignment | None) -> Organisation | None:
    return assignment.person.organisation if assignment is not None else None


def _network(case: Case) -> dict[str, Any]:
    network = [entry for entry in case.network if entry.removed_at is None]
    return {
        "network_kinds": tuple(entry.kind for entry in network),
        "guest_count": sum(1 for entry in network if entry.on_guest_list),
    }


def _meetings(case: Case) -> dict[str, Any]:
    return {
        "meetings": tuple(
            MeetingFacts(
                kind=m.kind,
                period=m.period,
                held=m.held_at is not None,
                has_minutes=bool((m.minutes or "").strip()),
                homework_count=sum(1 for p in m.participants if (p.homework or "").strip()),
                invitations_sent=m.invitations_sent_at is not None,
            )
            for m in case.meetings
        )
    }


def _plan(case: Case) -> dict[str, Any]:
    plan = case.current_plan
    if plan is None:
        return {"plan": None}
    actions = tuple(ActionFacts(a.owner_name, a.due_on is not None, a.status) for a in plan.actions)
    return {
        "plan": PlanFacts(
            version=plan.version,
            period=plan.period,
            stage_seq=plan.stage_seq,
            goal_count=len(plan.goals),
            actions=actions,
        )
    }


def _follow_ups(case: Case) -> dict[str, Any]:
    return {
        "follow_up_stage_seqs": frozenset(f.stage_seq for f in case.follow_ups),
        "follow_up_kinds": frozenset((f.stage_seq, f.kind) for f in case.follow_ups),
    }


def _evaluations(case: Case) -> dict[str, Any]:
    latest = case.evaluations[-1] if case.evaluations else None
    return {"evaluation": None if latest is None else (latest.stage_seq, latest.decision)}


_READERS = {
    "case": _case_row,
    "consents": _consents,
    "assignments": _assignments,
    "network": _network,
    "meetings": _meetings,
    "plan": _plan,
    "follow_ups": _follow_ups,
    "evaluations": _evaluations,
}
