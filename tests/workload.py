"""People using Västbas over HTTP, and what the database must show afterwards.

`WebUser` logs in through the login form and fills in forms as a browser does: it reads
the CSRF token and the case version from the form page, then posts. `Ledger` notes every
answer. `case_problems` holds the database to the ledger and to itself: every change the
server acknowledged has its audit event, each case's state is where its audit log leads,
and no case is half-written.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa
from builders import municipality
from freezegun import freeze_time

from vastbas import clock, demo
from vastbas.db import session_factory
from vastbas.models import Case, Consent, Event, Notification, Timer
from vastbas.workflow import workflow_named

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
TIMEOUT_S = 30
# Cases are registered this long ago: their assessment (5 working days) is overdue and
# both its reminders are due, but they are not yet stalled (21 days without activity).
REGISTERED_DAYS_AGO = 18


def build_cases(engine: sa.Engine, count: int) -> list[str]:
    """The demo municipality and `count` requests with consent, registered in the past."""
    past = clock.now() - timedelta(days=REGISTERED_DAYS_AGO)
    with freeze_time(past), session_factory(engine)() as db:
        people = municipality(db)
        units = [unit for unit in people.units if unit.eht]
        return [
            demo.register(db, people, n, units[n % len(units)]).reference
            for n in range(1, count + 1)
        ]


def due_timers(engine: sa.Engine) -> list[int]:
    with engine.connect() as connection:
        query = sa.select(Timer.id).where(Timer.status == "pending", Timer.fire_at <= clock.now())
        return list(connection.scalars(query))


def timer_statuses(engine: sa.Engine, ids: list[int]) -> Counter[str]:
    with engine.connect() as connection:
        return Counter(connection.scalars(sa.select(Timer.status).where(Timer.id.in_(ids))))


def mails(engine: sa.Engine) -> dict[str, list[str]]:
    """The Message-IDs of the e-mail notifications, by status (pending, sending, sent …)."""
    found: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Notification.status, Notification.message_id).where(
                Notification.email.is_not(None)
            )
        )
        for status, message_id in rows:
            found[status].append(message_id)
    return found


def all_mail_settled(engine: sa.Engine, due: list[int]) -> bool:
    """Every due timer has fired (or was cancelled) and nothing waits in the outbox."""
    timers = timer_statuses(engine, due)
    outbox = mails(engine)
    return (
        timers["pending"] + timers["claimed"] == 0
        and not outbox["pending"] + outbox["sending"]
        and bool(outbox["sent"])
    )


@dataclass(frozen=True)
class Answer:
    """What the server said to one change: its HTTP status, or None when no answer came."""

    reference: str
    action: str
    status: int | None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


class Ledger:
    """Every answer the clients got, from any thread."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.lock = threading.Lock()

    def note(self, answer: Answer) -> Answer:
        with self.lock:
            self.answers.append(answer)
        return answer

    def snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)

    def acknowledged(self) -> Counter[tuple[str, str]]:
        return Counter((a.reference, a.action) for a in self.snapshot() if a.acknowledged)

    def unanswered(self) -> Counter[tuple[str, str]]:
        return Counter((a.reference, a.action) for a in self.snapshot() if a.status is None)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.snapshot())


class WebUser:
    """One browser session of a demo user."""

    def __init__(self, base_url: str, username: str, password: str = "demo") -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.username = username
        self.password = password

    def tab(self) -> WebUser:
        """The same logged-in person in a second browser tab."""
        other = WebUser(self.base_url, self.username, self.password)
        other.session.cookies.update(self.session.cookies)
        return other

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=TIMEOUT_S, allow_redirects=False)

    def post(self, path: str, data: dict[str, Any]) -> requests.Response:
        return self.session.post(
            self.base_url + path, data=data, timeout=TIMEOUT_S, allow_redirects=False
        )

    def log_in(self) -> None:
        token = self.form("/login")["csrf_token"]
        answer = self.post(
            "/login",
            {"csrf_token": token, "username": self.username, "password": self.password},
        )
        assert answer.status_code == 302, answer.text

    def form(self, path: str) -> dict[str, str]:
        """The hidden fields of the form on a page: the CSRF token and the version, if any."""
        page = self.get(path)
        assert page.status_code == 200, f"{path}: {page.status_code}"
        token = CSRF.search(page.text)
        assert token, f"no CSRF token on {path}"
        fields = {"csrf_token": token.group(1)}
        version = VERSION.search(page.text)
        if version:
            fields["version"] = version.group(1)
        return fields

    def transition_form(self, reference: str, trigger: str) -> dict[str, str]:
        return self.form(f"/cases/{reference}/transitions/{trigger}")

    def submit_transition(
        self, reference: str, trigger: str, fields: dict[str, str], ledger: Ledger
    ) -> Answer:
        """Post a transition form already read; the answer goes in the ledger."""
        status = self._post_status(f"/cases/{reference}/transitions/{trigger}", fields)
        return ledger.note(Answer(reference, trigger, status))

    def fire(self, reference: str, trigger: str, ledger: Ledger, reason: str = "") -> Answer:
        fields = self.transition_form(reference, trigger)
        if reason:
            fields["reason"] = reason
        return self.submit_transition(reference, trigger, fields, ledger)

    def record_consent(self, reference: str, ledger: Ledger) -> Answer:
        path = f"/cases/{reference}/consent"
        fields = self.form(path)
        data = {**fields, "given_by": "Vårdnadshavare 1 och 2", "actors": ["Skola", "BUP"]}
        return ledger.note(Answer(reference, "record_consent", self._post_status(path, data)))

    def _post_status(self, path: str, data: dict[str, Any]) -> int | None:
        try:
            return self.post(path, data).status_code
        except requests.ConnectionError:
            return None  # the server went away: the change may or may not have been made


@dataclass
class Trail:
    """A case as stored, with the audit events of its own."""

    reference: str
    state: str
    stage_seq: int
    closed: bool
    consents: int
    events: list[tuple[str, dict[str, Any], dict[str, Any]]]


def trails(engine: sa.Engine) -> dict[str, Trail]:
    """Every case and its events in order, in three queries."""
    with engine.connect() as connection:
        cases = connection.execute(
            sa.select(Case.id, Case.reference, Case.state, Case.stage_seq, Case.closed_at)
        ).all()
        consents = dict(
            connection.execute(
                sa.select(Consent.case_id, sa.func.count()).group_by(Consent.case_id)
            ).all()
        )
        events: dict[int, list[tuple[str, dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        rows = connection.execute(
            sa.select(Event.case_id, Event.action, Event.before, Event.after).order_by(Event.id)
        )
        for case_id, action, before, after in rows:
            events[case_id].append((action, before, after))
    return {
        c.reference: Trail(
            c.reference,
            c.state,
            c.stage_seq,
            c.closed_at is not None,
            consents.get(c.id, 0),
            events[c.id],
        )
        for c in cases
    }


def case_problems(engine: sa.Engine, ledger: Ledger, *, exact: bool) -> list[str]:
    """Everything wrong with the cases, as sentences; [] when all is well.

    `exact`: every change was answered, so the audit log holds exactly the acknowledged
    ones. Otherwise (the server was killed) a change that got no answer may be there or not.
    """
    workflow = workflow_named("vastbas")
    triggers = {t.trigger for t in workflow.transitions}
    problems: list[str] = []
    done: Counter[tuple[str, str]] = Counter()
    for trail in trails(engine).values():
        ref, state, fired, consents = trail.reference, None, 0, 0
        for action, before, after in trail.events:
            done[(ref, action)] += 1
            if action == workflow.initial.trigger:
                state, consents = after["state"], int(bool(after.get("consent")))
            elif action in triggers:
                if before.get("state") != state:
                    problems.append(f"{ref}: {action} from {before.get('state')}, was in {state}")
                state, fired = after["state"], fired + 1
            elif action == "record_consent":
                consents += 1
        if state != trail.state:
            problems.append(f"{ref}: is in {trail.state}, the audit log says {state}")
        if trail.stage_seq != 1 + fired:
            problems.append(f"{ref}: stage_seq {trail.stage_seq} after {fired} transitions")
        if trail.closed != workflow.is_final(trail.state):
            problems.append(f"{ref}: closed_at does not match state {trail.state}")
        if trail.consents != consents:
            problems.append(f"{ref}: {trail.consents} consents, the audit log says {consents}")
    acknowledged, unanswered = ledger.acknowledged(), ledger.unanswered()
    asked = {answer.action for answer in ledger.answers}
    for key in {*acknowledged, *unanswered, *(k for k in done if k[1] in asked)}:
        most = acknowledged[key] if exact else acknowledged[key] + unanswered[key]
        if not acknowledged[key] <= done[key] <= most:
            problems.append(
                f"{key}: {acknowledged[key]} acknowledged, {unanswered[key]} unanswered, "
                f"{done[key]} in the audit log"
            )
    return problems
