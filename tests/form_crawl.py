"""Every form of the app, found as a user finds it: a crawl of the pages, parsed.

`build_world` makes the demo municipality with one case in every step, and `crawl` follows
the links that the people on those cases (and the samordnare, the admin, a visitor) see,
parsing every form that posts, until some form posts to each POST route of the app.
`post` sends a form as its user would, with the CSRF token of their session.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from builders import case_at, municipality
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from vastbas import demo, demo_sip
from vastbas.enums import CaseRole, EvaluationDecision
from vastbas.models import Case
from vastbas.services import deviations, tokens

STEPS = [*demo.PATH, "new_interventions"]
# Routes that take no form (the JSON API), and downloads, which hold no forms.
NOT_FORMS = ("/api/", "/static/")
NOT_CRAWLED = re.compile(r".*\.(pdf|csv|ics)")
# Posted last: these close cases, change accounts or end the session.
LAST = ("cases.fire_transition", "admin.", "auth.")
# Who does the work of a case, in either process (besides its rektor and the samordnare).
ACTING = (
    CaseRole.KOORDINATOR_1,
    CaseRole.KONTAKTPERSON,
    CaseRole.SAMMANKALLANDE,
    CaseRole.PLAN_SAMORDNARE,
)
# Stands for the case's version at the moment of posting, so that changes can succeed.
CURRENT = "<the case's current version>"


@dataclass
class Field:
    kind: str  # an input type, "textarea", "select", "multi" or "radio"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)


class Page(HTMLParser):
    """The forms, links, error messages and visible text of an HTML page."""

    def __init__(self, html: str, url: str) -> None:
        super().__init__()
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._in_title = False
        self._error_depth: list[int] = []
        self._depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag not in ("input", "br", "img", "meta", "link", "hr"):
            self._depth += 1
            if "error" in a.get("class", "").split() or a.get("role") == "alert":
                self._error_depth.append(self._depth)
                self.errors.append("")
        self._in_title = tag == "title"
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            action = a.get("action") or self.url
            self._form = Form(action, a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and "name" in a:
            self._field(tag, a)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")

    def _field(self, tag: str, a: dict[str, str]) -> None:
        assert self._form is not None
        kind = "textarea" if tag in ("textarea", "select") else a.get("type", "text")
        if tag == "select":
            kind = "multi" if "multiple" in a else "select"
        if tag == "button" or kind in ("radio", "checkbox"):
            kind = {"button": "radio", "checkbox": "multi"}.get(
                kind if tag != "button" else tag, kind
            )
            known = self._form.fields.setdefault(a["name"], Field(kind))
            known.options.append(a.get("value", "y" if tag == "input" else ""))
            if "checked" in a:
                known.value = a.get("value", "y")
            return
        spec = self._form.fields.setdefault(a["name"], Field(kind, a.get("value", "")))
        if tag == "select":
            self._select = spec
        elif tag == "textarea":
            self._textarea = spec

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("input", "br", "img", "meta", "link", "hr"):
            if self._error_depth and self._error_depth[-1] == self._depth:
                self._error_depth.pop()
            self._depth -= 1
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
            return
        if self._in_title:
            self.title += data
        self.text.append(data)
        if self._error_depth:
            self.errors[-1] += data


def read(answer: TestResponse, url: str) -> Page:
    return Page(answer.get_data(as_text=True), url)


@dataclass
class Spec:
    """A form as a user met it: who, where it posts, its fields with the page's values."""

    user: str
    endpoint: str
    action: str
    fields: dict[str, Field]
    reference: str | None


@dataclass
class World:
    app: Flask
    db: Session
    users: dict[str, str | None]  # who -> username (None: not logged in)
    references: list[str]
    ids: dict[str, dict[str, list[int]]]  # reference -> url argument -> ids of that case
    people_on: dict[str, list[str]]  # reference -> who has a role on it (samordnare last)
    specs: dict[str, list[Spec]] = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, user: str) -> FlaskClient:
        """The user's browser, logged in on first use, with its CSRF token kept."""
        if user not in self.clients:
            client = self.app.test_client()
            username = self.users[user]
            if username is not None:
                data = {"csrf_token": csrf_token(client), "username": username, "password": "demo"}
                assert client.post("/login", data=data).status_code == 302, username
            self.clients[user] = client
            self.tokens[user] = csrf_token(client)
        return self.clients[user]


def build_world(db: Session, app: Flask) -> World:
    """The cases and people (`cases_world`), and the forms a crawl finds on their pages."""
    world, starts = cases_world(db, app)
    world.specs = crawl(world, starts)
    return world


def cases_world(db: Session, app: Flask) -> tuple[World, list[tuple[str, str]]]:
    """A case in every step of both processes, who is on each, and where they start reading."""
    people = municipality(db)
    walkers: list[demo.Walker] = [
        case_at(db, people, step, n=i + 1, unit=i % len(demo.SCHOOLS))
        for i, step in enumerate(STEPS)
    ]
    reported = walkers[-1]  # its koordinator reports an avvikelse, below
    for i, step in enumerate(demo_sip.PATH):  # the second process, one case in each step
        sip = demo_sip.register(db, people, 30 + i, people.units[i % len(demo.SCHOOLS)])
        walkers.append(demo_sip.SipWalker(db, people, sip.reference))
        demo_sip.walk_to(walkers[-1], step)
    # And a closed case, which only the samordnare still sees (its archive, reopening).
    walkers.append(case_at(db, people, "evaluation", n=len(STEPS) + 1))
    walkers[-1].evaluate(EvaluationDecision.CLOSE)
    users: dict[str, str | None] = {"anonymous": None, "samordnare": "samordnare"}
    users["admin"] = "admin"
    plain = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.arguments
        and not NOT_CRAWLED.fullmatch(rule.rule)
        and not rule.rule.startswith(NOT_FORMS)
        and rule.endpoint != "health"
    ]
    starts = [("anonymous", "/login"), *(("samordnare", path) for path in plain)]
    starts += [("admin", path) for path in plain if path.startswith("/admin")]
    ids: dict[str, dict[str, list[int]]] = {}
    people_on: dict[str, list[str]] = {}
    for walker in walkers:
        case = walker.case
        holders = [a.person for a in map(case.current, ACTING) if a is not None]
        if case.unit is not None and case.unit.rektor is not None:
            holders.append(case.unit.rektor)
        on_case = [*(p.username for p in holders), "samordnare"]
        people_on[case.reference] = on_case
        for username in on_case:
            users[username] = username
            starts.append((username, f"/cases/{case.reference}"))
        plan = case.current_plan
        ids[case.reference] = {
            "meeting_id": [m.id for m in case.meetings],
            "entry_id": [e.id for e in case.network],
            "action_id": [a.id for a in plan.actions] if plan else [],
        }
    # A key on Mina nycklar and a reported avvikelse, so that their forms are there.
    tokens.create_token(db, actor=people.samordnare.id, name="Testnyckel", kind="api")
    k1 = reported.holder(CaseRole.KOORDINATOR_1)
    reported.call(deviations.register_deviation, actor=k1, description="Kallelsen kom sent.")
    db.commit()
    return World(app, db, users, [w.reference for w in walkers], ids, people_on), starts


def crawl(world: World, starts: list[tuple[str, str]]) -> dict[str, list[Spec]]:
    """Follow the links each user sees, depth first, until a form posts to every route."""
    adapter = world.app.url_map.bind("localhost")
    wanted = set(post_rules(world.app))
    stack = [(user, href, True) for user, href in reversed(starts)]
    visited: set[tuple[str, ...]] = set()
    seen: Counter[tuple[str, str | None]] = Counter()
    specs: dict[str, list[Spec]] = defaultdict(list)
    shapes: set[tuple[Any, ...]] = set()
    while stack and not wanted <= set(specs):
        user, href, start = stack.pop()
        try:
            endpoint, args = adapter.match(urlsplit(href).path, method="GET")
        except HTTPException:  # a link to something that is not a page
            continue
        if endpoint == "cases.case_page" and not start:
            continue  # the crawl starts at each case page, as each person on the case
        # Each case page as each user (the forms differ by step and role); a page of a case
        # on up to three cases (a list of rows with a form each may be empty on one).
        key = (user, href) if endpoint == "cases.case_page" else (href,)
        kind = (endpoint, args.get("trigger"))
        if key in visited or (user, *key) in visited or endpoint == "static":
            continue
        if endpoint != "cases.case_page" and seen[kind] >= (3 if "reference" in args else 1):
            continue
        answer = world.client(user).get(href)
        # A page someone else may open is tried again as them.
        visited.add(key if answer.status_code == 200 else (user, *key))
        seen[kind] += answer.status_code == 200
        if answer.status_code >= 500 or answer.mimetype != "text/html":
            continue
        page = read(answer, href)
        for form in (f for f in page.forms if f.method == "post"):
            target, target_args = adapter.match(urlsplit(form.action).path, method="POST")
            shape = (target, target_args.get("trigger"), tuple(sorted(form.fields)))
            if shape not in shapes:
                shapes.add(shape)
                reference = target_args.get("reference")
                specs[target].append(Spec(user, target, form.action, form.fields, reference))
        links = [link for link in page.links if not NOT_CRAWLED.fullmatch(urlsplit(link).path)]
        stack.extend((user, link, False) for link in reversed(links))
    return specs


def post_rules(app: Flask) -> list[str]:
    """Every endpoint that takes a form, in the order to attack them (LAST at the end)."""
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ()) and not rule.rule.startswith(NOT_FORMS)
    }
    return sorted(
        endpoints, key=lambda e: (next((i for i, p in enumerate(LAST) if e.startswith(p)), -1), e)
    )


def version_of(db: Session, reference: str | None) -> int | None:
    if reference is None:
        return None
    db.expire_all()
    version = db.scalar(sa.select(Case.version).where(Case.reference == reference))
    db.commit()
    return version


def valid_fill(spec: Spec) -> dict[str, list[str]]:
    """The form as a careful user would send it: the page's values, empty ones filled in."""
    data: dict[str, list[str]] = {}
    for name, spec_field in spec.fields.items():
        value = spec_field.value.strip() and spec_field.value  # a bare newline is empty
        if name == "version":
            value = CURRENT
        elif not value and spec_field.kind in ("select", "radio", "multi"):
            value = next((o for o in spec_field.options if o), "")
        elif not value and spec_field.kind in ("text", "textarea"):
            value = "Text från testet"
        elif not value and spec_field.kind == "date":
            value = "2026-03-16"
        elif not value and spec_field.kind == "datetime-local":
            value = "2026-03-16T14:00"
        elif not value and spec_field.kind == "password":
            value = "ett långt lösenord"
        data[name] = [value]
    return data


def post(
    world: World, spec: Spec, data: dict[str, list[str]], url: str | None = None
) -> TestResponse:
    """Send the form as its user; CURRENT becomes the case's version, the CSRF token theirs."""
    client = world.client(spec.user)
    version = version_of(world.db, spec.reference)
    pairs = [
        (name, str(version) if value == CURRENT else value)
        for name, values in data.items()
        for value in values
    ]
    pairs.append(("csrf_token", world.tokens[spec.user]))
    answer = client.post(url or spec.action, data=MultiDict(pairs))
    if spec.endpoint == "auth.logout":
        world.clients.pop(spec.user)  # logged out: the next request logs in again
    return answer
