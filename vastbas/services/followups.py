"""Follow-ups by the kontaktperson and the evaluation after six months."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.enums import EvaluationDecision, FollowUpKind
from vastbas.errors import InvalidInput
from vastbas.models import Evaluation, FollowUp
from vastbas.services import deadlines
from vastbas.services.base import (
    open_case_for,
    parse_choice,
    parse_offered,
    record_event,
    required_text,
    service,
    touch,
    workflow_of,
)


@service
def record_follow_up(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    kind: FollowUpKind | str,
    notes: str,
    held_on: date | None = None,
    reported_to_koordinator: bool = False,
) -> FollowUp:
    """Document a follow-up: raised at EHT, a meeting, a call or an extra network meeting."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "record_follow_up")
    workflow = workflow_of(case)
    kind = parse_offered(
        FollowUpKind,
        kind,
        workflow.follow_up_kinds,
        "kind",
        "Välj vilken sorts uppföljning det var.",
    )
    if workflow.follow_up_report_label is None:
        reported_to_koordinator = False
    notes = required_text(notes, "Skriv vad uppföljningen kom fram till.")
    now = clock.now()
    today = local_date(now)
    held_on = held_on or today
    if held_on > today:
        raise InvalidInput(
            "En uppföljning kan inte dokumenteras i förväg.", {"held_on": "Datumet har inte varit."}
        )
    follow_up = FollowUp(
        period=case.period,
        stage_seq=case.stage_seq,
        kind=kind,
        held_on=held_on,
        notes=notes,
        reported_to_koordinator=reported_to_koordinator,
        recorded_by_id=person.id,
        recorded_at=now,
    )
    case.follow_ups.append(follow_up)
    if kind == FollowUpKind.EHT:
        deadlines.done(db, case, "record_follow_up:eht", now)
    touch(case, now)
    db.flush()
    after = {"follow_up": follow_up.id, "kind": kind.value, "held_on": held_on.isoformat()}
    record_event(db, case, person, "record_follow_up", {}, after, now=now)
    return follow_up


@service
def record_evaluation(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    decision: EvaluationDecision | str,
    notes: str,
) -> Evaluation:
    """Record the evaluation: close the case, or continue with a new period."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "record_evaluation")
    decision = parse_choice(
        EvaluationDecision, decision, "decision", "Välj avslut eller fortsatta insatser."
    )
    notes = required_text(notes, "Skriv vad utvärderingen kom fram till.")
    now = clock.now()
    evaluation = Evaluation(
        period=case.period,
        stage_seq=case.stage_seq,
        decision=decision,
        notes=notes,
        recorded_by_id=person.id,
        recorded_at=now,
    )
    case.evaluations.append(evaluation)
    touch(case, now)
    db.flush()
    after = {"evaluation": evaluation.id, "decision": decision.value}
    record_event(db, case, person, "record_evaluation", {}, after, now=now)
    return evaluation
