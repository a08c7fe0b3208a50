"""A case walked from request to closing in a real browser, through the Swedish UI only.

Every page visited is saved under screenshots/ (git-ignored) and checked with axe
(WCAG 2.1 A/AA). The database is read only to learn who holds a role, to log in as them.

The browser is Debian's Chromium (/usr/bin/chromium, `.ci/run` installs it); Playwright
never downloads one. Without it the walk is skipped, and fails in CI (CI=true).
The fixtures are in e2e/fixtures.py, not in a conftest.py: the suite imports `conftest`
by name (`from conftest import csrf_token`), which a second conftest.py would shadow.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from e2e.axe import describe, run_axe
from e2e.fixtures import SCREENSHOTS, LiveServer  # noqa: F401 (the walks import it here)

from vastbas import demo
from vastbas.db import session_factory
from vastbas.enums import CaseRole
from vastbas.models import Person

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class Walk:
    """One browser tab: go somewhere, then screenshot and axe what is shown."""

    def __init__(self, page: Any, server: LiveServer, axe: str, shots: Path) -> None:
        self.page = page
        self.server = server
        self.axe = axe
        self.shots = shots
        self.count = 0
        self.violations: dict[str, list[dict[str, Any]]] = {}
        self.reference = ""

    def seen(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.count += 1
        slug = f"{self.count:02d}-{name}"
        self.page.screenshot(path=str(self.shots / f"{slug}.png"), full_page=True)
        found = run_axe(self.page, self.axe)
        if found:
            self.violations[f"{slug} ({self.page.url})"] = found
            print(f"axe on {slug}:\n{describe(found)}")

    def goto(self, path: str, name: str) -> None:
        self.page.goto(self.server.url + path)
        self.seen(name)

    def submit(self, locator: Any, name: str) -> None:
        """Click what sends a form, wait for the answer page, and check it."""
        with self.page.expect_navigation():
            locator.click()
        self.seen(name)

    def follow(self, link_text: str, name: str) -> None:
        link = self.page.get_by_role("link", name=link_text, exact=True)
        self.submit(link.first, name)

    def button(self, text: str) -> Any:
        return self.page.get_by_role("button", name=text, exact=True)

    def field(self, text: str) -> Any:
        return self.page.get_by_label(text, exact=True)

    # --- people -------------------------------------------------------------------------
    def login(self, username: str) -> None:
        self.goto("/login", f"login-{username}")
        self.field("Användarnamn").fill(username)
        self.field("Lösenord").fill(demo.DEMO_PASSWORD)
        self.submit(self.button("Logga in"), f"start-{username}")
        assert "/login" not in self.page.url, f"{username} could not log in"

    def logout(self) -> None:
        self.submit(self.button("Logga ut"), "logged-out")

    def holder(self, role: CaseRole) -> str:
        """The username of whoever holds `role` on the case now."""
        with session_factory(self.server.engine)() as db:
            walker = demo.Walker(db, self.server.people, self.reference)
            username = db.scalar(sa.select(Person.username).where(Person.id == walker.holder(role)))
        assert username, f"{role} has no account"
        return username

    # --- the case -----------------------------------------------------------------------
    def open_case(self, name: str = "case") -> None:
        self.goto(f"/cases/{self.reference}", name)

    def assert_step(self, label: str) -> None:
        badge = self.page.locator(".badge").first
        assert badge.inner_text().strip() == f"Steg: {label}", self.page_problem()

    def page_problem(self) -> str:
        return f"on {self.page.url}:\n{self.page.locator('main').inner_text()[:2000]}"

    def advance(self, label: str, step_after: str, *, check_step: bool = True) -> None:
        """Fire a transition from the case page (through its confirmation when it has one)."""
        button = self.button(label)
        if button.count():
            self.submit(button, f"to-{slug(step_after)}")
        else:
            self.follow(f"{label} …", f"confirm-{slug(label)}")
            self.submit(self.button(label), f"to-{slug(step_after)}")
        if check_step:
            self.assert_step(step_after)

    def stamp(self, hours_ago: float) -> str:
        """A datetime-local value in Swedish time, `hours_ago` before now."""
        moment = datetime.now(STOCKHOLM) - timedelta(hours=hours_ago)
        return moment.strftime("%Y-%m-%dT%H:%M")

    def book(self, kind: str, hours_ago: float) -> None:
        self.follow("Boka möte", f"book-{slug(kind)}")
        self.field("Möte").select_option(label=kind)
        self.field("Datum och tid").fill(self.stamp(hours_ago))
        self.field("Plats").fill("Skolans konferensrum")
        self.submit(self.button("Boka mötet"), f"booked-{slug(kind)}")
        assert f"/cases/{self.reference}" in self.page.url, self.page_problem()

    def hold(self, kind: str, homework: str | None = None) -> None:
        self.follow("Dokumentera mötet", f"hold-{slug(kind)}")
        self.field("Anteckningar från mötet").fill(f"{kind} genomfört.")
        for box in self.page.get_by_label("Deltog", exact=True).all():
            box.check()
        if homework:
            self.page.get_by_label("Hemläxa: vad kan jag bidra med?").first.fill(homework)
        self.submit(self.button("Registrera mötet som hållet"), f"held-{slug(kind)}")
        assert f"/cases/{self.reference}" in self.page.url, self.page_problem()

    def follow_up(self, kind: str, notes: str) -> None:
        self.follow("Dokumentera uppföljning", "follow-up")
        self.field("Sorts uppföljning").select_option(label=kind)
        self.field("Vad kom uppföljningen fram till?").fill(notes)
        self.field("Återrapporterat till koordinatorn").check()
        self.submit(self.button("Dokumentera uppföljningen"), "followed-up")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(str.maketrans("åäö", "aao"))).strip(
        "-"
    )


def test_a_case_from_request_to_closing(
    browser: Any, live_server: LiveServer, axe: str, screenshots: Path
) -> None:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = Walk(page, live_server, axe, screenshots)
    # The demo's first school: its rektor is rektor1 (demo.build_municipality).
    unit = live_server.people.units[0]
    try:
        _walk(walk, unit.id, rektor="rektor1")
    finally:
        context.close()
    assert not walk.violations, "axe found WCAG 2.1 A/AA violations:\n" + "\n".join(
        f"{where}:\n{describe(found)}" for where, found in walk.violations.items()
    )


def _walk(walk: Walk, unit_id: int, rektor: str) -> None:
    field, button = walk.field, walk.button

    # 1. The samordnare registers the request with the family's consent.
    walk.login("samordnare")
    walk.follow("Ny förfrågan", "new-request")
    field("Förfrågan kommer från").select_option(label="Skola")
    field("Initiativtagare (namn eller funktion)").fill("Mentor")
    field("Barnets namn").fill("Alice Testsson")
    field("Barnets personnummer").fill(demo.child_personnummer(42))
    field("Barnets förskola eller skola").select_option(value=str(unit_id))
    field("Bakgrund").fill("Hög frånvaro sedan hösten.")
    field("Samtycke lämnat av").fill("Vårdnadshavare")
    for actor in ("Skola", "Socialtjänst", "BUP"):
        field(actor).check()
    walk.submit(button("Registrera förfrågan"), "registered")
    match = re.search(r"/cases/([^/?#]+)$", walk.page.url)
    assert match, walk.page_problem()
    walk.reference = match.group(1)
    walk.assert_step("Förfrågan")

    # 2. Assessment: the koordinator pair from the suggestions; the case is accepted.
    walk.advance("Påbörja bedömning", "Bedömning")
    walk.follow("Utse koordinatorer", "koordinatorer")
    walk.page.locator("input[name=pair]").first.check()
    walk.submit(button("Utse koordinatorer"), "koordinatorer-appointed")
    walk.advance("Västbasärende – koordinatorerna tar över", "Erbjudande till familjen")
    walk.logout()

    # 3. K1: the child's voice and the family's yes.
    walk.login(walk.holder(CaseRole.KOORDINATOR_1))
    walk.open_case()
    walk.follow("Notera barnets röst", "child-voice")
    field("Barnets röst").fill("Vill gå i skolan men orkar inte.")
    walk.submit(button("Spara barnets röst"), "child-voice-saved")
    walk.advance("Familjen tackar ja", "Förmöte")

    # 4. Förmöte: analysis, network map, språkrör, the meeting itself and NM1 booked.
    walk.follow("Problemanalys och syfte", "problem-analysis")
    field("Problemanalys").fill("Frånvaro sedan hösten; oklart stöd i hemmet.")
    field("Syfte med nätverksarbetet").fill("Tillbaka till skolan med stöd som drar åt samma håll.")
    walk.submit(button("Spara problemanalys och syfte"), "problem-analysis-saved")
    walk.follow("Nätverkskartan", "network")
    for kind, name in (("Vårdnadshavare", "Vårdnadshavare 1"), ("Skola", "Mentor")):
        field("Vem är det?").select_option(label=kind)
        field("Namn").fill(name)
        field("Bjuds in till nätverksmötena (gästlistan)").check()
        walk.submit(button("Lägg till på nätverkskartan"), f"network-{slug(name)}")
    walk.open_case()
    walk.follow("Utse språkrör", "sprakror")
    field("Namn").fill("Moster till barnet")
    field("Vårdnadshavaren har bekräftat sitt förtroende för språkröret").check()
    walk.submit(button("Utse språkrör"), "sprakror-appointed")
    walk.book("Förmöte", hours_ago=3)
    walk.hold("Förmöte")
    walk.book("Nätverksmöte 1", hours_ago=2)
    walk.advance("Förmötet är klart", "Nätverksmöte 1")

    # 5. NM1 held, with homework.
    walk.hold("Nätverksmöte 1", homework="Jag kan hämta på morgonen.")
    walk.advance("Nätverksmöte 1 är klart", "Nätverksmöte 2")

    # 6. NM2: held, and the plan with a goal and dated, owned actions.
    walk.book("Nätverksmöte 2", hours_ago=1)
    walk.hold("Nätverksmöte 2")
    today = datetime.now(STOCKHOLM).date()
    walk.follow("Upprätta handlingsplan", "plan")
    field("Mål").fill("Barnet är i skolan minst fyra dagar i veckan.")
    rows = (("Morgonstöd hemifrån", "Vårdnadshavare 1", 30), ("Anpassat schema", "Mentor", 14))
    for i, (what, who, days) in enumerate(rows):
        walk.page.locator(f"[name='actions-{i}-description']").fill(what)
        walk.page.locator(f"[name='actions-{i}-owner_name']").fill(who)
        walk.page.locator(f"[name='actions-{i}-due_on']").fill(str(today + timedelta(days)))
    walk.submit(button("Spara handlingsplanen"), "plan-saved")
    k1 = walk.holder(CaseRole.KOORDINATOR_1)
    walk.logout()

    # 7. The rektor of the child's unit appoints the kontaktperson from the EHT.
    walk.login(rektor)
    walk.open_case("case-rektor")
    walk.follow("Utse kontaktperson", "kontaktperson")
    walk.page.locator("input[name=person_id]").first.check()
    walk.submit(button("Utse kontaktperson"), "kontaktperson-appointed")
    walk.logout()

    # 8. K1 completes NM2.
    walk.login(k1)
    walk.open_case()
    walk.advance("Handlingsplanen är fastställd", "Insatser")
    walk.logout()

    # 9. The kontaktperson: actions, follow-up, new interventions, evaluation, closing.
    walk.login(walk.holder(CaseRole.KONTAKTPERSON))
    walk.open_case()
    walk.follow("Uppdatera åtgärdernas status", "actions")
    walk.submit(button("Påbörja").first, "action-started")
    walk.open_case()
    walk.advance("Insatserna har startat – uppföljning", "Uppföljning")
    walk.follow_up("Uppföljningsmöte", "Närvaron har inte ökat; nya insatser behövs.")
    walk.advance("Nya insatser behövs", "Nya insatser")
    walk.follow("Revidera handlingsplanen", "plan-revision")
    field("Mål").fill("Barnet är i skolan hela veckan.")
    walk.page.locator("[name='actions-2-description']").fill("Rastaktivitet")
    walk.page.locator("[name='actions-2-owner_name']").fill("Fritidsledare")
    walk.page.locator("[name='actions-2-due_on']").fill(str(today + timedelta(21)))
    field("Kommentar till versionen").fill("Reviderad efter uppföljning.")
    walk.submit(button("Spara handlingsplanen"), "plan-revised")
    walk.advance("Ny version av handlingsplanen – insatser", "Insatser")
    walk.advance("Insatserna har startat – uppföljning", "Uppföljning")
    walk.follow_up("Lyft i elevhälsoteamet", "Lyft i EHT; närvaron ökar.")
    walk.advance("Påbörja utvärdering", "Utvärdering")
    walk.follow("Dokumentera utvärdering", "evaluation")
    field("Avsluta ärendet").check()
    field("Vad kom utvärderingen fram till?").fill("Målen är nådda.")
    walk.submit(button("Dokumentera utvärderingen"), "evaluated")
    walk.open_case()
    # Closing ends every appointment, so the kontaktperson no longer sees the case and
    # lands on Mina ärenden with the confirmation; the samordnare checks the case.
    walk.advance("Avsluta ärendet", "Avslutat", check_step=False)
    landing = walk.page.content()
    assert "Ärendet är avslutat." in landing and "Sidan finns inte" not in landing
    walk.logout()
    walk.login("samordnare")
    walk.open_case("case-closed")
    walk.assert_step("Avslutat")
    # The overview pages the samordnare and the admin work in, each checked by axe too.
    for path, name in (
        ("/cases", "case-list"),
        ("/cases?forsenade=1", "case-list-overdue"),
        ("/statistik", "statistics"),
        ("/avvikelser", "deviations"),
        ("/tokens", "tokens"),
    ):
        walk.goto(path, name)
    walk.logout()
    walk.login("admin")
    for path, name in (
        ("/admin/", "admin"),
        ("/admin/users", "admin-users"),
        ("/admin/units", "admin-units"),
        ("/admin/pool", "admin-pool"),
    ):
        walk.goto(path, name)
