"""Personal tokens: create one (the secret is shown once), revoke it, authenticate by it.

The audit log records which token was made, used or revoked, never its secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.errors import InvalidInput, NotAllowed, NotFound
from vastbas.models import ApiToken, Person, TokenKind
from vastbas.services.base import load_actor, parse_choice, record_event, required_text, service

NAME_MAX = 80
PREFIX = {TokenKind.API: "vbapi_", TokenKind.CALENDAR: "vbcal_"}
# Last use is written (and audited) at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=15)
REFUSED = "Nyckeln är ogiltig eller återkallad."


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` exists only here and is never stored."""

    id: int
    name: str
    kind: TokenKind
    secret: str


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    kind: TokenKind
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@service
def create_token(db: Session, *, actor: int, name: str | None, kind: str) -> NewToken:
    """Make a token for the actor; the secret is returned once and only its hash is kept."""
    person = load_actor(db, actor)
    if not person.has_login:
        raise NotAllowed("Bara den som kan logga in kan skapa nycklar.")
    token_kind = parse_choice(TokenKind, kind, "kind", "Välj vad nyckeln ska användas till.")
    label = required_text(name, "Ge nyckeln ett namn.")
    if len(label) > NAME_MAX:
        message = f"Namnet får vara högst {NAME_MAX} tecken."
        raise InvalidInput(message, {"name": message})
    secret = PREFIX[token_kind] + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        person_id=person.id,
        name=label,
        kind=token_kind,
        token_hash=hash_secret(secret),
        created_at=now,
    )
    db.add(token)
    db.flush()
    record_event(db, None, person, "token_created", {}, _audit(token), now=now)
    return NewToken(token.id, token.name, token.kind, secret)


@service
def revoke_token(db: Session, token_id: int, *, actor: int) -> None:
    """Revoke one of the actor's own tokens; it is refused from the next request on."""
    person = load_actor(db, actor)
    token = db.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.person_id == person.id)
    )
    if token is None:
        raise NotFound("Nyckeln finns inte.")
    if token.revoked_at is not None:
        return
    now = clock.now()
    token.revoked_at = now
    record_event(db, None, person, "token_revoked", {}, _audit(token), now=now)


@service
def authenticate(db: Session, secret: str, kind: TokenKind) -> int:
    """The id of the active person who owns this active token of this kind; else NotAllowed.

    One indexed lookup by the secret's hash. Last use is recorded at most every
    TOUCH_INTERVAL, each time with one audit event.
    """
    if not secret:
        raise NotAllowed(REFUSED)
    found = db.execute(
        sa.select(ApiToken, Person)
        .join(Person, Person.id == ApiToken.person_id)
        .where(ApiToken.token_hash == hash_secret(secret))
    ).one_or_none()
    if found is None:
        raise NotAllowed(REFUSED)
    token, person = found
    if token.kind != kind or token.revoked_at is not None or not person.active:
        raise NotAllowed(REFUSED)
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = now
        record_event(db, None, person, "token_used", {}, _audit(token), now=now)
    return person.id


def tokens_of(db: Session, person_id: int) -> list[TokenView]:
    """A person's tokens, active ones first, newest first; one query."""
    rows = db.scalars(
        sa.select(ApiToken)
        .where(ApiToken.person_id == person_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [
        TokenView(t.id, t.name, t.kind, t.created_at, t.last_used_at, t.revoked_at) for t in rows
    ]


def _audit(token: ApiToken) -> dict[str, object]:
    return {"token": token.id, "kind": token.kind.value}
