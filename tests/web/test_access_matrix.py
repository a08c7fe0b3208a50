"""Who may reach which URL: every route of the app, as every kind of user.

The matrix walks `app.url_map`, so a new route is checked the day it is added: a route
with a parameter the resolver below does not know fails the test until it is taught.
One case, in network_meeting_2 with its plan saved and its kontaktperson appointed,
is built per test; each test loops over all routes for one role.

The JSON API (/api/v1) takes no session: each role calls it with its own API token, and
must see exactly what the role sees in the pages. The calendar feed is called with the
role's own feed secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.enums import CaseRole
from vastbas.models import Case, Event, Person
from vastbas.services import accounts, assignments, plans, tokens

LoginAs = Callable[..., None]

SKIPPED_ENDPOINTS = {"static", "health"}
ROLES = [
    "anonymous",
    "samordnare",
    "k1",
    "koordinator_not_on_case",
    "rektor_of_unit",
    "rektor_of_other_unit",
    "kontaktperson",
    "admin",
]
# Admin is a seeing role (SEEING_ROLES in vastbas/services/base.py), so it counts as one
# with a role on every case; these two have none on this case.
OUTSIDERS = {"koordinator_not_on_case", "rektor_of_other_unit"}

# The cells that matter most, exactly: (role, endpoint) -> status.
EXPECTED = {
    ("samordnare", "cases.case_page"): 200,
    ("k1", "cases.case_page"): 200,
    ("k1", "records.plan"): 200,
    ("rektor_of_unit", "cases.case_page"): 200,
    ("rektor_of_unit", "assignments.kontaktperson"): 200,
    ("kontaktperson", "cases.case_page"): 200,
    ("koordinator_not_on_case", "cases.case_page"): 404,
    ("rektor_of_other_unit", "cases.case_page"): 404,
    ("koordinator_not_on_case", "records.plan"): 404,
    ("samordnare", "admin.index"): 403,
    ("k1", "admin.index"): 403,
    ("rektor_of_unit", "admin.index"): 403,
    ("admin", "admin.index"): 200,
    ("admin", "admin.users"): 200,
    ("samordnare", "cases.case_list"): 200,
    ("anonymous", "auth.login"): 200,
}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings (before the build)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


@dataclass(frozen=True)
class World:
    """The one case and the usernames and ids the matrix needs."""

    reference: str
    child_name: str
    case_id: int
    meeting_id: int
    entry_id: int
    action_id: int
    unit_id: int
    pool_person_id: int
    users: dict[str, str | None]
    # Per role with a login: an API token and a calendar feed secret of its own.
    api_tokens: dict[str, str] = field(default_factory=dict)
    feed_secrets: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)


def username_of(db: Session, person_id: int) -> str:
    person = db.get(Person, person_id)
    assert person is not None and person.username is not None
    return person.username


@pytest.fixture
def world(db: Session) -> World:
    people = municipality(db)
    walker = case_at(db, people, "network_meeting_2")
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    # Do what the step does, short of leaving it: a plan and a kontaktperson.
    today = local_date(clock.now())
    walker.call(
        plans.save_plan,
        actor=k1,
        goals=["Barnet är i skolan minst fyra dagar i veckan."],
        actions=[plans.ActionInput("Anpassat schema", "Mentor", today)],
    )
    unit = walker.case.unit
    assert unit is not None and unit.rektor_id is not None
    walker.call(assignments.appoint_kontaktperson, unit.eht[0].id, actor=unit.rektor_id)
    case = walker.case
    on_case = {a.person_id for a in case.assignments}
    outsider = next(
        p for p in reversed(people.koordinatorer) if p.id not in on_case and p.unit_id != unit.id
    )
    other_unit = next(u for u in people.units if u.id != unit.id and u.rektor_id not in on_case)
    kontaktperson = case.current(CaseRole.KONTAKTPERSON)
    plan = case.current_plan
    assert plan is not None and plan.actions and case.meetings and case.network
    world = World(
        reference=case.reference,
        child_name=case.child_name,
        case_id=case.id,
        meeting_id=case.meetings[0].id,
        entry_id=next(e.id for e in case.network if e.removed_at is None),
        action_id=plan.actions[0].id,
        unit_id=unit.id,
        pool_person_id=outsider.id,
        users={
            "anonymous": None,
            "samordnare": "samordnare",
            "k1": username_of(db, k1),
            "koordinator_not_on_case": outsider.username,
            "rektor_of_unit": username_of(db, unit.rektor_id),
            "rektor_of_other_unit": username_of(db, other_unit.rektor_id),
            "kontaktperson": (username_of(db, kontaktperson.person_id) if kontaktperson else None),
            "admin": "admin",
        },
    )
    for role, username in world.users.items():
        if username is not None:
            owner = db.scalar(sa.select(Person.id).where(Person.username == username))
            assert owner is not None
            api = tokens.create_token(db, actor=owner, name="Matris", kind="api")
            feed = tokens.create_token(db, actor=owner, name="Matris", kind="calendar")
            world.api_tokens[role], world.token_ids[role] = api.secret, api.id
            world.feed_secrets[role] = feed.secret
    db.commit()
    return world


def routes(app: Flask, method: str) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint not in SKIPPED_ENDPOINTS and method in (rule.methods or ())
        ),
        key=lambda rule: (rule.rule, rule.endpoint),
    )


def url_for_rule(rule: Rule, world: World, role: str = "samordnare") -> str:
    """The rule's URL for the world's case; an unknown parameter fails the test."""
    known: dict[str, Any] = {
        "secret": world.feed_secrets.get(role, "vbcal_okand"),
        "token_id": world.token_ids["samordnare"],
        "reference": world.reference,
        "meeting_id": world.meeting_id,
        "entry_id": world.entry_id,
        "action_id": world.action_id,
        "unit_id": world.unit_id,
        "person_id": world.pool_person_id,
        "trigger": "complete_network_meeting_2",
    }
    unknown = sorted(set(rule.arguments) - set(known))
    if unknown:
        pytest.fail(
            f"route {rule.endpoint} ({rule.rule}) has parameters {unknown} that the access "
            "matrix cannot fill: teach url_for_rule in tests/web/test_access_matrix.py",
            pytrace=False,
        )
    built = rule.build({name: known[name] for name in rule.arguments}, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def is_case_url(rule: Rule) -> bool:
    return "reference" in rule.arguments


def is_admin_url(rule: Rule) -> bool:
    return rule.endpoint.startswith("admin.")


def is_api_url(rule: Rule) -> bool:
    return rule.endpoint.startswith("api.")


def bearer(world: World, role: str) -> dict[str, str]:
    """The role's API token as the API wants it; anonymous has none."""
    token = world.api_tokens.get(role)
    return {"Authorization": f"Bearer {token}"} if token else {}


def snapshot(db: Session, world: World) -> tuple[int, int]:
    db.expire_all()
    version = db.scalar(sa.select(Case.version).where(Case.id == world.case_id))
    # A token's use is recorded (services/tokens.py) even when its request is refused.
    events = db.scalar(
        sa.select(sa.func.count()).select_from(Event).where(Event.action != "token_used")
    )
    db.commit()
    assert version is not None and events is not None
    return version, events


def allowed(role: str, rule: Rule) -> set[int]:
    """The statuses a GET may answer for this role; the exact cells come from EXPECTED."""
    if (role, rule.endpoint) in EXPECTED:
        return {EXPECTED[role, rule.endpoint]}
    if rule.endpoint in {"api.openapi_document", "feed.calendar"}:
        return {404} if rule.endpoint == "feed.calendar" and role == "anonymous" else {200}
    if is_api_url(rule):
        if role == "anonymous":
            return {401}
        return {404} if is_case_url(rule) and role in OUTSIDERS else {200}
    if role == "anonymous":
        return {200} if rule.endpoint == "auth.login" else {302}
    if is_admin_url(rule):
        return {200} if role == "admin" else {403}
    if is_case_url(rule) and role in OUTSIDERS:
        return {404}
    statuses = {200, 400, 403}
    if rule.endpoint in {"cases.confirm_transition", "auth.login"}:
        statuses.add(302)  # not available to this user now / already logged in: back to a page
    return statuses


# --- GET: every route, every role --------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_get_route_answers_each_role_as_allowed(
    role: str, world: World, app: Flask, client: FlaskClient, login_as: LoginAs
) -> None:
    username = world.users[role]
    if role != "anonymous":
        if username is None:
            pytest.skip(f"no {role} on the case")
        login_as(username)
    wrong: list[str] = []
    for rule in routes(app, "GET"):
        url = url_for_rule(rule, world, role)
        answer = client.get(url, headers=bearer(world, role) if is_api_url(rule) else {})
        status = answer.status_code
        body = answer.get_data().decode(errors="replace")  # PDFs are not text
        problem = None
        if status not in allowed(role, rule):
            problem = f"status {status}, allowed {sorted(allowed(role, rule))}"
        elif status == 302:
            target = answer.headers.get("Location", "")
            wants_login = role == "anonymous"
            if wants_login and not target.startswith("/login"):
                problem = f"redirects to {target}, not to /login"
            if not wants_login and target.startswith("/login"):
                problem = f"a logged-in user is sent to the login ({target})"
        # No case data for those who may not see the case: not the child's name anywhere,
        # and not the reference on a page they may see (a 404 may echo the URL's reference).
        if role == "anonymous" or role in OUTSIDERS:
            if world.child_name in body:
                problem = f"shows the child's name to the {role} (status {status})"
            elif status == 200 and world.reference in body:
                problem = f"lists the case's reference to the {role}"
        if problem:
            wrong.append(f"{rule.endpoint} GET {url}: {problem}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# --- POST: CSRF first, then no case for an outsider ----------------------------------------


def test_every_post_route_refuses_a_post_without_csrf_token(
    world: World, db: Session, app: Flask, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("samordnare")
    before = snapshot(db, world)
    wrong = []
    for rule in routes(app, "POST"):
        url = url_for_rule(rule, world)
        status = client.post(url, data={"version": str(before[0])}).status_code
        # The API ignores the session cookie: without its token it is a 401 (and no CSRF).
        wanted = 401 if is_api_url(rule) else 400
        if status != wanted:
            wrong.append(f"{rule.endpoint} POST {url}: status {status}, wanted {wanted}")
    assert not wrong, "\n".join(wrong)
    assert snapshot(db, world) == before


@pytest.mark.parametrize("role", sorted(OUTSIDERS))
def test_every_case_post_route_is_a_404_for_someone_without_a_role(
    role: str, world: World, db: Session, app: Flask, client: FlaskClient, login_as: LoginAs
) -> None:
    username = world.users[role]
    assert username is not None
    login_as(username)
    token = csrf_token(client, "/")
    before = snapshot(db, world)
    wrong = []
    case_rules = [rule for rule in routes(app, "POST") if is_case_url(rule)]
    assert case_rules
    for rule in case_rules:
        url = url_for_rule(rule, world)
        if is_api_url(rule):
            answer = client.post(url, json={"version": before[0]}, headers=bearer(world, role))
        else:
            answer = client.post(url, data={"csrf_token": token, "version": str(before[0])})
        if answer.status_code != 404:
            wrong.append(f"{rule.endpoint} POST {url}: status {answer.status_code}, wanted 404")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
    assert snapshot(db, world) == before


# --- The API sees what the pages see ---------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_api_shows_each_role_the_case_exactly_as_the_pages_do(
    role: str, world: World, client: FlaskClient, login_as: LoginAs
) -> None:
    username = world.users[role]
    if role != "anonymous":
        if username is None:
            pytest.skip(f"no {role} on the case")
        login_as(username)
    headers = bearer(world, role)

    page = client.get(f"/cases/{world.reference}").status_code
    api = client.get(f"/api/v1/cases/{world.reference}", headers=headers).status_code
    case_link = f'href="/cases/{world.reference}"'
    listed_on_page = case_link in client.get(f"/cases?sok={world.reference}").get_data(as_text=True)
    listing = client.get(f"/api/v1/cases?search={world.reference}", headers=headers)

    # Anonymous: the pages send to the login, the API asks for a token.
    assert (page, api) in {(200, 200), (404, 404), (302, 401)}
    if role != "anonymous":
        listed_in_api = [row["reference"] for row in listing.get_json()["cases"]]
        assert listed_in_api == ([world.reference] if listed_on_page else [])
        assert listed_on_page == (page == 200)
