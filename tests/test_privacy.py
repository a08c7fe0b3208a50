"""Privacy: every read of a case is audited, and no log line or e-mail names a child.

The audit test enumerates the pages of a case from `app.url_map`, so a new page (a letter,
a PDF) is checked the day it is added. The walk carries a demo child's case through every
step in the web UI, served by werkzeug as `vastbas serve` does, with every logger at DEBUG,
then runs the reminders (sweep, digest, outbox) against a real SMTP server; nothing it
logs or sends may hold the child's name or personnummer, in any spelling.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import time, timedelta
from typing import Any
from urllib.parse import quote_plus, urlsplit

import pytest
import requests
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from flask import Flask
from form_crawl import Page, World, cases_world
from mailserver import MailServer
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from vastbas import clock, demo, workflow
from vastbas.calendar import local_date, local_datetime, local_to_utc, next_working_day
from vastbas.db import session_factory
from vastbas.digest import send_digests
from vastbas.enums import CaseRole
from vastbas.models import Case, Event, Person
from vastbas.queries.common import READ_ACTION
from vastbas.scheduler import drain_outbox
from vastbas.services import accounts
from vastbas.sweep import sweep

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)


# --- every read of a case is in the audit log ------------------------------------------------


def reads(db: Session, reference: str) -> list[tuple[int | None, dict[str, Any]]]:
    """Who read the case, in order, as the audit log has it."""
    db.expire_all()
    rows = db.execute(
        sa.select(Event.actor_id, Event.after)
        .join(Case, Case.id == Event.case_id)
        .where(Case.reference == reference, Event.action == READ_ACTION)
        .order_by(Event.id)
    ).all()
    db.commit()
    return [(row.actor_id, row.after) for row in rows]


def case_pages(app: Flask) -> list[str]:
    """Every page of a case: a GET route with a case reference (the API audits its own)."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "reference" in rule.arguments
        and "GET" in (rule.methods or ())
        and not rule.rule.startswith("/api/")
    )


def urls(world: World, rule: str, reference: str) -> list[str]:
    """The page's address for this case: with each of its ids, or each trigger, filled in."""
    ids = world.ids[reference]
    numbers = re.findall(r"<int:(\w+)>", rule)
    unknown = [n for n in numbers if all(n not in known for known in world.ids.values())]
    assert not unknown, f"{rule}: teach tests/form_crawl.py build_world the ids of {unknown}"
    if numbers and not all(ids.get(n) for n in numbers):
        return []
    values = {"reference": reference, **{n: ids[n][0] for n in numbers}}
    triggers = [""]
    if "<trigger>" in rule:
        triggers = [t.trigger for t in workflow.workflow_named("vastbas").transitions]
    return [
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m, t=trigger: str(values.get(m[1], t)), rule)
        for trigger in triggers
    ]


def person_id(db: Session, username: str) -> int:
    found = db.scalar(sa.select(Person.id).where(Person.username == username))
    assert found is not None
    return found


def read_once(db: Session, world: World, user: str, url: str, reference: str) -> TestResponse:
    """Open the page as the user: one read by them in the audit log if it opens, else none."""
    before = reads(db, reference)
    answer = world.client(user).get(url)
    new = reads(db, reference)[len(before) :]
    expected = [person_id(db, user)] if answer.status_code == 200 else []
    # (A document's read also names the document; that is the only difference.)
    assert [actor for actor, _ in new] == expected, (
        f"{user} GET {url} ({answer.status_code}): {new}"
    )
    return answer


@pytest.mark.parametrize("backend", ["sqlite"])  # the hook is the same SQL on both
def test_every_page_of_a_case_that_is_read_is_in_the_audit_log(db: Session, app: Flask) -> None:
    """Each case page as each person on the case, then every page it links to; a page no
    link leads to is tried with each case and person until it opens."""
    world, _ = cases_world(db, app)
    adapter = app.url_map.bind("localhost")
    wanted, opened = set(case_pages(app)), set()
    for reference in world.references:
        for user in world.people_on[reference]:
            answer = read_once(db, world, user, f"/cases/{reference}", reference)
            opened.add("/cases/<reference>")
            for link in Page(answer.get_data(as_text=True), "").links:
                rule, _ = adapter.match(urlsplit(link).path, method="GET", return_rule=True)
                new = rule.rule in wanted - opened
                if new and read_once(db, world, user, link, reference).status_code == 200:
                    opened.add(rule.rule)
    for rule in sorted(wanted - opened):
        tries = (
            (user, url, reference)
            for reference in world.references
            for user in world.people_on[reference]
            for url in urls(world, rule, reference)
        )
        for user, url, reference in tries:
            if read_once(db, world, user, url, reference).status_code == 200:
                opened.add(rule)
                break
    assert opened == wanted, f"nobody could open {wanted - opened}; teach this test who can"
    # Someone without a role on the case gets a 404, and no read is recorded.
    reference = world.references[0]
    on_case = world.people_on[reference]
    outsider = next(u for u in world.users if u.startswith("koordinator") and u not in on_case)
    assert read_once(db, world, outsider, f"/cases/{reference}", reference).status_code == 404


# --- a whole case, and its reminders, with every logger at DEBUG ----------------------------

# Demo children 1 and 2: no member of staff shares a name with them.
WALKED, BUILT = 1, 2
LOGGERS = ("", "sqlalchemy", "werkzeug", "apscheduler", "vastbas", "web")
FIRST = "<the first choice offered>"


def child(n: int) -> tuple[str, str]:
    """Fictional child n's name and personnummer, as the demo gives them."""
    return demo.child_name(n), demo.child_personnummer(n)


def secrets_of(n: int) -> re.Pattern[str]:
    """The child's first and last name (whole words) and personnummer in every spelling."""
    name, pnr = child(n)
    digits = re.sub(r"\D", "", pnr)
    numbers = {digits, digits[2:], f"{digits[:8]}-{digits[8:]}", f"{digits[2:8]}-{digits[8:]}"}
    names = "|".join(re.escape(part) for part in name.split())
    return re.compile(
        rf"\b(?:{names})\b|" + "|".join(map(re.escape, sorted(numbers))), re.IGNORECASE
    )


class Browser:
    """One person's browser against the live server: read pages, fill in and send forms."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.submit("/login", username=username, password=demo.DEMO_PASSWORD)

    def get(self, path: str) -> str:
        answer = self.http.get(self.base + path, allow_redirects=False, timeout=30)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code}"
        return answer.text

    def submit(self, page: str, to: str = "", **fields: Any) -> str:
        """Send the form on `page` whose address matches `to`; where it leads (a 302)."""
        forms = [f for f in Page(self.get(page), page).forms if f.method == "post"]
        form = next((f for f in forms if re.search(to, f.action) and f.action != "/logout"), None)
        assert form is not None, f"no form to {to!r} on {page}: {[f.action for f in forms]}"
        data = {n: [f.value] for n, f in form.fields.items() if f.kind not in ("radio", "multi")}
        for name, value in fields.items():
            name = name.replace("__", "-")
            chosen = next(o for o in form.fields[name].options if o) if value == FIRST else value
            data[name] = chosen if isinstance(chosen, list) else [chosen]
        answer = self.http.post(
            self.base + form.action, data=data, allow_redirects=False, timeout=30
        )
        assert answer.status_code == 302, (
            f"POST {form.action}: {answer.status_code}\n{answer.text[:3000]}"
        )
        return answer.headers["Location"]

    def fire(self, case: str, trigger: str, reason: str = "Målen är nådda.") -> None:
        """Move the case from its page, through the confirmation when there is one."""
        html = self.get(case)
        confirm = re.search(rf'href="([^"]*/transitions/{trigger}\?[^"]*)"', html)
        if confirm is None:
            missing = re.findall(r"<li>([^<]+)</li>", html.split('class="missing"', 1)[-1])[:5]
            assert f"/transitions/{trigger}" in html, f"{trigger} is not ready: {missing}"
            self.submit(case, rf"/transitions/{trigger}$")
            return
        page = confirm.group(1).replace("&amp;", "&")
        self.submit(page, **({"reason": reason} if 'name="reason"' in self.get(page) else {}))

    def link(self, page: str, pattern: str) -> str:
        return next(link for link in Page(self.get(page), page).links if re.search(pattern, link))


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The app served by werkzeug in a thread, as `vastbas serve` serves it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def username(db: Session, reference: str, role: CaseRole) -> str:
    db.expire_all()
    case = db.scalars(sa.select(Case).where(Case.reference == reference)).one()
    holder = case.current(role)
    assert holder is not None and holder.person.username is not None, role
    name = holder.person.username
    db.commit()
    return name


def stamp(hours_ago: float) -> str:
    moment = local_datetime(clock.now()) - timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M")


def walk(base: str, db: Session, unit_id: int, remind: Any) -> str:
    """Demo child WALKED's case from request to closing, as its people do it in the UI."""
    name, pnr = child(WALKED)
    sam = Browser(base, "samordnare")
    where = sam.submit(
        "/cases/new",
        initiator_kind="skola",
        initiator_name="Mentor",
        child_name=name,
        child_personnummer=pnr,
        unit_id=str(unit_id),
        background="Hög frånvaro sedan hösten.",
        consent_given_by="Vårdnadshavare",
        consent_actors=["Skola", "BUP"],
    )
    case = urlsplit(where).path
    reference = case.rsplit("/", 1)[1]
    sam.get(f"/cases?sok={quote_plus(name)}")  # people search by name, whatever the box says
    sam.get(f"{case}?visa=personnummer")
    sam.fire(case, "start_assessment")
    sam.submit(f"{case}/koordinatorer", pair=FIRST)
    sam.fire(case, "accept_case")
    k1 = Browser(base, username(db, reference, CaseRole.KOORDINATOR_1))
    k1.submit(f"{case}/child-voice", text="Vill gå i skolan men orkar inte.")
    k1.fire(case, "family_accepts")
    k1.submit(f"{case}/problem-analysis", problem_analysis="Frånvaro.", purpose="Skolgång.")
    for kind, who in (("vardnadshavare", "Vårdnadshavare 1"), ("skola", "Mentor")):
        k1.submit(f"{case}/network", r"/network$", kind=kind, name=who, on_guest_list="y")
    k1.submit(f"{case}/sprakror", outside_name="Moster", trust_confirmed="y")
    book(k1, case, "pre_meeting", hours_ago=3)
    hold(k1, case)
    book(k1, case, "network_meeting_1", hours_ago=2)
    k1.get(k1.link(case, r"/letter$"))
    k1.fire(case, "complete_pre_meeting")
    hold(k1, case, homework="Jag kan hämta på morgonen.")
    k1.fire(case, "complete_network_meeting_1")
    book(k1, case, "network_meeting_2", hours_ago=1)
    hold(k1, case)
    today = local_date(clock.now())
    k1.submit(
        f"{case}/plan",
        goals="I skolan fyra dagar i veckan.",
        actions__0__description="Anpassat schema",
        actions__0__owner_name="Mentor",
        actions__0__due_on=str(today + timedelta(days=14)),
    )
    rektor = Browser(base, "rektor1")
    rektor.submit(f"{case}/kontaktperson", person_id=FIRST)
    k1.fire(case, "complete_network_meeting_2")
    k1.get(f"{case}/handlingsplan.pdf")
    remind()  # months later: every reminder of the open case is due
    kp = Browser(base, username(db, reference, CaseRole.KONTAKTPERSON))
    kp.submit(f"{case}/actions", r"/status$", status="started")
    kp.fire(case, "start_follow_up")
    kp.submit(f"{case}/follow-up", kind="eht", notes="Lyft i EHT.", reported_to_koordinator="y")
    kp.fire(case, "start_evaluation")
    kp.submit(f"{case}/evaluation", decision="close", notes="Målen är nådda.")
    kp.fire(case, "close_case")
    sam.get(f"{case}/arkiv.pdf")
    return reference


def book(browser: Browser, case: str, kind: str, hours_ago: float) -> None:
    when = stamp(hours_ago)
    browser.submit(f"{case}/meetings/new", kind=kind, starts_at=when, place="Skolan", action="book")


def hold(browser: Browser, case: str, homework: str = "") -> None:
    page = browser.link(case, r"/held$")
    fields = {n for n in Page(browser.get(page), page).forms[-1].fields if n.endswith("-attended")}
    answers = {n.replace("-", "__"): "y" for n in fields}
    answers |= {n.replace("attended", "homework").replace("-", "__"): homework for n in fields}
    browser.submit(page, minutes="Mötet är genomfört.", **answers)


def everything_logged(records: list[logging.LogRecord]) -> list[str]:
    """Every record as a handler would write it, with its arguments and its traceback;
    but for the test's own browser (urllib3) and mail server (mail.log)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    ours = [r for r in records if not r.name.startswith(("urllib3", "mail.log"))]
    return [formatter.format(record) for record in ours]


def everything_mailed(mail: MailServer) -> list[str]:
    """Every message as it went over the wire, and decoded: headers, text and HTML."""
    found = []
    for received in mail.received:
        message = received.message
        found.append(received.raw.decode("utf-8", "replace"))
        found += [f"{k}: {v}" for k, v in message.items()]
        found += [part.get_content() for part in message.walk() if not part.is_multipart()]
    return found


def test_no_log_line_or_message_names_a_child(
    db: Session, live: str, caplog: pytest.LogCaptureFixture
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    people = municipality(db)
    # Another demo child's case, made through the services, to have its reminders too.
    case_at(db, people, "follow_up", n=BUILT, unit=1)
    unit_id = people.units[0].id
    db.commit()  # on SQLite an open transaction here would hold the server's writes
    sessions = session_factory(db.get_bind())
    with MailServer() as mail:
        settings = replace(mail.settings, base_url=live)

        def remind() -> None:
            later = next_working_day(local_date(clock.now()) + timedelta(days=200))
            at = local_to_utc(later, time(9, 0))
            fired = sweep(sessions, settings, now=at).fired
            digests = send_digests(sessions, settings, now=at)
            sent = drain_outbox(sessions, settings, now=lambda: at, passes=5).sent
            assert fired and digests and sent, (fired, digests, sent)

        reference = walk(live, db, unit_id, remind)
        mailed = everything_mailed(mail)
    logged = everything_logged(caplog.records)
    assert any(reference in line for line in logged) and len(mailed) > 10
    events = [
        json.dumps([e.before, e.after], ensure_ascii=False) for e in db.scalars(sa.select(Event))
    ]
    for n in (WALKED, BUILT):
        secret = secrets_of(n)
        for where, texts in (("log", logged), ("mail", mailed), ("audit log", events)):
            leaks = [text[:300] for text in texts if secret.search(text)]
            assert not leaks, f"child {n} in the {where}:\n" + "\n".join(leaks[:5])
