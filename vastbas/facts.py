"""Take the snapshot of a loaded case that the workflow guards read."""

from __future__ import annotations

from vastbas.enums import CaseRole
from vastbas.guards import ActionFacts, CaseFacts, MeetingFacts, PlanFacts
from vastbas.models import Case


def case_facts(case: Case) -> CaseFacts:
    """The guard facts of a case whose relations are loaded (see services.base.load_case)."""
    plan = case.current_plan
    evaluation = case.evaluations[-1] if case.evaluations else None

    def person(role: CaseRole) -> int | None:
        assignment = case.current(role)
        return assignment.person_id if assignment else None

    network = [entry for entry in case.network if entry.removed_at is None]
    return CaseFacts(
        state=case.state,
        period=case.period,
        stage_seq=case.stage_seq,
        has_active_consent=case.active_consent is not None,
        koordinator_1_id=person(CaseRole.KOORDINATOR_1),
        koordinator_2_id=person(CaseRole.KOORDINATOR_2),
        kontaktperson_id=person(CaseRole.KONTAKTPERSON),
        sprakror_id=person(CaseRole.SPRAKROR),
        has_child_voice=bool((case.child_voice or "").strip()),
        has_problem_analysis=bool((case.problem_analysis or "").strip()),
        has_purpose=bool((case.purpose or "").strip()),
        network_kinds=tuple(entry.kind for entry in network),
        guest_count=sum(1 for entry in network if entry.on_guest_list),
        meetings=tuple(
            MeetingFacts(
                kind=m.kind,
                period=m.period,
                held=m.held_at is not None,
                has_minutes=bool((m.minutes or "").strip()),
                homework_count=sum(1 for p in m.participants if (p.homework or "").strip()),
            )
            for m in case.meetings
        ),
        plan=None
        if plan is None
        else PlanFacts(
            version=plan.version,
            period=plan.period,
            stage_seq=plan.stage_seq,
            goal_count=len(plan.goals),
            actions=tuple(
                ActionFacts(a.owner_name, a.due_on is not None, a.status) for a in plan.actions
            ),
        ),
        follow_up_stage_seqs=frozenset(f.stage_seq for f in case.follow_ups),
        evaluation=None if evaluation is None else (evaluation.stage_seq, evaluation.decision),
    )
