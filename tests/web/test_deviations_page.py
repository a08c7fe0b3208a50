"""Avvikelser in the browser: reported on the case page, followed up from the samordnare's list.

Named *_page so that its module name does not clash with tests/services/test_deviations.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from conftest import CSRF_FIELD
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas.demo import Walker
from vastbas.enums import CaseRole, DeviationStatus
from vastbas.models import Deviation, Person
from vastbas.services import accounts
from vastbas.services.deviations import register_deviation

LoginAs = Callable[..., None]
TEXT = "Socialtjänsten fick ingen kallelse till nätverksmöte 1."
SEEN = re.compile(r'name="seen"[^>]*value="([0-9a-f]+)"')


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings (before the build)."""
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def reported(db: Session) -> tuple[Walker, int, str]:
    """A case in offer with one deviation reported by its K1; and K1's username."""
    walker = case_at(db, municipality(db), "offer")
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    deviation = walker.call(register_deviation, actor=k1, description=TEXT)
    username = db.scalar(sa.select(Person.username).where(Person.id == k1))
    db.commit()
    assert username is not None
    return walker, deviation.id, username


def form_of(client: FlaskClient, url: str) -> dict[str, str]:
    html = client.get(url).get_data(as_text=True)
    token, seen = CSRF_FIELD.search(html), SEEN.search(html)
    assert token and seen, html
    return {"csrf_token": token.group(1), "seen": seen.group(1)}


def status_of(db: Session, deviation_id: int) -> tuple[DeviationStatus, str | None]:
    db.expire_all()
    deviation = db.get(Deviation, deviation_id)
    assert deviation is not None
    db.commit()
    return deviation.status, deviation.follow_up


def test_the_samordnare_follows_up_from_the_list_and_the_case_page_shows_the_status(
    client: FlaskClient, login_as: LoginAs, db: Session, reported: tuple[Walker, int, str]
) -> None:
    walker, deviation_id, _ = reported
    login_as("samordnare")
    listing = client.get("/avvikelser").get_data(as_text=True)
    assert 'href="/avvikelser"' in listing  # in the menu
    assert TEXT in listing and walker.reference in listing and "Ny" in listing
    url = f"/avvikelser/folj-upp?avvikelse={deviation_id}"
    assert f'href="{url}"' in listing.replace("&amp;", "&")
    assert client.get(url).status_code == 200  # the form opens as a page, not a refusal

    answer = client.post(
        url,
        data={**form_of(client, url), "status": "utreds", "follow_up": "Kontakt tagen med IFO."},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/avvikelser"
    assert status_of(db, deviation_id) == (DeviationStatus.UTREDS, "Kontakt tagen med IFO.")

    case_page = client.get(f"/cases/{walker.reference}").get_data(as_text=True)
    assert "Status: Utreds" in case_page and "Kontakt tagen med IFO." in case_page
    done = client.get("/avvikelser?status=atgardad").get_data(as_text=True)
    assert TEXT not in done
    assert client.get("/avvikelser/folj-upp").status_code == 400
    assert client.get("/avvikelser/folj-upp?avvikelse=99999999999999999999").status_code == 404


def test_atgardad_without_a_follow_up_is_sent_back_with_the_reason_at_the_field(
    client: FlaskClient, login_as: LoginAs, db: Session, reported: tuple[Walker, int, str]
) -> None:
    _, deviation_id, _ = reported
    login_as("samordnare")
    url = f"/avvikelser/folj-upp?avvikelse={deviation_id}"
    answer = client.post(url, data={**form_of(client, url), "status": "atgardad", "follow_up": ""})
    assert answer.status_code == 400
    assert 'id="follow_up-error"' in answer.get_data(as_text=True)
    assert status_of(db, deviation_id) == (DeviationStatus.NY, None)


def test_a_second_samordnare_tab_with_an_old_form_gets_a_conflict(
    client: FlaskClient, login_as: LoginAs, db: Session, reported: tuple[Walker, int, str]
) -> None:
    _, deviation_id, _ = reported
    login_as("samordnare")
    url = f"/avvikelser/folj-upp?avvikelse={deviation_id}"
    first, second = form_of(client, url), form_of(client, url)
    client.post(url, data={**first, "status": "utreds", "follow_up": "Först."})
    answer = client.post(url, data={**second, "status": "atgardad", "follow_up": "Sedan."})
    assert answer.status_code == 409
    assert "ändrats av någon annan" in answer.get_data(as_text=True)
    assert status_of(db, deviation_id) == (DeviationStatus.UTREDS, "Först.")


def test_a_koordinator_on_the_case_can_report_but_not_follow_up(
    client: FlaskClient, login_as: LoginAs, db: Session, reported: tuple[Walker, int, str]
) -> None:
    _, deviation_id, k1 = reported
    login_as(k1)
    assert 'href="/avvikelser"' not in client.get("/").get_data(as_text=True)
    assert client.get("/avvikelser").status_code == 403
    url = f"/avvikelser/folj-upp?avvikelse={deviation_id}"
    assert client.get(url).status_code == 403
    token = CSRF_FIELD.search(client.get("/").get_data(as_text=True))
    assert token
    answer = client.post(
        url, data={"csrf_token": token.group(1), "status": "atgardad", "follow_up": "Klart."}
    )
    assert answer.status_code == 403
    assert status_of(db, deviation_id) == (DeviationStatus.NY, None)


def test_the_anonymous_are_sent_to_the_login(client: FlaskClient) -> None:
    answer = client.get("/avvikelser")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
