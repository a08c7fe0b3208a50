"""The case pages as their users meet them: who sees what, moving a case, a new request."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import CaseRole
from vastbas.models import Case, CaseDeadline, Event, Person
from vastbas.services import accounts, cases

LoginAs = Callable[..., None]
VERSION = re.compile(r'(?:name="version" value="|[?&]version=)(\d+)')


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings: logins here test access."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


@pytest.fixture
def people(db: Session) -> demo.People:
    return municipality(db)


def settled(db: Session) -> None:
    """End the test's own transaction: on SQLite it would keep the app from writing."""
    db.commit()


def username(db: Session, person_id: int) -> str:
    person = db.get(Person, person_id)
    assert person is not None and person.username is not None
    return person.username


def page_text(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


def version_on(html: str) -> int:
    match = VERSION.search(html)
    assert match, "no version on the page"
    return int(match.group(1))


def case_row(db: Session, reference: str) -> Case:
    db.expire_all()
    case = db.scalars(sa.select(Case).where(Case.reference == reference)).one()
    settled(db)
    return case


# --- Who sees what -----------------------------------------------------------------------


def test_the_samordnare_sees_every_case_in_the_list(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    references = [case_at(db, people, "request", n=n, unit=n).reference for n in range(3)]
    settled(db)
    login_as("samordnare")
    listing = page_text(client, "/cases")
    for reference in references:
        assert reference in listing
    assert "3 ärenden" in listing


def test_a_koordinator_not_on_the_case_neither_sees_nor_finds_it(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "offer")
    on_case = {walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)}
    outsider = next(k for k in people.koordinatorer if k.id not in on_case)
    settled(db)
    login_as(outsider.username)
    denied = page_text(client, f"/cases/{walker.reference}", 404)
    unknown = page_text(client, "/cases/VB-1999-9999", 404)
    assert f"Ärendet {walker.reference} finns inte." in denied
    assert "Ärendet VB-1999-9999 finns inte." in unknown
    assert walker.reference not in page_text(client, "/cases")
    assert walker.reference not in page_text(client, "/")


def test_the_koordinator_on_the_case_sees_it_with_the_role(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "offer")
    k1 = username(db, walker.holder(CaseRole.KOORDINATOR_1))
    settled(db)
    login_as(k1)
    start = page_text(client, "/")
    assert walker.reference in start
    assert "Koordinator 1" in start
    assert "Nyligen tilldelade" in start
    assert walker.reference in page_text(client, "/cases")
    assert "Din roll: Koordinator 1." in page_text(client, f"/cases/{walker.reference}")


def test_the_rektor_of_the_unit_sees_the_case_and_another_rektor_does_not(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "request", unit=0).reference
    settled(db)
    login_as("rektor1")
    assert reference in page_text(client, "/cases")
    assert "Rektor för barnets enhet" in page_text(client, f"/cases/{reference}")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as("rektor2")
    page_text(client, f"/cases/{reference}", 404)
    assert reference not in page_text(client, "/cases")


def test_the_list_filters_by_step_and_finds_a_reference(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    waiting = case_at(db, people, "request", n=1).reference
    assessed = case_at(db, people, "assessment", n=2).reference
    settled(db)
    login_as("samordnare")
    by_step = page_text(client, "/cases?steg=assessment")
    assert assessed in by_step and waiting not in by_step
    found = page_text(client, f"/cases?sok={waiting[-4:]}")
    assert waiting in found and assessed not in found


def test_no_list_shows_the_childs_name(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walkers = [case_at(db, people, "offer", n=n, unit=0) for n in (1, 2)]
    names = [w.case.child_name for w in walkers]
    settled(db)
    login_as("rektor1")
    for path in ("/cases", "/"):
        html = page_text(client, path)
        assert walkers[0].reference in html
        for name in names:
            assert name not in html


# --- The case page -----------------------------------------------------------------------


def test_the_case_page_shows_the_step_what_is_missing_and_only_permitted_buttons(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "pre_meeting", unit=0)
    k1 = username(db, walker.holder(CaseRole.KOORDINATOR_1))
    settled(db)
    login_as(k1)
    html = page_text(client, f"/cases/{walker.reference}")
    current = re.search(r'<li class="[^"]*current[^"]*" aria-current="step">\s*<span>([^<]+)', html)
    assert current and current.group(1) == "4. Förmöte"
    assert "Språkrör är inte utsett." in html
    assert "Problemanalysen saknas." in html
    # Not ready: no button to leave the förmöte; closing early is offered behind a confirmation.
    assert "/transitions/complete_pre_meeting" not in html
    assert f"/cases/{walker.reference}/transitions/refer_to_authority?version=" in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as("rektor1")
    html = page_text(client, f"/cases/{walker.reference}")
    assert "Språkrör är inte utsett." in html
    assert "/transitions/" not in html


def test_the_case_page_masks_the_personnummer_and_logs_every_read(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "request")
    case = walker.case
    pnr, version, reference = case.child_personnummer, case.version, case.reference
    settled(db)
    login_as("samordnare")
    html = page_text(client, f"/cases/{reference}")
    assert f"{pnr[:8]}-****" in html and pnr not in html
    assert pnr in page_text(client, f"/cases/{reference}?visa=personnummer")
    reads = db.scalars(
        sa.select(Event).where(Event.case_id == case.id, Event.action == "read_case")
    ).all()
    assert [e.actor_id for e in reads] == [people.samordnare.id] * 2
    assert [e.after for e in reads] == [{}, {"personnummer": True}]
    assert case_row(db, reference).version == version


# --- Moving a case -----------------------------------------------------------------------


def test_firing_a_transition_through_the_form_moves_the_case(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "request").reference
    settled(db)
    login_as("samordnare")
    html = page_text(client, f"/cases/{reference}")
    assert f"/cases/{reference}/transitions/start_assessment" in html
    answer = client.post(
        f"/cases/{reference}/transitions/start_assessment",
        data={"csrf_token": csrf_token(client, "/"), "version": version_on(html)},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/cases/{reference}"
    html = page_text(client, f"/cases/{reference}")
    assert "Ärendet är nu i steget Bedömning." in html
    assert '<span class="badge">Steg: Bedömning</span>' in html
    assert case_row(db, reference).state == "assessment"


def test_the_rektor_gets_no_button_and_a_forged_post_is_refused(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "request", unit=0).reference
    settled(db)
    login_as("rektor1")
    html = page_text(client, f"/cases/{reference}")
    assert "/transitions/start_assessment" not in html
    answer = client.post(
        f"/cases/{reference}/transitions/start_assessment",
        data={"csrf_token": csrf_token(client, "/"), "version": version_on_case(db, reference)},
    )
    assert answer.status_code == 403
    assert case_row(db, reference).state == "request"


def version_on_case(db: Session, reference: str) -> int:
    return case_row(db, reference).version


def test_a_stale_version_shows_the_conflict_and_the_current_state(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "request").reference
    settled(db)
    login_as("samordnare")
    seen = version_on(page_text(client, f"/cases/{reference}"))
    cases.record_consent(
        db,
        reference,
        actor=people.samordnare.id,
        expected_version=seen,
        given_by="Vårdnadshavare 2",
        actors=["Skola"],
    )
    answer = client.post(
        f"/cases/{reference}/transitions/start_assessment",
        data={"csrf_token": csrf_token(client, "/"), "version": seen},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "Ärendet har ändrats av någon annan" in html
    assert "Ärendet är nu i steget <strong>Förfrågan</strong>" in html
    assert "Vårdnadshavare 2" in html
    assert case_row(db, reference).state == "request"


def test_closing_early_asks_for_confirmation_and_a_reason(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "assessment").reference
    settled(db)
    login_as("samordnare")
    path = f"/cases/{reference}/transitions/reject_case"
    html = page_text(client, f"/cases/{reference}")
    confirm = page_text(client, f"{path}?version={version_on(html)}")
    assert "<h1>Inte ett Västbasärende</h1>" in confirm
    assert '<label for="reason">Skäl</label>' in confirm
    token = csrf_token(client, "/")
    refused = client.post(path, data={"csrf_token": token, "version": version_on(confirm)})
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert "Ange ett skäl." in refused.get_data(as_text=True)
    assert case_row(db, reference).state == "assessment"
    reason = "Behoven möts inom skolans elevhälsa."
    done = client.post(
        path, data={"csrf_token": token, "version": version_on(confirm), "reason": reason}
    )
    assert done.status_code == 302
    closed = case_row(db, reference)
    assert (closed.state, closed.outcome, closed.outcome_reason) == (
        "closed",
        "not_vastbas",
        reason,
    )


def test_a_stale_confirmation_keeps_the_reason_typed(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "assessment").reference
    settled(db)
    login_as("samordnare")
    seen = version_on(page_text(client, f"/cases/{reference}"))
    answer = client.post(
        f"/cases/{reference}/transitions/reject_case",
        data={
            "csrf_token": csrf_token(client, "/"),
            "version": seen - 1,
            "reason": "Mitt skäl som inte får försvinna",
        },
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "Ärendet har ändrats av någon annan" in html
    assert "Mitt skäl som inte får försvinna</textarea>" in html
    assert version_on(html) == seen


def test_a_post_without_csrf_token_is_refused(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    reference = case_at(db, people, "request").reference
    version = version_on_case(db, reference)
    login_as("samordnare")
    answer = client.post(
        f"/cases/{reference}/transitions/start_assessment", data={"version": version}
    )
    assert answer.status_code == 400
    assert case_row(db, reference).state == "request"


# --- Ny förfrågan ------------------------------------------------------------------------


def request_form(client: FlaskClient, unit_id: int, **changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf_token(client, "/cases/new"),
        "initiator_kind": "skola",
        "initiator_name": "Mentor",
        "child_name": "Testbarn Testsson",
        "child_personnummer": demo.child_personnummer(77),
        "unit_id": str(unit_id),
        "background": "Hög frånvaro.",
        "consent_given_by": "Vårdnadshavare",
        "consent_actors": ["Skola", "Socialtjänst"],
        "consent_other": "BUP, Fritidsgården",
    }
    form.update(changes)
    return form


def count_cases(db: Session) -> int:
    count = db.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
    settled(db)
    return count


def test_a_bad_personnummer_is_shown_next_to_its_field_and_nothing_is_saved(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    unit_id = people.units[0].id
    settled(db)
    login_as("samordnare")
    form = request_form(client, unit_id, child_personnummer="20120304-1235")
    answer = client.post("/cases/new", data=form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    field = re.search(r'<p class="error" id="child_personnummer-error">([^<]+)</p>', html)
    assert field and "Ogiltigt personnummer" in field.group(1)
    assert 'aria-describedby="child_personnummer-error"' in html
    assert 'value="Testbarn Testsson"' in html
    assert count_cases(db) == 0


def test_a_good_request_creates_the_case_and_opens_it(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    unit_id = people.units[0].id
    settled(db)
    login_as("samordnare")
    answer = client.post("/cases/new", data=request_form(client, unit_id))
    assert answer.status_code == 302
    reference = answer.headers["Location"].rsplit("/", 1)[-1]
    html = page_text(client, answer.headers["Location"])
    assert f"Förfrågan {reference} är registrerad." in html
    case = db.scalars(sa.select(Case).where(Case.reference == reference)).one()
    assert (case.state, case.unit_id, case.child_name) == ("request", unit_id, "Testbarn Testsson")
    consent = case.consents[0]
    assert consent.actors == ["Skola", "Socialtjänst", "BUP", "Fritidsgården"]
    settled(db)


def test_a_registrant_without_access_goes_back_to_mina_arenden(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    unit_id = people.units[0].id
    settled(db)
    login_as("kurator1")
    answer = client.post("/cases/new", data=request_form(client, unit_id))
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert re.search(r"Förfrågan VB-\d{4}-\d{4} är registrerad\.", page_text(client, "/"))
    assert count_cases(db) == 1


# --- Mina ärenden ------------------------------------------------------------------------


def test_mina_arenden_shows_what_is_late_in_red(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "request")
    today = local_date(clock.now())
    db.execute(
        sa.update(CaseDeadline)
        .where(CaseDeadline.case_id == walker.case.id, CaseDeadline.name == "assessment")
        .values(due_on=today - timedelta(days=3))
    )
    settled(db)
    login_as("samordnare")
    html = page_text(client, "/")
    late = html[html.index('id="forsenat"') : html.index('id="snart"')]
    assert walker.reference in late and "Bedömning av förfrågan" in late
    assert 'class="overdue"' in late


def test_the_samordnares_start_page_shows_the_first_cases_and_points_to_the_rest(
    db: Session,
    people: demo.People,
    client: FlaskClient,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A samordnare owns the first steps of every case: in a large municipality thousands.
    from vastbas.queries import lists

    monkeypatch.setattr(lists, "START_PAGE_LIMIT", 2)
    references = sorted(case_at(db, people, "request").reference for _ in range(3))
    settled(db)
    login_as("samordnare")

    html = page_text(client, "/")

    mine = html[html.index('id="roller"') : html.index('id="meddelanden"')]
    assert references[0] in mine and references[1] in mine and references[2] not in mine
    assert "Här visas de 2 första" in mine and 'href="/cases"' in mine
    assert "Här visas de 2 första tidsfristerna" in html
