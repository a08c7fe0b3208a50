"""About forty demo cases spread over every step and every outcome, made through the services.

Each case is walked by `demo.Walker`, as the right person each time, so the demo data
holds only what a user could have made. Running the build twice adds nothing: a case is
recognised by its fictional child's personnummer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import demo, demo_sip
from vastbas.enums import CaseRole, EvaluationDecision
from vastbas.models import Case
from vastbas.services import cases
from vastbas.workflow import workflow_named

WORKFLOW = "vastbas"  # the process these demo cases walk (demo.register's default)
# Why a case was closed early; a reason the workflow asks for (requires_reason).
REASONS = {
    "not_vastbas": "Behoven kan mötas inom skolans egen elevhälsa.",
    "declined_by_family": "Familjen vill inte delta i nätverksmöten just nu.",
    "referred_to_authority": "Orosanmälan; socialtjänsten inleder en utredning.",
    "consent_withdrawn": "Vårdnadshavaren har återkallat samtycket.",
}
# Who ends a case when several roles may: the person closest to the family first.
CLOSER_ORDER = (CaseRole.KONTAKTPERSON, CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2)


@dataclass(frozen=True)
class DemoCase:
    """One demo case: walk it to `step`, then close it there with `outcome` (if any).

    `periods` = 2 sends the case through the evaluation's "continue" branch first;
    `consent` = False registers the request without the family's consent (recorded
    later by the samordnare if the case has to move on).
    """

    step: str
    outcome: str | None = None
    periods: int = 1
    consent: bool = True


PLAN: tuple[DemoCase, ...] = (
    DemoCase("request"),
    DemoCase("request", consent=False),
    DemoCase("request", consent=False),
    DemoCase("assessment"),
    DemoCase("assessment", consent=False),
    DemoCase("offer"),
    DemoCase("offer"),
    DemoCase("pre_meeting"),
    DemoCase("pre_meeting", consent=False),
    DemoCase("network_meeting_1"),
    DemoCase("network_meeting_1"),
    DemoCase("network_meeting_2"),
    DemoCase("network_meeting_2"),
    DemoCase("interventions"),
    DemoCase("interventions"),
    DemoCase("interventions", periods=2),
    DemoCase("follow_up"),
    DemoCase("follow_up"),
    DemoCase("follow_up", periods=2),
    DemoCase("new_interventions"),
    DemoCase("new_interventions"),
    DemoCase("new_interventions", periods=2),
    DemoCase("evaluation"),
    DemoCase("evaluation"),
    DemoCase("evaluation", periods=2),
    DemoCase("evaluation", "completed"),
    DemoCase("evaluation", "completed"),
    DemoCase("evaluation", "completed", periods=2),
    DemoCase("assessment", "not_vastbas"),
    DemoCase("assessment", "not_vastbas", consent=False),
    DemoCase("offer", "declined_by_family"),
    DemoCase("offer", "declined_by_family"),
    DemoCase("follow_up", "referred_to_authority"),
    DemoCase("interventions", "referred_to_authority"),
    DemoCase("network_meeting_2", "referred_to_authority"),
    DemoCase("request", "referred_to_authority"),
    DemoCase("network_meeting_1", "consent_withdrawn"),
    DemoCase("pre_meeting", "consent_withdrawn"),
    DemoCase("offer", "consent_withdrawn"),
    DemoCase("interventions", "consent_withdrawn"),
)

Progress = Callable[[int, int], None]


def child_number(index: int) -> int:
    """The fictional child of the plan's row `index` (demo.register picks name and pnr)."""
    return index + 1


def build_demo_cases(db: Session, people: demo.People, progress: Progress | None = None) -> int:
    """Make every case of PLAN that is not in the database yet; returns how many were made."""
    wanted = {demo.child_personnummer(child_number(i)): i for i in range(len(PLAN))}
    present = set(
        db.scalars(
            sa.select(Case.child_personnummer).where(
                Case.child_personnummer.in_(wanted), Case.workflow == WORKFLOW
            )
        )
    )
    todo = [i for pnr, i in wanted.items() if pnr not in present]
    for done, index in enumerate(todo, start=1):
        if progress is not None:
            progress(done, len(todo))
        build_case(db, people, index, PLAN[index])
    return len(todo) + demo_sip.build_demo_cases(db, people)


def build_case(db: Session, people: demo.People, index: int, row: DemoCase) -> str:
    """Register row `index` of the plan at one of the units and walk it; returns its reference."""
    n = child_number(index)
    unit = people.units[index % len(people.units)]
    case = demo.register(db, people, n, unit, consent=row.consent)
    walker = demo.Walker(db, people, case.reference)
    if not row.consent and (row.step != "request" or row.outcome is not None):
        walker.call(
            cases.record_consent,
            actor=people.samordnare.id,
            given_by="Vårdnadshavare",
            actors=["skola", "socialtjänst"],
        )
    for _ in range(row.periods - 1):
        demo.walk_to(walker, "evaluation")
        walker.evaluate(EvaluationDecision.CONTINUE)
        if row.step != "new_interventions":
            walker.new_interventions()
    if walker.case.state != row.step:
        demo.walk_to(walker, row.step)
    if row.outcome == "completed":
        walker.evaluate(EvaluationDecision.CLOSE)
    elif row.outcome is not None:
        close(walker, row.outcome)
    return case.reference


def close(walker: demo.Walker, outcome: str, reason: str | None = None) -> None:
    """End the case with `outcome` by the trigger the workflow offers for it from here."""
    case = walker.case
    workflow = workflow_named(case.workflow)
    transition = next(t for t in workflow.transitions_from(case.state) if t.outcome == outcome)
    reason = reason or REASONS[outcome]
    walker.fire(transition.trigger, closer(walker, transition.roles), reason=reason)


def closer(walker: demo.Walker, roles: frozenset[str]) -> int:
    """The person to close the case: its kontaktperson or koordinator, else the samordnare."""
    case = walker.case
    for role in CLOSER_ORDER:
        assignment = case.current(role)
        if role.value in roles and assignment is not None:
            return assignment.person_id
    if "samordnare" not in roles:
        raise ValueError(f"no demo person may close {walker.reference} with {sorted(roles)}")
    return walker.people.samordnare.id
