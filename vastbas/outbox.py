"""The e-mail outbox: notifications are rows, sent over SMTP with retry and back-off.

A notification is written in the transaction of the change that causes it (`enqueue`);
`send_due` claims due rows atomically with a lease, sends them over one SMTP connection
and settles each in its own short transaction. Any number of senders may run: the claim
gives each row to one of them, and a crashed sender's rows are taken over when its lease
ends. Delivery is at least once at the SMTP boundary (a crash between the server's "250"
and our commit sends again), so every retry carries the Message-ID fixed at creation and
a receiver can drop the duplicate.

Logs carry notification ids, kinds and case references only — never a recipient or a body.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vastbas.db import session_factory
from vastbas.errors import NotAllowed, NotFound, RuleBroken
from vastbas.messages import Message
from vastbas.models import Case, Notification, Person
from vastbas.settings import Settings

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
SUBJECT_MAX = 200
ERROR_MAX = 300


@dataclass(frozen=True)
class SendReport:
    """What one outbox pass did: delivered, put back for a later try, given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claim:
    """The rows one sender holds until `until`, marked with its `token`."""

    token: str
    ids: list[int]
    until: datetime


@dataclass(frozen=True)
class _Outgoing:
    id: int
    kind: str
    reference: str | None
    message_id: str
    email: str
    subject: str
    body_text: str
    body_html: str
    created_at: datetime
    attempts: int


def mail_domain(mail_from: str) -> str:
    """The domain of the sender address, for our Message-IDs."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def make_message_id(key: str, domain: str) -> str:
    """A Message-ID that depends only on the notification's dedupe key and our domain."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: 1 min, 2, 4, … at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


@dataclass(frozen=True)
class Outgoing:
    """A notification to be queued: what enqueue_many takes, one per recipient."""

    dedupe_key: str
    kind: str
    recipient: Person
    case_id: int | None
    message: Message


def enqueue(
    db: Session,
    *,
    dedupe_key: str,
    kind: str,
    recipient: Person,
    case_id: int | None,
    message: Message,
    now: datetime,
    settings: Settings,
) -> bool:
    """Add a notification unless one with this dedupe key exists; True if it was added."""
    item = Outgoing(dedupe_key, kind, recipient, case_id, message)
    return enqueue_many(db, [item], now=now, settings=settings) == 1


def enqueue_many(db: Session, items: list[Outgoing], *, now: datetime, settings: Settings) -> int:
    """Add notifications in one statement, skipping dedupe keys that exist; returns how many.

    Safe against a second process doing the same at once (INSERT … ON CONFLICT DO
    NOTHING). E-mail is queued only if the recipient has an address; without one the
    notification is in-app only (status "none"). Does not commit: the caller's
    transaction decides.
    """
    if not items:
        return 0
    domain = mail_domain(settings.mail_from)
    rows = [_row(item, now, domain) for item in items]
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core, not ORM, and no RETURNING: one multi-row INSERT, whose rowcount is the number
    # of rows actually added (conflicts are skipped, not counted).
    statement = (
        insert(Notification.__table__)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .execution_options(preserve_rowcount=True)
    )
    return int(db.execute(statement, rows).rowcount)


def _row(item: Outgoing, now: datetime, domain: str) -> dict[str, object]:
    if len(item.dedupe_key) > 120:
        raise ValueError("dedupe_key is longer than 120 characters")
    email = (item.recipient.email or "").strip() or None
    return {
        "dedupe_key": item.dedupe_key,
        "message_id": make_message_id(item.dedupe_key, domain),
        "kind": item.kind,
        "case_id": item.case_id,
        "recipient_id": item.recipient.id,
        "email": email,
        "subject": _shorten(item.message.subject, SUBJECT_MAX),
        "body_text": item.message.body_text,
        "body_html": item.message.body_html,
        "created_at": now,
        "status": "pending" if email else "none",
        "attempts": 0,
        "next_attempt_at": now if email else None,
        "read_at": None,
        "claim_token": None,
        "claimed_until": None,
        "sent_at": None,
        "last_error": None,
    }


def claim_due(sessions: sessionmaker[Session], *, now: datetime, lease_s: int, limit: int) -> Claim:
    """Take up to `limit` due notifications for one sender, atomically, and commit.

    Due: pending with next_attempt_at reached, or sending under a lease that has ended
    (its sender died). On PostgreSQL FOR UPDATE SKIP LOCKED lets senders claim side by
    side; on SQLite the UPDATE runs under the write lock (BEGIN IMMEDIATE, see db.py).
    """
    n = Notification
    claim = Claim(token=str(uuid.uuid4()), ids=[], until=now + timedelta(seconds=lease_s))
    due = sa.or_(
        sa.and_(
            n.status == "pending",
            sa.or_(n.next_attempt_at.is_(None), n.next_attempt_at <= now),
        ),
        sa.and_(
            n.status == "sending",
            sa.or_(n.claimed_until.is_(None), n.claimed_until < now),
        ),
    )
    with sessions.begin() as db:
        pick = sa.select(n.id).where(due).order_by(n.next_attempt_at, n.id).limit(limit)
        if db.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claimed = db.scalars(
            sa.update(n)
            .where(n.id.in_(pick))
            .values(status="sending", claim_token=claim.token, claimed_until=claim.until)
            .returning(n.id)
            .execution_options(synchronize_session=False)
        ).all()
    claim.ids.extend(sorted(claimed))
    return claim


def send_due(
    sessions: sa.Engine | sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    limit: int | None = None,
) -> SendReport:
    """One outbox pass: claim what is due, send it over one SMTP connection, settle each.

    A message the server refuses for good (5xx), or that has failed
    `settings.max_send_attempts` times, becomes "failed"; any other failure puts it back
    to "pending" with a growing delay. When the server cannot be reached at all, the
    messages wait (pending, with back-off) however long that lasts: an outage is not the
    message's fault, so it never makes one "failed".
    """
    if isinstance(sessions, sa.Engine):
        sessions = session_factory(sessions)
    if not settings.smtp_host:
        log.warning("outbox: no SMTP host configured (VASTBAS_SMTP_HOST); nothing sent")
        return SendReport()
    claim = claim_due(
        sessions,
        now=now,
        lease_s=settings.lease_s,
        limit=settings.batch_size if limit is None else limit,
    )
    if not claim.ids:
        return SendReport()
    return _Pass(sessions, settings, claim, now).run(_load(sessions, claim))


def resend(db: Session, notification_id: int, *, actor_is_admin: bool, now: datetime) -> None:
    """An administrator sends a failed notification again, to the person's current address.

    The Message-ID stays the same. Commits.
    """
    if not actor_is_admin:
        raise NotAllowed("Bara en administratör kan skicka om ett meddelande.")
    try:
        notification = db.get(Notification, notification_id, with_for_update=True)
        if notification is None:
            raise NotFound("Meddelandet finns inte.")
        if notification.status != "failed":
            raise RuleBroken("Bara ett meddelande som inte kunde skickas kan skickas om.")
        email = (db.get_one(Person, notification.recipient_id).email or "").strip()
        if not email:
            raise RuleBroken("Mottagaren har ingen e-postadress. Lägg in en och försök igen.")
        notification.email = email
        notification.status = "pending"
        notification.attempts = 0
        notification.next_attempt_at = now
        notification.claim_token = None
        notification.claimed_until = None
        notification.last_error = None
        db.commit()
    except BaseException:
        db.rollback()
        raise
    log.info("outbox: notification %s put back to pending by an administrator", notification_id)


def _load(sessions: sessionmaker[Session], claim: Claim) -> list[_Outgoing]:
    n = Notification
    with sessions() as db:
        rows = db.execute(
            sa.select(n, Case.reference)
            .outerjoin(Case, Case.id == n.case_id)
            .where(n.id.in_(claim.ids), n.claim_token == claim.token)
            .order_by(n.id)
        ).all()
        return [
            _Outgoing(
                id=row.id,
                kind=row.kind,
                reference=reference,
                message_id=row.message_id,
                email=row.email or "",
                subject=row.subject,
                body_text=row.body_text,
                body_html=row.body_html,
                created_at=row.created_at,
                attempts=row.attempts,
            )
            for row, reference in rows
        ]


class _Pass:
    """The sending half of one outbox pass: one connection, one short transaction a row."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, claim: Claim, now: datetime
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.claim = claim
        self.now = now
        self.sender = parseaddr(settings.mail_from)[1]
        self.smtp: smtplib.SMTP | None = None
        self.connect_error = ""
        self.sent = self.retried = self.failed = 0
        # Stop well inside the lease, so no other sender takes over a row we still send.
        self.stop_at = time.monotonic() + settings.lease_s / 2

    def run(self, batch: Sequence[_Outgoing]) -> SendReport:
        try:
            for i, mail in enumerate(batch):
                if time.monotonic() > self.stop_at:
                    self._release(batch[i:])
                    break
                if not self._send_one(mail):
                    self._wait_for_server(batch[i:])
                    break
        finally:
            self._disconnect()
        return SendReport(self.sent, self.retried, self.failed)

    def _send_one(self, mail: _Outgoing) -> bool:
        """Send one message and settle it; False if the server cannot be reached."""
        if not self._still_ours(mail):
            return True
        try:
            email = _compose(mail, self.settings)
        except (ValueError, TypeError) as exc:
            self._give_up(mail, f"Ogiltig e-postadress eller rubrik ({type(exc).__name__})")
            return True
        if self.smtp is None:
            try:
                self.smtp = _connect(self.settings)
            except (OSError, smtplib.SMTPException) as exc:
                self.connect_error = _describe(exc)
                return False
        try:
            self.smtp.send_message(email, from_addr=self.sender, to_addrs=[mail.email])
        except (OSError, smtplib.SMTPException) as exc:
            permanent, reason = _classify(exc)
            if not isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                self._disconnect()  # the connection is in an unknown state
            if permanent:
                self._give_up(mail, reason)
            else:
                self._retry(mail, reason, counts=True)
            return True
        self._settle(mail, status="sent", sent_at=self.now, last_error=None)
        self.sent += 1
        log.info("outbox: notification %s (%s, %s) sent", mail.id, mail.kind, mail.reference)
        return True

    def _wait_for_server(self, rest: Sequence[_Outgoing]) -> None:
        log.warning(
            "outbox: SMTP server %s:%s unreachable (%s); %d message(s) wait",
            self.settings.smtp_host,
            self.settings.smtp_port,
            self.connect_error,
            len(rest),
        )
        for mail in rest:
            self._retry(mail, f"SMTP-servern kunde inte nås: {self.connect_error}", counts=False)

    def _retry(self, mail: _Outgoing, reason: str, *, counts: bool) -> None:
        attempts = mail.attempts + 1
        if counts and attempts >= self.settings.max_send_attempts:
            self._give_up(mail, f"{reason} (gav upp efter {attempts} försök)", attempts)
            return
        if self._settle(
            mail,
            status="pending",
            attempts=attempts,
            next_attempt_at=self.now + retry_delay(attempts),
            last_error=_shorten(reason, ERROR_MAX),
        ):
            self.retried += 1
            log.info("outbox: notification %s (%s) will be retried", mail.id, mail.reference)

    def _give_up(self, mail: _Outgoing, reason: str, attempts: int | None = None) -> None:
        if self._settle(
            mail,
            status="failed",
            attempts=mail.attempts + 1 if attempts is None else attempts,
            last_error=_shorten(reason, ERROR_MAX),
        ):
            self.failed += 1
            log.warning("outbox: notification %s (%s) failed", mail.id, mail.reference)

    def _release(self, rest: Sequence[_Outgoing]) -> None:
        """Hand unsent rows back untouched, for the next pass."""
        for mail in rest:
            self._settle(mail, status="pending")

    def _still_ours(self, mail: _Outgoing) -> bool:
        with self.sessions() as db:
            token = db.scalar(sa.select(Notification.claim_token).where(Notification.id == mail.id))
            db.rollback()
        return token == self.claim.token

    def _settle(self, mail: _Outgoing, **values: object) -> bool:
        """Write the outcome, only if the row is still under our claim."""
        n = Notification
        with self.sessions.begin() as db:
            result = db.execute(
                sa.update(n)
                .where(n.id == mail.id, n.claim_token == self.claim.token, n.status == "sending")
                .values(claim_token=None, claimed_until=None, **values)
                .execution_options(synchronize_session=False)
            )
            settled = result.rowcount == 1
        if not settled:
            log.warning("outbox: notification %s was taken over by another sender", mail.id)
        return settled

    def _disconnect(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
        self.smtp = None


def _connect(settings: Settings) -> smtplib.SMTP:
    host, port, timeout = settings.smtp_host or "", settings.smtp_port, settings.smtp_timeout_s
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _compose(mail: _Outgoing, settings: Settings) -> EmailMessage:
    email = EmailMessage()
    email["Message-ID"] = mail.message_id
    # The time the message was made, so every retry is the same message.
    email["Date"] = format_datetime(mail.created_at)
    email["From"] = settings.mail_from
    email["To"] = mail.email
    email["Subject"] = mail.subject
    # RFC 3834: no out-of-office replies to a machine.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email.set_content(mail.body_text, cte="quoted-printable")
    email.add_alternative(mail.body_html, subtype="html", cte="quoted-printable")
    return email


def _classify(exc: BaseException) -> tuple[bool, str]:
    """Whether a send failure is permanent, and a short reason without the message body."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = next(iter(exc.recipients.values()))
        return code >= 500, _reply(code, text)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500, _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return True, _describe(exc)
    return False, _describe(exc)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"SMTP {code}: {' '.join(text.split())}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    return _shorten(f"{type(exc).__name__}: {exc}", 200)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
