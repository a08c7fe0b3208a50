"""The JSON API: a token sees exactly what its user sees in the UI, and changes go through
the same services (version check, roles, guards, audit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apiworld import World, build_world, use_cheap_passwords
from builders import municipality
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas import clock, demo_cases
from vastbas.db import make_engine, session_factory
from vastbas.enums import CaseRole
from vastbas.models import Assignment, Case, Event, Notification, Person, TokenKind, Unit
from vastbas.services import tokens
from vastbas.settings import Settings
from vastbas.sweep import sweep

LoginAs = Callable[..., None]


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_passwords(monkeypatch)


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


def case_version(db: Session, reference: str) -> int:
    version = db.scalar(sa.select(Case.version).where(Case.reference == reference))
    db.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    assert version is not None
    return version


# --- Who may call it ------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nonsense", "Basic c2FtOmRlbW8="])
def test_without_a_valid_api_token_the_answer_is_401_with_www_authenticate(
    world: World, client: FlaskClient, header: str
) -> None:
    answer = client.get("/api/v1/cases", headers={"Authorization": header} if header else {})

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="vastbas"')
    assert answer.get_json()["error"] == "unauthorized"


def test_a_revoked_token_is_refused_at_once_and_a_calendar_token_is_no_api_token(
    world: World, db: Session, client: FlaskClient
) -> None:
    samordnare = world.ids["samordnare"]
    calendar = tokens.create_token(db, actor=samordnare, name="Kal", kind="calendar")
    assert client.get("/api/v1/cases", headers=world.bearer("samordnare")).status_code == 200
    token_id = next(t.id for t in tokens.tokens_of(db, samordnare) if t.kind == TokenKind.API)
    tokens.revoke_token(db, token_id, actor=samordnare)

    revoked = client.get("/api/v1/cases", headers=world.bearer("samordnare"))
    as_calendar = client.get(
        "/api/v1/cases", headers={"Authorization": f"Bearer {calendar.secret}"}
    )

    assert (revoked.status_code, as_calendar.status_code) == (401, 401)
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]
    assert revoked.get_json()["message"] == "Nyckeln är ogiltig eller återkallad."


def test_a_logged_in_session_is_not_enough_for_the_api(
    world: World, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("samordnare")

    assert client.get("/api/v1/cases").status_code == 401
    answer = client.post(
        f"/api/v1/cases/{world.reference}/transitions/refer_to_authority",
        json={"version": 1, "reason": "x"},
        headers={"X-CSRFToken": csrf_token(client, "/")},
    )
    assert answer.status_code == 401


# --- The same cases as the UI -----------------------------------------------------------------

CASE_LINK = re.compile(r'href="/cases/([A-Z]+-\d{4}-\d{4,})"')


def ui_references(
    app: Flask, login_as_on: Callable[[FlaskClient, str], None], user: str
) -> set[str]:
    client = app.test_client()
    login_as_on(client, user)
    found: set[str] = set()
    page = 1
    while True:
        html = client.get(f"/cases?sida={page}").get_data(as_text=True)
        found.update(CASE_LINK.findall(html))
        if 'rel="next"' not in html:
            return found
        page += 1


def api_references(client: FlaskClient, secret: str) -> set[str]:
    found: set[str] = set()
    page = 1
    while True:
        body = client.get(
            f"/api/v1/cases?per_page=100&page={page}", headers={"Authorization": f"Bearer {secret}"}
        ).get_json()
        found.update(row["reference"] for row in body["cases"])
        if body["page"] >= body["pages"]:
            return found
        page += 1


def log_in(client: FlaskClient, username: str) -> None:
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": "demo"}
    )
    assert answer.status_code == 302


def demo_users(db: Session) -> list[str]:
    """One user of each demo kind: central roles, rektorer, case roles, and someone with none."""
    people = municipality(db)
    holders = {
        role: db.scalar(
            sa.select(Person.username)
            .join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.role == role, Assignment.ended_at.is_(None))
            .order_by(Person.id)
            .limit(1)
        )
        for role in (CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2, CaseRole.KONTAKTPERSON)
    }
    idle = db.scalar(
        sa.select(Person.username)
        .where(
            Person.in_koordinator_pool.is_(True), ~Person.id.in_(sa.select(Assignment.person_id))
        )
        .order_by(Person.id)
        .limit(1)
    )
    rektorer = db.scalars(
        sa.select(Person.username)
        .join(Unit, Unit.rektor_id == Person.id)
        .order_by(Unit.id)
        .limit(2)
    ).all()
    users = [people.samordnare.username, people.admin.username, *rektorer, *holders.values(), idle]
    db.rollback()
    assert all(users) and len(set(users)) == len(users)
    return [u for u in users if u]


def test_an_api_token_lists_exactly_the_cases_its_user_sees_in_the_ui(
    db: Session, app: Flask, client: FlaskClient
) -> None:
    people = municipality(db)
    # Every fourth case of the demo plan: open and closed ones, over all units.
    for index in range(0, len(demo_cases.PLAN), 4):
        demo_cases.build_case(db, people, index, demo_cases.PLAN[index])
    db.commit()

    seen_by: dict[str, set[str]] = {}
    for username in demo_users(db):
        person = db.scalar(sa.select(Person.id).where(Person.username == username))
        assert person is not None
        secret = tokens.create_token(db, actor=person, name="Jämförelse", kind="api").secret

        in_api = api_references(client, secret)

        assert in_api == ui_references(app, log_in, username), username
        seen_by[username] = in_api
    assert len(seen_by["samordnare"]) == len(range(0, len(demo_cases.PLAN), 4))
    assert seen_by["samordnare"] == seen_by["admin"]
    assert any(0 < len(refs) < len(seen_by["samordnare"]) for refs in seen_by.values())


def test_the_list_filters_work_as_on_the_page(world: World, client: FlaskClient) -> None:
    def listed(query: str) -> list[str]:
        body = client.get(f"/api/v1/cases?{query}", headers=world.bearer("samordnare")).get_json()
        return [row["reference"] for row in body["cases"]]

    assert listed("state=network_meeting_2") == [world.reference]
    assert listed("state=request") == []
    assert listed(f"search={world.reference[-4:]}") == [world.reference]
    assert listed("overdue=true") == []
    bad = client.get("/api/v1/cases?per_page=1000", headers=world.bearer("samordnare"))
    assert bad.status_code == 400 and "per_page" in bad.get_json()["message"]


# --- Reading a case ---------------------------------------------------------------------------


def test_a_case_read_is_audited_like_the_case_page(
    world: World, db: Session, client: FlaskClient
) -> None:
    answer = client.get(f"/api/v1/cases/{world.reference}", headers=world.bearer("k1"))

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["reference"] == world.reference and body["step"] == "Nätverksmöte 2"
    assert body["personnummer"] != world.personnummer  # masked, as the page first shows it
    assert "Koordinator 1" in body["my_roles"]
    reads = db.execute(sa.select(Event.actor_id, Event.after).where(Event.action == "read_case"))
    assert [tuple(row) for row in reads] == [(world.ids["k1"], {})]


def test_a_case_without_a_role_is_reported_exactly_like_an_unknown_one(
    world: World, db: Session, client: FlaskClient
) -> None:
    outsider = world.bearer("outsider")

    hidden = client.get(f"/api/v1/cases/{world.reference}", headers=outsider)
    unknown = client.get("/api/v1/cases/VB-1999-0001", headers=outsider)

    assert hidden.status_code == unknown.status_code == 404
    hidden_text = hidden.get_data(as_text=True).replace(world.reference, "REF")
    assert hidden_text == unknown.get_data(as_text=True).replace("VB-1999-0001", "REF")
    assert world.child_name not in hidden.get_data(as_text=True)
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.action == "read_case"))
        == 0
    )


def test_deadlines_are_the_open_deadlines_of_the_case(world: World, client: FlaskClient) -> None:
    answer = client.get(f"/api/v1/cases/{world.reference}/deadlines", headers=world.bearer("k1"))

    labels = [d["label"] for d in answer.get_json()["deadlines"]]
    assert "Nätverksmöte 2 hållet" in labels
    page = client.get(f"/api/v1/cases/{world.reference}", headers=world.bearer("k1")).get_json()
    assert answer.get_json()["deadlines"] == page["deadlines"]


# --- Firing a transition ----------------------------------------------------------------------


def fire(client: FlaskClient, world: World, role: str, trigger: str, body: object) -> object:
    return client.post(
        f"/api/v1/cases/{world.reference}/transitions/{trigger}",
        json=body,
        headers=world.bearer(role),
    )


def test_a_transition_with_the_current_version_moves_the_case(
    world: World, db: Session, client: FlaskClient
) -> None:
    version = case_version(db, world.reference)

    answer = fire(
        client, world, "samordnare", "refer_to_authority",
        {"version": version, "reason": "Orosanmälan; socialtjänsten utreder."},
    )  # fmt: skip

    assert answer.status_code == 200
    new_version = case_version(db, world.reference)
    assert new_version > version
    assert answer.get_json() == {
        "reference": world.reference, "state": "closed", "step": "Avslutat", "closed": True,
        "outcome": "Myndighetsutövning", "version": new_version,
    }  # fmt: skip
    event = db.scalars(sa.select(Event).where(Event.action == "refer_to_authority")).one()
    assert event.actor_id == world.ids["samordnare"]


def test_a_stale_version_is_a_409_and_changes_nothing(
    world: World, db: Session, client: FlaskClient
) -> None:
    version = case_version(db, world.reference)

    answer = fire(
        client, world, "samordnare", "refer_to_authority", {"version": version - 1, "reason": "x"}
    )

    assert answer.status_code == 409
    assert answer.get_json() == {
        "error": "conflict",
        "message": "Ärendet har ändrats av någon annan. Ladda om sidan och försök igen.",
        "current_version": version,
    }
    assert case_version(db, world.reference) == version


def test_refusals_say_why_in_swedish(world: World, db: Session, client: FlaskClient) -> None:
    version = case_version(db, world.reference)
    trigger = "complete_network_meeting_2"

    not_ready = fire(client, world, "k1", trigger, {"version": version})
    not_my_step = fire(client, world, "rektor", trigger, {"version": version})
    no_role = fire(client, world, "outsider", trigger, {"version": version})
    no_version = fire(client, world, "k1", trigger, {"reason": "x"})
    no_reason = fire(client, world, "k1", "refer_to_authority", {"version": version})

    assert not_ready.status_code == 400
    assert not_ready.get_json()["error"] == "rule_broken"
    assert not_ready.get_json()["message"].startswith("Ärendet kan inte gå vidare")
    assert not_ready.get_json()["reasons"]
    assert not_my_step.status_code == 403
    assert (
        not_my_step.get_json()["message"]
        == "Din roll i ärendet ger inte behörighet till detta steg."
    )
    assert no_role.status_code == 404
    assert (no_version.status_code, no_reason.status_code) == (400, 400)
    assert no_reason.get_json()["message"] == "Ange ett skäl."
    assert case_version(db, world.reference) == version


# --- Notifications and what is not there ------------------------------------------------------


def test_notifications_are_the_users_own_unread_first(
    world: World, db: Session, engine: sa.Engine, client: FlaskClient
) -> None:
    # More than a year on, every reminder of the case has fired.
    sweep(session_factory(engine), Settings(), now=clock.now() + timedelta(days=400))
    mine = db.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == world.ids["k1"])
    )
    db.rollback()
    assert mine

    answer = client.get("/api/v1/notifications?limit=100", headers=world.bearer("k1"))
    outsider = client.get("/api/v1/notifications", headers=world.bearer("outsider"))

    body = answer.get_json()
    assert body["unread"] == mine == len(body["notifications"])
    assert {n["case_reference"] for n in body["notifications"]} == {world.reference}
    assert world.child_name not in answer.get_data(as_text=True)
    assert outsider.get_json() == {"unread": 0, "notifications": []}


def test_an_unknown_api_url_or_method_answers_in_json(world: World, client: FlaskClient) -> None:
    missing = client.get("/api/v1/arenden", headers=world.bearer("k1"))
    wrong_method = client.delete("/api/v1/cases", headers=world.bearer("k1"))

    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["error"] == "method_not_allowed"


def test_an_unreachable_database_is_a_503_in_json(tmp_path: Path) -> None:
    from web import create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'vastbas.sqlite3'}")
    app = create_app({"TESTING": True, "ENGINE": engine, "SECRET_KEY": "test-secret"})

    answer = app.test_client().get("/api/v1/cases", headers={"Authorization": "Bearer x"})

    assert answer.status_code == 503
    assert answer.get_json()["error"] == "unavailable"
    assert answer.headers["Retry-After"]
    engine.dispose()


@pytest.mark.parametrize(
    "reference", ["VB-2026-0001%00", "x" * 300, "%C3%A4rende", "..%2Fadmin", "%FF", "' OR 1=1 --"]
)
def test_a_hostile_reference_or_trigger_is_a_plain_refusal(
    world: World, db: Session, client: FlaskClient, reference: str
) -> None:
    headers = world.bearer("samordnare")
    version = case_version(db, world.reference)

    answers = [
        client.get(f"/api/v1/cases/{reference}", headers=headers),
        client.get(f"/api/v1/cases/{reference}/deadlines", headers=headers),
        client.post(
            f"/api/v1/cases/{reference}/transitions/reopen", json={"version": 1}, headers=headers
        ),
        client.post(
            f"/api/v1/cases/{world.reference}/transitions/{reference}",
            json={"version": version},
            headers=headers,
        ),
    ]

    # 404 as for any unknown case (400 for an unknown trigger, or a NUL byte anywhere).
    assert all(a.status_code in (400, 404) and a.get_json()["message"] for a in answers)
    assert [a.status_code for a in answers[:3]] == [400 if "%00" in reference else 404] * 3
