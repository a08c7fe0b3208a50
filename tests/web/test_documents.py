"""Downloading the handlingsplan and the archive copy as PDFs from the case page."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from vastbas import demo
from vastbas.enums import EvaluationDecision
from vastbas.models import Event, Person
from vastbas.services import accounts

LoginAs = Callable[..., None]


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings: logins here test access."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


@pytest.fixture
def people(db: Session) -> demo.People:
    return municipality(db)


def link(page: str, text: str) -> str:
    """The href of the link with this text on the page."""
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', page)
    assert match, f"no link {text!r} on the page"
    return html.unescape(match.group(1))


def pdf_text(answer: TestResponse) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(answer.data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_a_samordnare_downloads_the_plan_from_the_case_page(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "interventions")
    reference, child = walker.reference, walker.case.child_name
    db.commit()
    login_as("samordnare")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Arkivutskrift (PDF)" not in page
    answer = client.get(link(page, "Ladda ner handlingsplan (PDF)"))

    text = pdf_text(answer)
    assert f"Handlingsplan {reference}" in text and f"Barn {child}" in text
    assert "Mål 1. Barnet är i skolan minst fyra dagar i veckan." in text
    disposition = f'attachment; filename="{reference}-handlingsplan-v1.pdf"'
    assert answer.headers["Content-Disposition"] == disposition
    assert answer.headers["Cache-Control"] == "no-store"
    assert not [value for _, value in answer.headers if child.split()[0] in value]
    metadata = PdfReader(io.BytesIO(answer.data)).metadata
    assert metadata is not None and metadata.title == f"Handlingsplan {reference}"
    reads = db.scalars(sa.select(Event.after).where(Event.action == "read_case")).all()
    assert {"document": "handlingsplan", "version": 1} in reads


def test_an_older_version_is_one_link_away_and_odd_versions_are_not_found(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "new_interventions")
    walker.new_interventions()
    reference = walker.reference
    db.commit()
    login_as("samordnare")
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    answer = client.get(link(page, "ladda ner version 1 (PDF)"))

    assert "Denna version har ersatts av version 2." in pdf_text(answer)
    assert answer.headers["Content-Disposition"].endswith('-handlingsplan-v1.pdf"')
    for odd in ("0", "abc", "99", "-1", "²"):
        assert client.get(f"/cases/{reference}/handlingsplan.pdf?version={odd}").status_code == 404


def test_the_archive_copy_is_offered_once_the_case_is_closed(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "evaluation")
    reference = walker.reference
    db.commit()
    login_as("samordnare")
    refused = client.get(f"/cases/{reference}/arkiv.pdf")
    assert refused.status_code == 400
    assert "först när ärendet är avslutat" in refused.get_data(as_text=True)

    walker.evaluate(EvaluationDecision.CLOSE)
    db.commit()
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    answer = client.get(link(page, "Arkivutskrift (PDF)"))
    assert f"Arkivutskrift – ärende {reference}" in pdf_text(answer)
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{reference}-arkiv.pdf"'


def test_without_a_role_on_the_case_both_documents_are_not_found(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "interventions")
    reference, child = walker.reference, walker.case.child_name
    on_case = {a.person_id for a in walker.case.assignments}
    stranger = next(k for k in people.koordinatorer if k.id not in on_case)
    username = db.get(Person, stranger.id).username  # type: ignore[union-attr]
    db.commit()
    for path in (f"/cases/{reference}/handlingsplan.pdf", f"/cases/{reference}/arkiv.pdf"):
        assert client.get(path).status_code == 302  # to the login page first
    login_as(username)
    unknown = client.get("/cases/VB-2026-9999/handlingsplan.pdf")
    for path in (f"/cases/{reference}/handlingsplan.pdf", f"/cases/{reference}/arkiv.pdf"):
        answer = client.get(path)
        assert answer.status_code == unknown.status_code == 404
        assert child not in answer.get_data(as_text=True)
