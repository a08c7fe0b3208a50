"""Personal tokens: shown once, stored hashed, audited without the secret, revoked at once."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from apiworld import use_cheap_passwords
from builders import municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.errors import InvalidInput, NotAllowed, NotFound
from vastbas.models import ApiToken, Event, Person, TokenKind
from vastbas.services import tokens

LoginAs = Callable[..., None]


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_passwords(monkeypatch)


def person_id(db: Session, username: str) -> int:
    found = db.scalar(sa.select(Person.id).where(Person.username == username))
    assert found is not None
    return found


def test_a_token_is_stored_only_as_the_hash_of_its_secret(db: Session) -> None:
    municipality(db)
    samordnare = person_id(db, "samordnare")

    new = tokens.create_token(db, actor=samordnare, name="Rapportskript", kind="api")

    row = db.get(ApiToken, new.id)
    assert row is not None
    assert row.token_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    columns = [str(getattr(row, c.key)) for c in sa.inspect(ApiToken).columns]
    assert not any(new.secret in value for value in columns)
    assert len(new.secret) >= 40
    event = db.scalars(sa.select(Event).where(Event.action == "token_created")).one()
    assert event.actor_id == samordnare and event.after == {"token": new.id, "kind": "api"}
    assert new.secret not in json.dumps([event.before, event.after])


def test_a_token_authenticates_its_owner_until_it_is_revoked(db: Session) -> None:
    municipality(db)
    samordnare = person_id(db, "samordnare")
    new = tokens.create_token(db, actor=samordnare, name="Skript", kind="api")
    assert tokens.authenticate(db, new.secret, TokenKind.API) == samordnare

    tokens.revoke_token(db, new.id, actor=samordnare)

    with pytest.raises(NotAllowed):
        tokens.authenticate(db, new.secret, TokenKind.API)
    assert [t.active for t in tokens.tokens_of(db, samordnare)] == [False]
    revoked = db.scalars(sa.select(Event).where(Event.action == "token_revoked")).one()
    assert revoked.after == {"token": new.id, "kind": "api"}


@pytest.mark.parametrize("wrong", ["kind", "unknown", "deactivated", "empty"])
def test_a_token_is_refused_for_another_use_unknown_or_for_a_deactivated_account(
    db: Session, wrong: str
) -> None:
    municipality(db)
    owner = person_id(db, "koordinator1")
    new = tokens.create_token(db, actor=owner, name="Kalender", kind="calendar")
    secret = {"unknown": new.secret + "x", "empty": ""}.get(wrong, new.secret)
    if wrong == "deactivated":
        person = db.get(Person, owner)
        assert person is not None
        person.active = False
        db.commit()
    kind = TokenKind.API if wrong == "kind" else TokenKind.CALENDAR

    with pytest.raises(NotAllowed, match="ogiltig eller återkallad"):
        tokens.authenticate(db, secret, kind)


def test_someone_elses_token_cannot_be_revoked(db: Session) -> None:
    municipality(db)
    owner = person_id(db, "koordinator1")
    new = tokens.create_token(db, actor=owner, name="Skript", kind="api")

    with pytest.raises(NotFound):
        tokens.revoke_token(db, new.id, actor=person_id(db, "koordinator2"))

    assert tokens.authenticate(db, new.secret, TokenKind.API) == owner


def test_a_name_is_required_and_short(db: Session) -> None:
    municipality(db)
    samordnare = person_id(db, "samordnare")

    with pytest.raises(InvalidInput, match="namn"):
        tokens.create_token(db, actor=samordnare, name="  ", kind="api")
    with pytest.raises(InvalidInput, match="högst 80"):
        tokens.create_token(db, actor=samordnare, name="x" * 81, kind="api")
    with pytest.raises(InvalidInput):
        tokens.create_token(db, actor=samordnare, name="Skript", kind="root")
    assert db.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_last_use_is_recorded_at_most_every_quarter_of_an_hour(db: Session) -> None:
    municipality(db)
    samordnare = person_id(db, "samordnare")
    new = tokens.create_token(db, actor=samordnare, name="Skript", kind="api")
    start = clock.now()

    for minutes in (0, 5, 14, 15, 20):
        with freeze_time(start + timedelta(minutes=minutes)):
            tokens.authenticate(db, new.secret, TokenKind.API)

    row = db.get(ApiToken, new.id)
    assert row is not None and row.last_used_at == start + timedelta(minutes=15)
    used = db.scalars(sa.select(Event.at).where(Event.action == "token_used").order_by(Event.id))
    assert list(used) == [start, start + timedelta(minutes=15)]


# --- Mina nycklar --------------------------------------------------------------------------

SECRET_ON_PAGE = re.compile(r'id="secret"[^>]*value="([^"]+)"')


def create_in_ui(client: FlaskClient, name: str, kind: str) -> tuple[int, str]:
    answer = client.post(
        "/tokens", data={"csrf_token": csrf_token(client, "/tokens"), "name": name, "kind": kind}
    )
    return answer.status_code, answer.get_data(as_text=True)


def test_mina_nycklar_shows_a_new_api_key_once_and_revoking_it_stops_the_api(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    municipality(db)
    db.commit()
    login_as("koordinator3")

    status, page = create_in_ui(client, "Mitt skript", "api")

    assert status == 200
    assert "visas bara den här gången" in page
    match = SECRET_ON_PAGE.search(page)
    assert match is not None
    secret = match.group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    listing = client.get("/tokens").get_data(as_text=True)
    assert "Mitt skript" in listing and secret not in listing

    token_id = db.scalars(sa.select(ApiToken.id)).one()
    db.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    revoked = client.post(
        f"/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")}
    )

    assert revoked.status_code == 302
    assert client.get("/api/v1/cases", headers=headers).status_code == 401
    assert "Återkallad" in client.get("/tokens").get_data(as_text=True)


def test_a_calendar_link_is_shown_as_the_feed_url(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    municipality(db)
    db.commit()
    login_as("koordinator3")

    status, page = create_in_ui(client, "Outlook", "calendar")

    assert status == 200
    match = SECRET_ON_PAGE.search(page)
    assert match is not None and re.fullmatch(r"http://localhost/kalender/[\w-]+\.ics", match[1])
    assert client.get(match[1].removeprefix("http://localhost")).status_code == 200


def test_a_key_without_a_name_is_refused_with_a_message(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    municipality(db)
    db.commit()
    login_as("koordinator3")

    status, page = create_in_ui(client, "", "api")

    assert status == 400
    assert "Ge nyckeln ett namn." in page
    assert db.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoking_needs_the_csrf_token_and_ones_own_key(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    municipality(db)
    other = tokens.create_token(db, actor=person_id(db, "koordinator1"), name="Annans", kind="api")
    login_as("koordinator3")

    without_csrf = client.post(f"/tokens/{other.id}/revoke")
    someone_elses = client.post(
        f"/tokens/{other.id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")}
    )

    assert (without_csrf.status_code, someone_elses.status_code) == (400, 404)
    assert tokens.authenticate(db, other.secret, TokenKind.API) == person_id(db, "koordinator1")
