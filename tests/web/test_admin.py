"""Administration in the browser: users and passwords, units, the koordinator pool."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas.demo import People
from vastbas.enums import Organisation, Profession, SystemRole
from vastbas.errors import InvalidInput, NotAllowed
from vastbas.models import Event, Person, Unit
from vastbas.services import admin
from vastbas.services.assignments import koordinator_suggestions
from vastbas.services.base import load_case

LoginAs = Callable[..., None]


@pytest.fixture
def people(db: Session) -> People:
    people = municipality(db)
    db.rollback()
    return people


def person_named(db: Session, username: str) -> Person | None:
    db.expire_all()
    person = db.scalar(sa.select(Person).where(Person.username == username))
    db.commit()
    return person


def new_user(token: str, **changes: object) -> dict[str, object]:
    return {
        "csrf_token": token,
        "username": "kurator.ny",
        "name": "Nora Nyberg",
        "email": "nora.nyberg@kommun.example",
        "organisation": "skola",
        "profession": "kurator",
        "unit_id": "",
        **changes,
    }


def test_an_admin_creates_a_user_who_logs_in_once_a_password_is_set(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    token = csrf_token(client, "/admin/users")
    answer = client.post("/admin/users", data=new_user(token, roles=["samordnare"]))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert "Nora Nyberg" in client.get("/admin/users").get_data(as_text=True)
    created = person_named(db, "kurator.ny")
    assert created is not None and created.password_hash is None
    assert created.organisation == Organisation.SKOLA and created.profession == Profession.KURATOR
    assert [r.role for r in created.system_roles] == [SystemRole.SAMORDNARE]

    page = f"/admin/users/{created.id}"
    password = {"password": "ett långt lösenord", "confirm": "ett långt lösenord"}
    answer = client.post(f"{page}/password", data={"csrf_token": token, **password})
    assert answer.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    login_as("kurator.ny", "ett långt lösenord")
    assert client.get("/").status_code == 200


def test_a_short_password_is_refused_next_to_its_field(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    rektor = person_named(db, "rektor2")
    assert rektor is not None
    page = f"/admin/users/{rektor.id}"
    token = csrf_token(client, page)
    data = {"csrf_token": token, "password": "kort", "confirm": "kort"}
    answer = client.post(f"{page}/password", data=data)
    assert answer.status_code == 400
    assert 'id="password-error">Lösenordet måste ha minst 10 tecken.' in answer.get_data(
        as_text=True
    )


def test_a_taken_username_is_refused_in_swedish(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    token = csrf_token(client, "/admin/users")
    before = db.scalar(sa.select(sa.func.count()).select_from(Person))
    db.rollback()
    for taken in ("rektor1", "Rektor1"):
        answer = client.post("/admin/users", data=new_user(token, username=taken))
        assert answer.status_code == 400
        html = answer.get_data(as_text=True)
        assert 'id="username-error">Användarnamnet är upptaget.' in html
        assert "Nora Nyberg" in html  # what was typed stays
    assert db.scalar(sa.select(sa.func.count()).select_from(Person)) == before
    db.rollback()


def test_bad_details_get_their_messages_and_create_nothing(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    token = csrf_token(client, "/admin/users")
    data = new_user(token, username="x y", email="inte-en-adress", organisation="")
    answer = client.post("/admin/users", data=data)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="username-error">Användarnamnet ska ha 2–64 tecken' in html
    assert 'id="email-error">Ange en e-postadress' in html
    assert 'id="organisation-error">Välj organisation.' in html
    assert person_named(db, "x y") is None


@pytest.mark.parametrize("username", ["samordnare", "rektor1", "koordinator3"])
def test_a_user_without_the_admin_role_gets_403(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs, username: str
) -> None:
    member = person_named(db, "koordinator1")
    assert member is not None
    login_as(username)
    for path in ("/admin/", "/admin/users", "/admin/units", "/admin/pool"):
        answer = client.get(path)
        assert answer.status_code == 403
        assert "bara för administratörer" in answer.get_data(as_text=True)
    token = csrf_token(client, "/")
    answer = client.post(
        f"/admin/pool/{member.id}/active", data={"csrf_token": token, "active": "0"}
    )
    assert answer.status_code == 403
    member = person_named(db, "koordinator1")
    assert member is not None and member.pool_active


def test_the_anonymous_are_sent_to_the_login(client: FlaskClient) -> None:
    answer = client.get("/admin/users")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_a_deactivated_user_can_no_longer_log_in(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    rektor = person_named(db, "rektor2")
    assert rektor is not None
    token = csrf_token(client, f"/admin/users/{rektor.id}")
    answer = client.post(
        f"/admin/users/{rektor.id}/active", data={"csrf_token": token, "active": "0"}
    )
    assert answer.status_code == 302
    client.post("/logout", data={"csrf_token": token})
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "rektor2", "password": "demo"}
    )
    assert answer.status_code == 400
    event = db.scalars(sa.select(Event).where(Event.action == "set_user_active")).one()
    assert event.before == {"person": rektor.id, "active": True}
    assert event.after == {"person": rektor.id, "active": False}
    db.rollback()


def test_an_admin_cannot_lock_themself_out(db: Session, people: People) -> None:
    with pytest.raises(InvalidInput, match="ditt eget konto"):
        admin.set_user_active(db, people.admin.id, False, actor=people.admin.id)
    details = admin.UserDetails(
        name="Admin", email="admin@kommun.example", organisation="skola", profession="annan"
    )
    with pytest.raises(InvalidInput) as refused:
        admin.update_user(db, people.admin.id, details, actor=people.admin.id)
    assert "egen administratörsroll" in refused.value.fields["roles"]


def test_only_an_admin_may_use_the_admin_services(db: Session, people: People) -> None:
    details = admin.UserDetails(
        name="Ny", email="ny@kommun.example", organisation="skola", profession="kurator"
    )
    with pytest.raises(NotAllowed):
        admin.create_user(db, "ny", details, actor=people.samordnare.id)
    with pytest.raises(NotAllowed):
        admin.set_pool_active(db, people.koordinatorer[0].id, False, actor=people.samordnare.id)


def test_creating_a_user_is_audited_without_a_password(db: Session, people: People) -> None:
    details = admin.UserDetails(
        name="Ny Person",
        email="ny@kommun.example",
        organisation="socialtjanst",
        profession="socialsekreterare",
        roles=["admin"],
    )
    person = admin.create_user(db, "Ny.Person", details, actor=people.admin.id)
    assert person.username == "ny.person" and person.has_role(SystemRole.ADMIN)
    event = db.scalars(sa.select(Event).where(Event.action == "create_user")).one()
    assert event.actor_id == people.admin.id and event.before == {}
    assert event.after["roles"] == ["admin"] and "password" not in str(event.after)


def test_an_admin_sets_a_units_rektor_and_eht(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    unit = db.scalars(sa.select(Unit).where(Unit.name == "Kristinedalskolan")).one()
    staff = db.scalars(sa.select(Person).where(Person.unit_id == unit.id)).all()
    kurator = next((p.id, p.name) for p in staff if p.profession == Profession.KURATOR)
    larare = next((p.id, p.name) for p in staff if p.profession == Profession.LARARE)
    unit_id = unit.id
    db.rollback()
    login_as("admin")
    page = f"/admin/units/{unit_id}"
    html = client.get(page).get_data(as_text=True)
    assert kurator[1] in html and larare[1] in html
    token = csrf_token(client, page)
    data = {"csrf_token": token, "rektor_id": str(larare[0]), "eht_ids": [str(kurator[0])]}
    assert client.post(page, data=data).status_code == 302
    db.expire_all()
    unit = db.get(Unit, unit_id)
    assert unit is not None and unit.rektor_id == larare[0]
    assert [p.id for p in unit.eht] == [kurator[0]]
    db.rollback()


def test_an_admin_creates_a_unit_and_a_taken_name_is_refused(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    token = csrf_token(client, "/admin/units")
    data = {"csrf_token": token, "name": "Stenungsskolan", "kind": "skola"}
    assert client.post("/admin/units", data=data).status_code == 302
    answer = client.post("/admin/units", data={**data, "name": "stenungsskolan"})
    assert answer.status_code == 400
    assert "Det finns redan en enhet med det namnet." in answer.get_data(as_text=True)


def test_a_dormant_pool_member_is_no_longer_suggested_as_koordinator(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "assessment")
    best = koordinator_suggestions(db, load_case(db, walker.reference)).eligible[0]
    db.rollback()
    login_as("admin")
    token = csrf_token(client, "/admin/pool")
    path = f"/admin/pool/{best.person_id}/active"
    assert client.post(path, data={"csrf_token": token, "active": "0"}).status_code == 302

    db.expire_all()
    suggestions = koordinator_suggestions(db, load_case(db, walker.reference))
    db.rollback()
    assert best.person_id not in {c.person_id for c in suggestions.eligible}
    excluded = next(e for e in suggestions.excluded if e.candidate.person_id == best.person_id)
    assert "vilande" in " ".join(excluded.reasons)
    assert "Vilande" in client.get("/admin/pool").get_data(as_text=True)

    assert client.post(path, data={"csrf_token": token, "active": "1"}).status_code == 302
    db.expire_all()
    suggestions = koordinator_suggestions(db, load_case(db, walker.reference))
    db.rollback()
    assert best.person_id in {c.person_id for c in suggestions.eligible}


def test_an_admin_adds_and_removes_a_pool_member(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    kurator = person_named(db, "kurator3")
    assert kurator is not None and not kurator.in_koordinator_pool
    login_as("admin")
    token = csrf_token(client, "/admin/pool")
    answer = client.post("/admin/pool", data={"csrf_token": token, "person_id": str(kurator.id)})
    assert answer.status_code == 302
    member = person_named(db, "kurator3")
    assert member is not None and member.in_koordinator_pool and member.pool_active
    assert (
        client.post("/admin/pool", data={"csrf_token": token, "person_id": ""}).status_code == 400
    )

    answer = client.post(f"/admin/pool/{kurator.id}/remove", data={"csrf_token": token})
    assert answer.status_code == 302
    member = person_named(db, "kurator3")
    assert member is not None and not member.in_koordinator_pool
    answer = client.post(f"/admin/pool/{kurator.id}/remove", data={"csrf_token": token})
    assert answer.status_code == 400
    assert "finns inte i koordinatorpoolen" in answer.get_data(as_text=True)


def test_an_admin_post_without_csrf_token_is_refused(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    answer = client.post("/admin/users", data=new_user(""))
    assert answer.status_code == 400
    assert person_named(db, "kurator.ny") is None


def test_the_admin_pages_render_for_an_admin(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("admin")
    unit_id = people.units[0].id
    db.rollback()
    for path in (
        "/admin/",
        "/admin/users",
        "/admin/units",
        f"/admin/units/{unit_id}",
        "/admin/pool",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert not re.search(r"<script|style=", answer.get_data(as_text=True)), path
