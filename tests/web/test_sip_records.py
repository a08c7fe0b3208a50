"""The SIP dialogs as their users meet them: sammankallande, samordnare i planen, placering."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from builders import municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas import demo_sip
from vastbas.enums import CaseRole, Organisation
from vastbas.models import Case, Person
from vastbas.services.coordination import PLACEMENT_NEEDS_SOCIALTJANST

LoginAs = Callable[..., None]

# On SQLite every transaction begins IMMEDIATE (it takes the write lock), so each helper
# that reads through the test's session ends its transaction before the app is asked.


def sip_case(db: Session, state: str, *, placed: bool = False) -> demo_sip.SipWalker:
    people = municipality(db)
    case = demo_sip.register(db, people, 41, people.units[0])
    walker = demo_sip.SipWalker(db, people, case.reference)
    demo_sip.walk_to(walker, state)
    if placed:
        walker.place_outside_home()
    db.rollback()
    return walker


def case_row(db: Session, reference: str) -> Case:
    db.expire_all()
    case = db.scalars(sa.select(Case).where(Case.reference == reference)).one()
    return case


def holder_id(db: Session, reference: str, role: CaseRole) -> int | None:
    held = case_row(db, reference).current(role)
    db.rollback()
    return held.person_id if held else None


def version(db: Session, reference: str) -> int:
    found = case_row(db, reference).version
    db.rollback()
    return found


def person(db: Session, username: str) -> Person:
    found = db.scalars(sa.select(Person).where(Person.username == username)).one()
    db.expunge(found)
    db.rollback()
    return found


def offered(page: str) -> set[str]:
    """The person ids a staff select offers (the empty choice left out)."""
    return set(re.findall(r'<option (?:selected )?value="(\d+)"', page))


def selected(page: str) -> list[str]:
    return re.findall(r'<option selected value="(\d+)"', page)


def test_the_samordnare_appoints_the_sammankallande_from_the_staff(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "request")
    rektor = person(db, "rektor1")
    login_as("samordnare")
    case_page = client.get(f"/cases/{walker.reference}").get_data(as_text=True)
    assert f'href="/cases/{walker.reference}/sammankallande"' in case_page

    form = client.get(f"/cases/{walker.reference}/sammankallande")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert str(rektor.id) in offered(page)
    # Grouped by organisation, so the rektor is found among the school's people.
    assert '<optgroup label="Skola">' in page and '<optgroup label="Socialtjänst">' in page

    token = csrf_token(client, f"/cases/{walker.reference}/sammankallande")
    answer = client.post(
        f"/cases/{walker.reference}/sammankallande",
        data={
            "csrf_token": token,
            "version": version(db, walker.reference),
            "person_id": rektor.id,
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/cases/{walker.reference}"
    assert "Sammankallande är utsedd." in client.get(answer.headers["Location"]).get_data(
        as_text=True
    )
    assert holder_id(db, walker.reference, CaseRole.SAMMANKALLANDE) == rektor.id


def test_a_rektor_without_the_role_is_refused_and_an_outsider_sees_nothing(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "request")
    login_as("rektor1")  # sees the case as the rektor of the child's unit, may not appoint
    assert client.get(f"/cases/{walker.reference}/sammankallande").status_code == 403
    assert 'sammankallande"' not in client.get(f"/cases/{walker.reference}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as("kurator2")  # another school's kurator: no role on the case
    for path in ("sammankallande", "plan-samordnare", "placering"):
        assert client.get(f"/cases/{walker.reference}/{path}").status_code == 404


def test_placement_offers_only_socialtjanst_and_a_forced_choice_is_refused_in_swedish(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "sip_meeting", placed=True)
    boss = holder_id(db, walker.reference, CaseRole.SAMMANKALLANDE)
    boss_user = db.scalar(sa.select(Person.username).where(Person.id == boss))
    db.rollback()
    assert boss_user is not None
    kurator = person(db, "kurator1")
    social = person(db, "koordinator21")
    assert social.organisation == Organisation.SOCIALTJANST
    login_as(boss_user)

    url = f"/cases/{walker.reference}/plan-samordnare"
    page = client.get(url).get_data(as_text=True)
    assert "Barnet är placerat utanför hemmet" in page
    assert str(social.id) in offered(page) and str(kurator.id) not in offered(page)

    before = version(db, walker.reference)
    answer = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "version": before, "person_id": kurator.id},
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert PLACEMENT_NEEDS_SOCIALTJANST in body.replace("&amp;", "&")
    assert selected(body) == [str(kurator.id)]  # the choice is kept to correct
    assert version(db, walker.reference) == before


def test_the_placement_needs_a_confirmation_and_then_restricts_the_candidates(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "sip_meeting")
    login_as("samordnare")
    url = f"/cases/{walker.reference}/placering"
    kurator = person(db, "kurator1")
    assert str(kurator.id) in offered(
        client.get(f"/cases/{walker.reference}/plan-samordnare").get_data(as_text=True)
    )
    token = csrf_token(client, url)
    unconfirmed = client.post(
        url, data={"csrf_token": token, "version": version(db, walker.reference), "placed": "ja"}
    )
    body = unconfirmed.get_data(as_text=True)
    assert unconfirmed.status_code == 400
    assert "Bekräfta att uppgiften om placering stämmer." in body
    assert re.search(r'<input checked[^>]*value="ja"', body)
    assert case_row(db, walker.reference).placed_outside_home_at is None
    db.rollback()

    confirmed = client.post(
        url,
        data={
            "csrf_token": token,
            "version": version(db, walker.reference),
            "placed": "ja",
            "confirmed": "y",
        },
    )
    assert confirmed.status_code == 302
    assert case_row(db, walker.reference).placed_outside_home_at is not None
    db.rollback()
    page = client.get(f"/cases/{walker.reference}/plan-samordnare").get_data(as_text=True)
    assert str(kurator.id) not in offered(page)


@pytest.mark.parametrize(
    ("path", "field"),
    [("sammankallande", "person_id"), ("plan-samordnare", "person_id"), ("placering", "placed")],
)
def test_a_stale_version_is_a_conflict_and_changes_nothing(
    path: str, field: str, db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "sip_meeting")
    value = "nej" if field == "placed" else str(person(db, "koordinator21").id)
    login_as("samordnare")
    url = f"/cases/{walker.reference}/{path}"
    current = version(db, walker.reference)
    answer = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "version": current - 1,
            field: value,
            "confirmed": "y",
        },
    )
    assert answer.status_code == 409
    assert "Ärendet är nu i steget" in answer.get_data(as_text=True)
    assert version(db, walker.reference) == current


def test_a_sip_offers_only_its_own_meeting_and_participant_kinds(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "invitation")
    login_as("rektor1")  # the sammankallande the demo walk appointed
    booking = client.get(f"/cases/{walker.reference}/meetings/new").get_data(as_text=True)
    kinds = re.findall(r'<option (?:selected )?value="([a-z_0-9]+)"', booking)
    assert kinds == ["sip_meeting", "follow_up"]
    network = client.get(f"/cases/{walker.reference}/network").get_data(as_text=True)
    assert ">Tolk<" in network and ">Familj<" not in network  # 001's list, not Västbas'
    url = f"/cases/{walker.reference}/meetings/new"
    refused = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "version": version(db, walker.reference),
            "kind": "pre_meeting",
            "starts_at": "2026-12-01T10:00",
        },
    )
    assert refused.status_code == 400
    assert "Välj vilket möte det är." in refused.get_data(as_text=True)


def test_a_sip_is_followed_up_by_meeting_or_telephone_and_reports_to_no_koordinator(
    db: Session, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = sip_case(db, "follow_up")
    login_as("rektor1")  # the sammankallande
    url = f"/cases/{walker.reference}/follow-up"
    form = client.get(url).get_data(as_text=True)
    kinds = re.findall(r'<option (?:selected )?value="([a-z_]+)"', form)
    assert kinds == ["meeting", "phone"]  # 001, p. 10
    assert "koordinatorn" not in form
    refused = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "version": version(db, walker.reference),
            "kind": "eht",
            "notes": "Lyft i EHT",
        },
    )
    assert refused.status_code == 400
    assert "Lyft i EHT" in refused.get_data(as_text=True)  # the input is kept
