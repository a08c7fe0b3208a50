"""The record forms of a case, as the people on the case use them in the browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from conftest import CSRF_FIELD
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.demo import People, Walker
from vastbas.enums import ActionStatus, CaseRole, EvaluationDecision, FollowUpKind
from vastbas.models import Case, Person
from vastbas.services import cases
from vastbas.services.base import load_case

LoginAs = Callable[..., None]
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


@pytest.fixture
def people(db: Session) -> People:
    people = municipality(db)
    db.rollback()
    return people


def built(db: Session, people: People, state: str, n: int = 1) -> Walker:
    """A case in `state`, with the test's session out of the way of the app's writes."""
    walker = case_at(db, people, state, n=n)
    db.rollback()  # SQLite: no open transaction (and write lock) left in the test's session
    return walker


def fresh(db: Session, reference: str) -> Case:
    """The case as stored now, every record loaded; the session's transaction ended."""
    db.expire_all()
    case = load_case(db, reference)
    db.commit()
    return case


def username(db: Session, person_id: int) -> str:
    name = db.scalar(sa.select(Person.username).where(Person.id == person_id))
    db.rollback()
    assert name is not None
    return name


def holder(db: Session, walker: Walker, role: CaseRole) -> str:
    person_id = walker.holder(role)
    db.rollback()
    return username(db, person_id)


def open_form(client: FlaskClient, path: str) -> dict[str, str]:
    """GET a form page as a browser would, returning its CSRF token and case version."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    token, version = CSRF_FIELD.search(html), VERSION.search(html)
    assert token and version, html
    return {"csrf_token": token.group(1), "version": version.group(1)}


def redirects_to_case(answer: TestResponse, reference: str) -> bool:
    return answer.status_code == 302 and answer.headers["Location"].startswith(
        f"/cases/{reference}"
    )


# --- each form, as the right person, changes the case -------------------------------


def test_k1_records_the_childs_voice_in_offer(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/child-voice"
    form = open_form(client, path)
    answer = client.post(path, data={**form, "text": "Jag vill ha en kompis på rasterna."})
    assert redirects_to_case(answer, walker.reference)
    assert fresh(db, walker.reference).child_voice == "Jag vill ha en kompis på rasterna."


def test_the_samordnare_records_a_new_consent_with_its_actors(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "request")
    login_as("samordnare")
    path = f"/cases/{walker.reference}/consent"
    form = open_form(client, path)
    answer = client.post(
        path,
        data={
            **form,
            "given_by": "Vårdnadshavare 1 och 2",
            "actors": ["Skola", "BUP"],
            "other_actors": "Habilitering Syd, Fritidsgården",
        },
    )
    assert redirects_to_case(answer, walker.reference)
    consent = fresh(db, walker.reference).active_consent
    assert consent is not None and consent.given_by == "Vårdnadshavare 1 och 2"
    assert consent.actors == ["Skola", "BUP", "Habilitering Syd", "Fritidsgården"]


def test_k1_writes_problem_analysis_and_purpose_in_pre_meeting(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "pre_meeting")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/problem-analysis"
    form = open_form(client, path)
    data = {**form, "problem_analysis": "Hög frånvaro.", "purpose": "Tillbaka till skolan."}
    assert redirects_to_case(client.post(path, data=data), walker.reference)
    case = fresh(db, walker.reference)
    assert (case.problem_analysis, case.purpose) == ("Hög frånvaro.", "Tillbaka till skolan.")


def test_k1_adds_a_guardian_to_the_network_map_and_removes_the_entry(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "pre_meeting")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/network"
    form = open_form(client, path)
    answer = client.post(
        path,
        data={
            **form,
            "kind": "vardnadshavare",
            "name": "Vårdnadshavare 2",
            "relation": "Pappa",
            "on_guest_list": "y",
        },
    )
    assert redirects_to_case(answer, walker.reference)
    entry = next(e for e in fresh(db, walker.reference).network if e.name == "Vårdnadshavare 2")
    assert entry.kind.value == "vardnadshavare" and entry.on_guest_list and entry.removed_at is None
    page = client.get(path).get_data(as_text=True)
    assert "Vårdnadshavare 2" in page and "Pappa" in page

    form = open_form(client, path)
    answer = client.post(f"{path}/{entry.id}/remove", data=form)
    assert redirects_to_case(answer, walker.reference)
    removed = next(e for e in fresh(db, walker.reference).network if e.id == entry.id)
    assert removed.removed_at is not None


def plan_data(form: dict[str, str], rows: list[tuple[str, str, str]], goals: str) -> dict[str, str]:
    """The plan form as a browser sends it: six rows, the unused ones empty."""
    data: dict[str, str] = {**form, "goals": goals}
    for i in range(6):
        description, owner, due = rows[i] if i < len(rows) else ("", "", "")
        data |= {
            f"actions-{i}-description": description,
            f"actions-{i}-owner_name": owner,
            f"actions-{i}-due_on": due,
        }
    return data


def test_k1_writes_plan_version_1_in_network_meeting_2(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "network_meeting_2")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/plan"
    form = open_form(client, path)
    due = (local_date(clock.now()) + timedelta(days=30)).isoformat()
    rows = [("Morgonstöd", "Vårdnadshavare 1", due), ("Anpassat schema", "Mentor", due)]
    answer = client.post(
        path, data=plan_data(form, rows, "Närvaro fyra dagar i veckan\n\nLugna raster")
    )
    assert redirects_to_case(answer, walker.reference)
    plan = fresh(db, walker.reference).current_plan
    assert plan is not None and plan.version == 1
    assert [g.text for g in plan.goals] == ["Närvaro fyra dagar i veckan", "Lugna raster"]
    assert [(a.description, a.owner_name, str(a.due_on)) for a in plan.actions] == rows

    # The next version starts from the current one, without JavaScript.
    page = client.get(path).get_data(as_text=True)
    assert "Anpassat schema" in page and "version 2" in page
    assert 'name="actions-2-description"' in page


def test_the_kontaktperson_starts_an_action_in_interventions(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "interventions")
    login_as(holder(db, walker, CaseRole.KONTAKTPERSON))
    plan = fresh(db, walker.reference).current_plan
    assert plan is not None
    action = plan.actions[0]
    form = open_form(client, f"/cases/{walker.reference}/actions")
    answer = client.post(
        f"/cases/{walker.reference}/actions/{action.id}/status", data={**form, "status": "started"}
    )
    assert redirects_to_case(answer, walker.reference)
    plan = fresh(db, walker.reference).current_plan
    assert plan is not None and plan.actions[0].status == ActionStatus.STARTED


def test_the_kontaktperson_records_a_follow_up(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "follow_up")
    login_as(holder(db, walker, CaseRole.KONTAKTPERSON))
    path = f"/cases/{walker.reference}/follow-up"
    form = open_form(client, path)
    today = local_date(clock.now()).isoformat()
    data = {
        **form,
        "kind": "eht",
        "held_on": today,
        "notes": "Lyft i EHT.",
        "reported_to_koordinator": "y",
    }
    assert redirects_to_case(client.post(path, data=data), walker.reference)
    follow_up = fresh(db, walker.reference).follow_ups[-1]
    assert follow_up.kind == FollowUpKind.EHT and follow_up.notes == "Lyft i EHT."
    assert follow_up.reported_to_koordinator


def test_the_kontaktperson_records_the_evaluation(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "evaluation")
    login_as(holder(db, walker, CaseRole.KONTAKTPERSON))
    path = f"/cases/{walker.reference}/evaluation"
    form = open_form(client, path)
    data = {**form, "decision": "close", "notes": "Målen är nådda."}
    assert redirects_to_case(client.post(path, data=data), walker.reference)
    evaluation = fresh(db, walker.reference).evaluations[-1]
    assert evaluation.decision == EvaluationDecision.CLOSE and evaluation.notes == "Målen är nådda."


def test_the_rektor_of_the_unit_registers_a_deviation(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    login_as("rektor1")
    path = f"/cases/{walker.reference}/deviation"
    form = open_form(client, path)
    answer = client.post(path, data={**form, "description": "BUP kom inte till mötet."})
    assert redirects_to_case(answer, walker.reference)
    case = fresh(db, walker.reference)
    assert [d.description for d in case.deviations] == ["BUP kom inte till mötet."]


# --- who may ---------------------------------------------------------------------------


def test_a_user_who_sees_the_case_without_the_role_gets_a_swedish_403(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    version = fresh(db, walker.reference).version
    login_as("rektor1")  # rektor of the child's unit: sees the case, records no child's voice
    path = f"/cases/{walker.reference}/child-voice"
    page = client.get(path)
    assert page.status_code == 403
    assert "Ingen behörighet" in page.get_data(as_text=True)
    token = open_form(client, f"/cases/{walker.reference}/deviation")["csrf_token"]
    answer = client.post(path, data={"csrf_token": token, "version": version, "text": "x"})
    assert answer.status_code == 403
    assert fresh(db, walker.reference).child_voice is None


def test_a_step_that_does_not_allow_the_form_gets_a_403_saying_so(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    page = client.get(f"/cases/{walker.reference}/follow-up")
    assert page.status_code == 403
    assert "när ärendet är i steget Erbjudande till familjen" in page.get_data(as_text=True)


def test_a_user_without_a_role_on_the_case_gets_404(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    on_case = {walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)}
    db.rollback()
    outsider = next(p.id for p in people.koordinatorer if p.id not in on_case)
    version = fresh(db, walker.reference).version
    login_as(username(db, outsider))
    path = f"/cases/{walker.reference}/child-voice"
    assert client.get(path).status_code == 404
    assert client.get(f"/cases/{walker.reference}/network").status_code == 404
    token = CSRF_FIELD.search(client.get("/").get_data(as_text=True))
    assert token
    answer = client.post(path, data={"csrf_token": token.group(1), "version": version, "text": "x"})
    assert answer.status_code == 404
    assert fresh(db, walker.reference).child_voice is None


def test_the_anonymous_are_sent_to_the_login(
    db: Session, people: People, client: FlaskClient
) -> None:
    walker = built(db, people, "offer")
    answer = client.get(f"/cases/{walker.reference}/child-voice")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


# --- refusals keep what was typed and save nothing ----------------------------------


def test_an_empty_text_gets_its_message_next_to_the_field_and_saves_nothing(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/child-voice"
    answer = client.post(path, data={**open_form(client, path), "text": "   "})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="text-error">Skriv vad barnet själv säger eller önskar.' in html
    assert 'aria-invalid="true"' in html
    assert fresh(db, walker.reference).child_voice is None


def test_the_services_field_messages_land_next_to_their_fields(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "pre_meeting")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/problem-analysis"
    data = {**open_form(client, path), "problem_analysis": "Oro i hemmet.", "purpose": ""}
    answer = client.post(path, data=data)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="purpose-error">Skriv syftet med nätverksarbetet.' in html
    assert "Oro i hemmet." in html
    assert fresh(db, walker.reference).problem_analysis is None


def test_a_follow_up_dated_in_the_future_is_refused_at_its_date(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "follow_up")
    login_as(holder(db, walker, CaseRole.KONTAKTPERSON))
    path = f"/cases/{walker.reference}/follow-up"
    tomorrow = (local_date(clock.now()) + timedelta(days=1)).isoformat()
    data = {**open_form(client, path), "kind": "phone", "held_on": tomorrow, "notes": "Samtal."}
    answer = client.post(path, data=data)
    assert answer.status_code == 400
    assert 'id="held_on-error">Datumet har inte varit.' in answer.get_data(as_text=True)
    assert fresh(db, walker.reference).follow_ups == []


def test_a_half_filled_action_row_is_marked_on_its_row_and_no_plan_is_saved(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "network_meeting_2")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/plan"
    due = (local_date(clock.now()) + timedelta(days=30)).isoformat()
    rows = [
        ("Morgonstöd", "Vårdnadshavare 1", due),
        ("Läxhjälp", "", "inte ett datum"),
        ("   ", "Mentor", due),
    ]
    answer = client.post(path, data=plan_data(open_form(client, path), rows, "Ett mål"))
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="actions-1-owner_name-error">Ange vem som ansvarar.' in html
    assert 'id="actions-1-due_on-error">Inte ett giltigt datum' in html
    assert 'id="actions-2-description-error">Beskriv åtgärden.' in html
    assert "actions-0-description-error" not in html
    assert "Läxhjälp" in html and "Morgonstöd" in html
    assert fresh(db, walker.reference).plans == []


def test_a_plan_without_goals_gets_the_services_message_at_the_goals(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "network_meeting_2")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/plan"
    due = (local_date(clock.now()) + timedelta(days=30)).isoformat()
    data = plan_data(open_form(client, path), [("Morgonstöd", "Mentor", due)], " \n ")
    answer = client.post(path, data=data)
    assert answer.status_code == 400
    assert 'id="goals-error">Skriv minst ett mål.' in answer.get_data(as_text=True)
    assert fresh(db, walker.reference).plans == []


def test_a_stale_version_gives_409_and_keeps_the_text(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    k2 = walker.holder(CaseRole.KOORDINATOR_2)
    db.rollback()
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/child-voice"
    form = open_form(client, path)
    walker.call(cases.record_child_voice, actor=k2, text="Barnet vill byta klass.")
    db.rollback()
    answer = client.post(path, data={**form, "text": "Barnet vill ha en vuxen att prata med."})
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "Ärendet har ändrats av någon annan" in html
    assert "Barnet vill ha en vuxen att prata med." in html
    assert fresh(db, walker.reference).child_voice == "Barnet vill byta klass."


def test_a_post_without_csrf_token_is_refused(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "offer")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    path = f"/cases/{walker.reference}/child-voice"
    version = open_form(client, path)["version"]
    answer = client.post(path, data={"version": version, "text": "Utan token."})
    assert answer.status_code == 400
    assert fresh(db, walker.reference).child_voice is None


def test_typed_html_is_shown_as_text_on_the_next_page(
    db: Session, people: People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = built(db, people, "pre_meeting")
    login_as(holder(db, walker, CaseRole.KOORDINATOR_1))
    script = '<script>alert("x")</script>'
    voice = f"/cases/{walker.reference}/child-voice"
    assert client.post(voice, data={**open_form(client, voice), "text": script}).status_code == 302
    html = client.get(voice).get_data(as_text=True)
    assert script not in html and "&lt;script&gt;alert(" in html

    path = f"/cases/{walker.reference}/network"
    data = {**open_form(client, path), "kind": "annan", "name": "<b onmouseover=x>Ola</b>"}
    assert client.post(path, data=data).status_code == 302
    html = client.get(path).get_data(as_text=True)
    assert "<b onmouseover" not in html and "&lt;b onmouseover=x&gt;Ola&lt;/b&gt;" in html
