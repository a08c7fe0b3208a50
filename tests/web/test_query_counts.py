"""The pages cost the same number of SQL statements with 10 and with 200 cases (no N+1).

One case is walked through the services to the evaluation, so its page has every part
(meetings with participants, network, plan versions, follow-ups); the others are cloned
with bulk inserts, all with the same koordinator, open deadlines and a notification, so
they land on her start page and on the samordnare's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.models import Assignment, Case, CaseDeadline, Event, Notification
from vastbas.services import accounts

PAGES = ("/", "/cases", "/cases/{reference}")


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings: logins here test queries."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


def clone_cases(db: Session, probe: Case, k1: int, k2: int, first: int, count: int) -> None:
    """Add `count` open cases beside the probe in a few bulk inserts, none through services."""
    now = clock.now()
    today = local_date(now)
    references = [f"VB-2099-{n:04d}" for n in range(first, first + count)]
    db.execute(
        sa.insert(Case),
        [
            {
                "reference": reference,
                "workflow": "vastbas",
                "state": "interventions",
                "period": 1,
                "stage_seq": 7,
                "version": 1,
                "child_name": f"Klon {n}",
                "child_personnummer": demo.child_personnummer(1000 + n),
                "unit_id": probe.unit_id,
                "initiator_kind": InitiatorKind.SKOLA,
                "background": "",
                "registered_by_id": probe.registered_by_id,
                "created_at": now,
                "state_entered_at": now,
                "last_activity_at": now,
            }
            for n, reference in enumerate(references, start=first)
        ],
    )
    ids = db.scalars(sa.select(Case.id).where(Case.reference.in_(references))).all()
    db.execute(
        sa.insert(Assignment),
        [
            {"case_id": case_id, "role": role, "person_id": person, "started_at": now}
            | {"appointed_by_id": probe.registered_by_id}
            for case_id in ids
            for role, person in ((CaseRole.KOORDINATOR_1, k1), (CaseRole.KOORDINATOR_2, k2))
        ],
    )
    db.execute(
        sa.insert(CaseDeadline),
        [
            {"case_id": case_id, "name": name, "period": 1, "due_on": today + timedelta(days=days)}
            | {"started_at": now}
            for case_id in ids
            for name, days in (("eht_raise", -2), ("evaluation", 3))
        ],
    )
    db.execute(
        sa.insert(Event),
        [
            {"case_id": case_id, "actor_id": k1, "at": now, "action": "register"}
            | {"before": {}, "after": {}}
            for case_id in ids
        ],
    )
    db.execute(
        sa.insert(Notification),
        [
            {
                "dedupe_key": f"test:{case_id}",
                "message_id": f"<test.{case_id}@vastbas.example>",
                "kind": "reminder",
                "case_id": case_id,
                "recipient_id": k1,
                "subject": "Påminnelse",
                "body_text": "",
                "body_html": "",
                "created_at": now,
                "status": "none",
            }
            for case_id in ids
        ],
    )
    db.commit()


@contextmanager
def counted(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def statements_per_page(app: Flask, clients: dict[str, FlaskClient], reference: str) -> dict:
    """How many statements each page costs each user (after one warm-up visit)."""
    engine = app.extensions["vastbas.engine"]
    found = {}
    for who, client in clients.items():
        for page in PAGES:
            path = page.format(reference=reference)
            assert client.get(path).status_code == 200, (who, path)
            with counted(engine) as statements:
                assert client.get(path).status_code == 200
            found[who, page] = len(statements)
    return found


def logged_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": "demo"}
    )
    assert answer.status_code == 302
    return client


def test_the_pages_cost_the_same_with_10_and_with_200_cases(db: Session, app: Flask) -> None:
    people = municipality(db)
    walker = case_at(db, people, "evaluation")
    probe = walker.case
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    k2 = walker.holder(CaseRole.KOORDINATOR_2)
    k1_name = next(k.username for k in people.koordinatorer if k.id == k1)
    db.commit()
    clients = {"koordinator": logged_in(app, k1_name), "samordnare": logged_in(app, "samordnare")}

    clone_cases(db, probe, k1, k2, first=1, count=9)
    with_10 = statements_per_page(app, clients, walker.reference)
    clone_cases(db, probe, k1, k2, first=10, count=190)
    assert db.scalar(sa.select(sa.func.count()).select_from(Case)) == 200
    db.commit()
    with_200 = statements_per_page(app, clients, walker.reference)

    assert with_200 == with_10
    assert max(with_10.values()) < 40, with_10
    start = clients["koordinator"].get("/").get_data(as_text=True)
    assert start.count("VB-2099-") >= 200
