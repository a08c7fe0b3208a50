"""The sweep: claim due timers atomically, fire each once, and tell the right people.

Any number of sweeps may run at once in any number of processes: a claim is one atomic
UPDATE (PostgreSQL: FOR UPDATE SKIP LOCKED), a claim carries a lease so another sweep
takes over the rows of a crashed one, and every notification has a unique dedupe key,
so a timer fired twice still makes one message per person.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from vastbas.calendar import add_working_days, deadline_after, local_date, local_to_utc
from vastbas.deadlines import REMINDER_TIME
from vastbas.enums import CaseRole, SystemRole
from vastbas.messages import reminder_message
from vastbas.models import Action, Case, CaseDeadline, Person, PersonRole, Timer
from vastbas.outbox import Outgoing, enqueue_many
from vastbas.services import deadlines as deadline_service
from vastbas.settings import Settings
from vastbas.workflow import WORKFLOW_DIR, workflow_named

log = logging.getLogger(__name__)
CASE_ROLES = {role.value: role for role in CaseRole}


@dataclass
class SweepReport:
    """What one sweep did, for `vastbas tick` and the logs."""

    fired: int = 0
    notifications: int = 0
    stalled: int = 0
    references: list[str] = field(default_factory=list)


def sweep(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime, token: str | None = None
) -> SweepReport:
    """Fire every timer due at `now`, batch by batch, and remind about stalled cases."""
    report = SweepReport()
    token = token or uuid.uuid4().hex
    # One session and connection for the whole sweep (an idle sweep is two short
    # transactions on one checkout); each batch is claimed and fired in its own commits.
    with sessions() as db:
        while True:
            ids = claim_due(
                db, now=now, token=token, lease_s=settings.lease_s, limit=settings.batch_size
            )
            db.commit()
            if not ids:
                break
            fire_claimed(db, ids, token=token, now=now, settings=settings, report=report)
            db.commit()
            db.expunge_all()  # keep memory flat over many batches
        report.stalled = remind_stalled(db, now=now, settings=settings, report=report)
        db.commit()
    return report


def claim_due(db: Session, *, now: datetime, token: str, lease_s: int, limit: int) -> list[int]:
    """Atomically claim up to `limit` due timers (or ones whose claim lease ran out)."""
    due = (
        sa.select(Timer.id)
        .where(
            sa.or_(
                sa.and_(Timer.status == "pending", Timer.fire_at <= now),
                sa.and_(Timer.status == "claimed", Timer.claimed_until < now),
            )
        )
        .order_by(Timer.fire_at, Timer.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = db.execute(
        sa.update(Timer)
        .where(Timer.id.in_(due.scalar_subquery()))
        .values(status="claimed", claim_token=token, claimed_until=now + timedelta(seconds=lease_s))
        .returning(Timer.id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in claimed]


def fire_claimed(
    db: Session,
    ids: list[int],
    *,
    token: str,
    now: datetime,
    settings: Settings,
    report: SweepReport,
) -> None:
    """Fire the timers this sweep claimed: one notification per recipient, then mark fired."""
    timers = db.scalars(
        sa.select(Timer)
        .where(Timer.id.in_(ids), Timer.claim_token == token)
        .options(joinedload(Timer.deadline))
        .order_by(Timer.fire_at, Timer.id)
    ).all()
    cases = _cases(db, {t.case_id for t in timers})
    people = _People(db, cases.values(), timers)
    fired_ids = []
    released: list[int] = []
    outgoing: list[Outgoing] = []
    for position, timer in enumerate(timers):
        case = cases[timer.case_id]
        deadline = timer.deadline
        if deadline.closed_at is not None or case.closed_at is not None:
            continue  # closed after the claim: nothing to remind about
        definition = workflow_named(case.workflow).deadlines.get(deadline.name)
        if definition is None:
            continue
        message = reminder_message(
            reference=case.reference,
            what=definition.label,
            due_on=deadline.due_on,
            overdue=timer.overdue,
            link=f"{settings.base_url}/cases/{case.reference}",
            subject=definition.mail_subject(case.reference),
        )
        outgoing.extend(
            Outgoing(f"timer:{timer.id}:{person.id}", "reminder", person, case.id, message)
            for person in people.resolve(case, deadline, timer.recipients)
        )
        if timer.overdue:
            deadline.overdue_since = deadline.overdue_since or deadline.due_on + timedelta(days=1)
            if definition.repeat:
                # A repeating deadline's one reminder is this timer: close it, start the next.
                deadline.closed_at, deadline.closed_as = now, "met"
                following = deadline_service.start(
                    db, case, definition, counted_from=deadline.due_on, now=now
                )
                if any(t.fire_at <= now for t in following.timers):
                    # The next one is already due (after downtime): hand the rest of the
                    # batch back, so the next claim takes everything in fire_at order.
                    released = [t.id for t in timers[position + 1 :]]
        fired_ids.append(timer.id)
        report.references.append(case.reference)
        log.info(
            "reminder fired case=%s deadline=%s timer=%s", case.reference, deadline.name, timer.id
        )
        if released:
            break
    report.notifications += enqueue_many(db, outgoing, now=now, settings=settings)
    if released:
        db.execute(
            sa.update(Timer)
            .where(Timer.id.in_(released), Timer.claim_token == token)
            .values(status="pending", claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    fired = Timer.id.in_(fired_ids) if fired_ids else sa.false()
    db.execute(
        sa.update(Timer)
        .where(Timer.id.in_(ids), Timer.claim_token == token)
        .values(
            status=sa.case((fired, "fired"), else_="cancelled"),
            fired_at=sa.case((fired, now), else_=None),
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    report.fired += len(fired_ids)


def remind_stalled(db: Session, *, now: datetime, settings: Settings, report: SweepReport) -> int:
    """Tell the samordnare once about each open case with no activity for the set period."""
    reminded = 0
    postgres = db.get_bind().dialect.name == "postgresql"
    for name in _workflows_with_stalled():
        workflow = workflow_named(name)
        definition = workflow.deadlines["stalled"]
        open_states = workflow.open_states
        # A generous first cut in SQL; the exact working-day rule is applied below.
        horizon = now - timedelta(days=definition.due.days + 7 * definition.due.weeks)
        query = (
            sa.select(Case)
            .where(
                Case.workflow == name,
                Case.closed_at.is_(None),
                Case.state.in_(open_states),
                Case.last_activity_at <= horizon,
                sa.or_(
                    Case.stall_reminded_for.is_(None),
                    Case.stall_reminded_for != Case.last_activity_at,
                ),
            )
            .order_by(Case.id)
        )
        if postgres:  # concurrent sweeps split the stalled cases instead of repeating them
            query = query.with_for_update(skip_locked=True)
        candidates = db.scalars(query).all()
        if not candidates:
            continue
        samordnare = _samordnare(db)
        for case in candidates:
            due_on = deadline_after(local_date(case.last_activity_at), definition.due)
            fire_at = local_to_utc(add_working_days(due_on, 1), REMINDER_TIME)
            if fire_at > now:
                continue
            message = reminder_message(
                reference=case.reference,
                what=definition.label,
                due_on=due_on,
                overdue=True,
                link=f"{settings.base_url}/cases/{case.reference}",
                subject=definition.mail_subject(case.reference),
            )
            stamp = case.last_activity_at.strftime("%Y%m%d%H%M%S%f")
            items = [
                Outgoing(f"stalled:{case.id}:{stamp}:{p.id}", "reminder", p, case.id, message)
                for p in samordnare
            ]
            added = enqueue_many(db, items, now=now, settings=settings)
            report.notifications += added
            # Core UPDATE: the sweep must not bump the case version a user is editing.
            db.execute(
                sa.update(Case.__table__)
                .where(Case.__table__.c.id == case.id)
                .values(stall_reminded_for=case.last_activity_at)
            )
            reminded += 1 if added else 0
    return reminded


def _workflows_with_stalled() -> list[str]:
    """The workflow files that define a stalled-case deadline (read from disk, not cases)."""
    names = sorted(path.stem for path in WORKFLOW_DIR.glob("*.yaml"))
    return [n for n in names if "stalled" in workflow_named(n).deadlines]


def _cases(db: Session, ids: set[int]) -> dict[int, Case]:
    if not ids:
        return {}
    rows = db.scalars(
        sa.select(Case)
        .where(Case.id.in_(ids))
        .options(selectinload(Case.assignments), joinedload(Case.unit))
    ).all()
    return {case.id: case for case in rows}


def _samordnare(db: Session) -> list[Person]:
    return list(
        db.scalars(
            sa.select(Person)
            .join(PersonRole)
            .where(PersonRole.role == SystemRole.SAMORDNARE, Person.active.is_(True))
            .order_by(Person.id)
        )
    )


class _People:
    """Resolves the roles named on a timer to the people who hold them now."""

    def __init__(self, db: Session, cases, timers: list[Timer]) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        wanted = {a.person_id for case in cases for a in case.assignments if a.ended_at is None}
        wanted |= {case.unit.rektor_id for case in cases if case.unit and case.unit.rektor_id}
        action_ids = [t.deadline.subject_id for t in timers if t.deadline.subject_kind == "action"]
        self.action_owner = (
            dict(
                db.execute(
                    sa.select(Action.id, Action.owner_person_id).where(Action.id.in_(action_ids))
                ).all()
            )
            if action_ids
            else {}
        )
        wanted |= {p for p in self.action_owner.values() if p}
        self.by_id = (
            {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(wanted)))}
            if wanted
            else {}
        )
        self._samordnare: list[Person] | None = None

    def samordnare(self) -> list[Person]:
        if self._samordnare is None:
            self._samordnare = _samordnare(self.db)
        return self._samordnare

    def resolve(self, case: Case, deadline: CaseDeadline, roles: list[str]) -> list[Person]:
        """Each person once, in a stable order; inactive accounts are skipped."""
        found: dict[int, Person] = {}
        for role in roles:
            for person in self._holders(case, deadline, role):
                if person is not None and person.active:
                    found.setdefault(person.id, person)
        return list(found.values())

    def _holders(self, case: Case, deadline: CaseDeadline, role: str) -> list[Person | None]:
        if role in CASE_ROLES:
            assignment = case.current(CASE_ROLES[role])
            return [self.by_id.get(assignment.person_id)] if assignment else []
        if role == "samordnare":
            return list(self.samordnare())
        if role == "rektor" and case.unit is not None and case.unit.rektor_id:
            return [self.by_id.get(case.unit.rektor_id)]
        if role == "action_owner" and deadline.subject_kind == "action":
            owner = self.action_owner.get(deadline.subject_id or 0)
            return [self.by_id.get(owner)] if owner else []
        return []
