"""The appointment dialogs as their users meet them: samordnare, rektor and koordinator."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas.demo import Walker
from vastbas.enums import CaseRole
from vastbas.models import Assignment, Person, Unit

# On SQLite every transaction begins IMMEDIATE (it takes the write lock), so each helper
# that reads through the test's session ends its transaction before the app is asked.


def new_case(db: Session, state: str, unit: int = 0) -> Walker:
    walker = case_at(db, municipality(db), state, unit=unit)
    db.rollback()
    return walker


def version(db: Session, walker: Walker) -> int:
    current = walker.case.version
    db.rollback()
    return current


def holder(db: Session, walker: Walker, role: CaseRole) -> Assignment | None:
    """The role's current assignment, detached from the session (all columns loaded)."""
    assignment = walker.case.current(role)
    if assignment is not None:
        db.expunge(assignment)
    db.rollback()
    return assignment


def person_id(db: Session, username: str) -> int:
    found = db.scalars(sa.select(Person.id).where(Person.username == username)).one()
    db.rollback()
    return found


def username_of(db: Session, walker: Walker, role: CaseRole) -> str:
    assignment = walker.case.current(role)
    assert assignment is not None
    username = assignment.person.username
    db.rollback()
    assert username is not None
    return username


def radio_values(page: str, name: str) -> list[str]:
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs]  # type: ignore[union-attr]


def test_the_samordnare_appoints_a_suggested_pair(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "assessment")
    path = f"/cases/{walker.reference}/koordinatorer"
    login_as("samordnare")
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "öppna ärenden" in text and "Ej valbara" in text
    best = radio_values(text, "pair")[0]
    k1, k2 = (int(part) for part in best.split("-"))

    answer = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "version": version(db, walker), "pair": best},
    )

    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/cases/{walker.reference}"
    assert walker.holder(CaseRole.KOORDINATOR_1) == k1
    assert walker.holder(CaseRole.KOORDINATOR_2) == k2


def test_the_dialog_says_in_swedish_why_pool_members_are_excluded(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "assessment")
    # koordinator4 teaches at the child's school (unit 0) in the demo municipality.
    at_the_school = db.scalars(sa.select(Person).where(Person.username == "koordinator4")).one()
    name, at_the_school_id = at_the_school.name, at_the_school.id
    db.rollback()
    login_as("samordnare")
    text = client.get(f"/cases/{walker.reference}/koordinatorer").get_data(as_text=True)
    form, excluded = text.split("Ej valbara", 1)
    assert name in excluded
    assert "Personen arbetar på barnets enhet." in excluded
    assert f'value="{at_the_school_id}"' not in form


def test_an_ineligible_choice_is_refused_with_the_swedish_reason(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "assessment")
    path = f"/cases/{walker.reference}/koordinatorer"
    login_as("samordnare")
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "pair": "eget",
            "k1": person_id(db, "koordinator4"),
            "k2": person_id(db, "koordinator21"),
        },
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "Koordinatorerna kan inte utses." in text
    assert "Koordinator 1: Personen arbetar på barnets enhet." in text
    assert holder(db, walker, CaseRole.KOORDINATOR_1) is None


def test_an_own_choice_needs_both_koordinatorer(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "assessment")
    path = f"/cases/{walker.reference}/koordinatorer"
    login_as("samordnare")
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "pair": "eget",
            "k1": person_id(db, "koordinator1"),
        },
    )
    assert answer.status_code == 400
    assert "Välj koordinator 2." in answer.get_data(as_text=True)


def test_a_koordinator_on_the_case_may_not_appoint_koordinatorer(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "offer")
    path = f"/cases/{walker.reference}/koordinatorer"
    login_as(username_of(db, walker, CaseRole.KOORDINATOR_1))
    assert client.get(path).status_code == 403
    token = csrf_token(client, "/")
    answer = client.post(path, data={"csrf_token": token, "version": version(db, walker)})
    assert answer.status_code == 403


@pytest.mark.parametrize("username", ["rektor2", "koordinator30"])
def test_someone_not_on_the_case_does_not_learn_that_it_exists(
    db: Session, client: FlaskClient, login_as: Callable[..., None], username: str
) -> None:
    walker = new_case(db, "network_meeting_2")
    on_the_case = {a.person_id for a in walker.case.assignments}
    db.rollback()
    assert person_id(db, username) not in on_the_case
    login_as(username)
    for dialog in ("koordinatorer", "kontaktperson", "sprakror"):
        assert client.get(f"/cases/{walker.reference}/{dialog}").status_code == 404
    assert client.get("/cases/VB-1999-9999/koordinatorer").status_code == 404


def test_the_rektor_of_the_unit_appoints_the_kontaktperson(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_2", unit=0)
    kurator = person_id(db, "kurator1")
    path = f"/cases/{walker.reference}/kontaktperson"
    login_as("rektor1")
    page = client.get(path)
    assert page.status_code == 200
    assert "på rektorns vägnar" not in page.get_data(as_text=True)

    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "person_id": kurator,
        },
    )

    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/cases/{walker.reference}"
    appointed = holder(db, walker, CaseRole.KONTAKTPERSON)
    assert appointed is not None and appointed.person_id == kurator
    assert appointed.on_behalf_of_id is None


def test_the_samordnare_appoints_the_kontaktperson_on_the_rektors_behalf(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_2", unit=0)
    path = f"/cases/{walker.reference}/kontaktperson"
    login_as("samordnare")
    assert "på rektorns vägnar" in client.get(path).get_data(as_text=True)
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "person_id": person_id(db, "skoterska1"),
        },
    )
    assert answer.status_code == 302
    appointed = holder(db, walker, CaseRole.KONTAKTPERSON)
    assert appointed is not None and appointed.on_behalf_of_id == person_id(db, "rektor1")


def test_a_rektor_or_socialsekreterare_is_never_offered_as_kontaktperson(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_2", unit=0)
    unit = db.get(Unit, walker.case.unit_id)
    assert unit is not None
    rektor, socialsekreterare = (
        db.scalars(sa.select(Person).where(Person.username == u)).one()
        for u in ("rektor1", "koordinator21")
    )
    unit.eht.extend([rektor, socialsekreterare])  # as an admin might register the EHT
    db.commit()
    login_as("rektor1")
    text = client.get(f"/cases/{walker.reference}/kontaktperson").get_data(as_text=True)
    offered = {int(value) for value in radio_values(text, "person_id")}
    assert offered == {person_id(db, u) for u in ("kurator1", "skoterska1", "specped1")}
    excluded = text.split("Ej valbara", 1)[1]
    assert "En rektor kan inte vara kontaktperson" in excluded
    assert "En socialsekreterare kan inte vara kontaktperson" in excluded


def test_a_koordinator_may_not_appoint_the_kontaktperson(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_2")
    login_as(username_of(db, walker, CaseRole.KOORDINATOR_1))
    assert client.get(f"/cases/{walker.reference}/kontaktperson").status_code == 403


def test_a_sprakror_without_the_guardians_trust_is_refused(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/sprakror"
    login_as(username_of(db, walker, CaseRole.KOORDINATOR_1))
    form = {
        "csrf_token": csrf_token(client, path),
        "version": version(db, walker),
        "person_id": "",
        "outside_name": "Morfar Sven",
        "outside_phone": "070-123 45 67",
    }

    refused = client.post(path, data=form)

    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Vårdnadshavarens förtroende för språkröret är inte bekräftat." in text
    assert 'value="Morfar Sven"' in text
    assert holder(db, walker, CaseRole.SPRAKROR) is None

    answer = client.post(path, data={**form, "trust_confirmed": "y"})
    assert answer.status_code == 302
    appointed = holder(db, walker, CaseRole.SPRAKROR)
    assert appointed is not None and appointed.trust_confirmed_by_guardian
    outside = db.get(Person, appointed.person_id)
    assert outside is not None and not outside.has_login
    assert (outside.name, outside.phone) == ("Morfar Sven", "070-123 45 67")


def test_a_staff_member_can_be_the_sprakror(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/sprakror"
    specped = person_id(db, "specped1")
    login_as(username_of(db, walker, CaseRole.KOORDINATOR_1))
    assert f'value="{specped}"' in client.get(path).get_data(as_text=True)
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "person_id": specped,
            "trust_confirmed": "y",
        },
    )
    assert answer.status_code == 302
    assert walker.holder(CaseRole.SPRAKROR) == specped


def test_a_stale_version_is_a_conflict_that_keeps_what_was_typed(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/sprakror"
    login_as(username_of(db, walker, CaseRole.KOORDINATOR_1))
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker) - 1,
            "person_id": "",
            "outside_name": "Morfar Sven",
            "trust_confirmed": "y",
        },
    )
    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "Ärendet har ändrats av någon annan" in text
    assert 'value="Morfar Sven"' in text
    assert holder(db, walker, CaseRole.SPRAKROR) is None


def test_a_post_without_csrf_token_is_refused(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "assessment")
    login_as("samordnare")
    answer = client.post(
        f"/cases/{walker.reference}/koordinatorer",
        data={"version": version(db, walker), "pair": "1-2"},
    )
    assert answer.status_code == 400
    assert holder(db, walker, CaseRole.KOORDINATOR_1) is None
