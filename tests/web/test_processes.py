"""Several processes side by side: pick one for a new request, filter the lists by it, and
see a child's other cases on the case page — only those the user may see.

The second process is a renamed copy of vastbas.yaml ("Testrutin", prefix TR; see
tests/second_workflow.py), so these tests do not wait for any other workflow file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from second_workflow import OTHER, OTHER_TITLE, two_workflows
from sqlalchemy.orm import Session

from vastbas import demo
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.models import Case, Person
from vastbas.services import accounts, cases
from web import create_app

LoginAs = Callable[..., None]
LINKED = "Andra ärenden för samma barn"


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yield from two_workflows(monkeypatch, tmp_path)


@pytest.fixture
def app(engine: sa.Engine, processes: Path) -> Flask:
    """The app built after the registry holds both processes."""
    return create_app({"TESTING": True, "ENGINE": engine, "SECRET_KEY": "test-secret"})


@pytest.fixture
def people(db: Session, processes: Path) -> demo.People:
    return municipality(db)


def html_of(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


def username(db: Session, person_id: int) -> str:
    person = db.get(Person, person_id)
    assert person is not None and person.username
    return person.username


def other_case_for_child(db: Session, people: demo.People, n: int, unit: int) -> str:
    """A request in the second process for fictional child n, at another unit."""
    case = cases.register_request(
        db,
        actor=people.samordnare.id,
        child_name="Barn Barnsson",
        child_personnummer=demo.child_personnummer(n),
        unit_id=people.units[unit].id,
        initiator_kind=InitiatorKind.BUP,
        consent_given_by="Vårdnadshavare",
        workflow=OTHER,
    )
    return case.reference


def new_request(client: FlaskClient, unit_id: int, **changes: str) -> dict[str, object]:
    return {
        "csrf_token": csrf_token(client, "/cases/new"),
        "initiator_kind": "skola",
        "child_name": "Testbarn Testsson",
        "child_personnummer": demo.child_personnummer(77),
        "unit_id": str(unit_id),
        **changes,
    }


def test_a_new_request_starts_in_the_process_the_user_picks(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    unit_id = people.units[0].id
    db.commit()
    login_as("samordnare")
    form = html_of(client, "/cases/new")
    options = re.findall(r'<option (selected )?value="([a-z]+)">([^<]+)</option>', form)
    assert [(value, title) for _, value, title in options[:2]] == [
        (OTHER, OTHER_TITLE),
        ("vastbas", "Västbas"),
    ]
    assert options[1][0]  # Västbas is the default

    answer = client.post("/cases/new", data=new_request(client, unit_id, workflow=OTHER))
    assert answer.status_code == 302
    reference = answer.headers["Location"].rsplit("/", 1)[-1]
    assert reference.startswith("TR-")
    assert "Process: Testrutin" in html_of(client, answer.headers["Location"])

    unknown = client.post("/cases/new", data=new_request(client, unit_id, workflow="nope"))
    assert unknown.status_code == 400
    assert 'id="workflow-error">Välj en process i listan.</p>' in unknown.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    db.commit()


def test_the_lists_show_each_cases_process_and_filter_by_it(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    vastbas = case_at(db, people, "offer").reference
    other = other_case_for_child(db, people, 2, unit=1)
    db.commit()
    login_as("samordnare")

    listing = html_of(client, "/cases")
    assert re.search(rf">{vastbas}</a></td>\s*<td>Västbas</td>", listing)
    assert re.search(rf">{other}</a></td>\s*<td>{OTHER_TITLE}</td>", listing)
    only_other = html_of(client, f"/cases?process={OTHER}")
    assert other in only_other and vastbas not in only_other

    # Mina ärenden: the samordnare owns the new request (step 1) in the second process.
    start = html_of(client, "/")
    assert re.search(rf">{other}</a></td>\s*<td>{OTHER_TITLE}</td>", start)
    assert other not in html_of(client, "/?process=vastbas")


def test_each_case_page_links_the_childs_other_case(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    vastbas = case_at(db, people, "offer", n=5).reference
    other = other_case_for_child(db, people, 5, unit=1)
    case_at(db, people, "request", n=6)  # another child: never linked
    db.commit()
    login_as("samordnare")

    page = html_of(client, f"/cases/{vastbas}")
    assert LINKED in page
    assert f'href="/cases/{other}">{other}</a> – {OTHER_TITLE}, Förfrågan' in page
    back = html_of(client, f"/cases/{other}")
    assert f'href="/cases/{vastbas}">{vastbas}</a> – Västbas, Erbjudande till familjen' in back


def test_a_case_the_user_cannot_see_is_neither_linked_nor_hinted_at(
    db: Session, people: demo.People, client: FlaskClient, login_as: LoginAs
) -> None:
    walker = case_at(db, people, "offer", n=7, unit=0)
    other = other_case_for_child(db, people, 7, unit=1)
    koordinator = username(db, walker.holder(CaseRole.KOORDINATOR_1))
    db.commit()
    login_as(koordinator)

    page = html_of(client, f"/cases/{walker.reference}")
    assert LINKED not in page and other not in page
    html_of(client, f"/cases/{other}", status=404)
