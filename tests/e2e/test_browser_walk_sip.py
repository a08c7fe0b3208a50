"""A SIP (samordnad individuell plan) in a real browser, through the Swedish UI only.

Reuses the Västbas walk's fixtures and its Walk helper (screenshots, axe on every page).
The database is read only to learn a username's id (to pick them in a select) and who
holds a role.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from e2e.axe import describe
from e2e.fixtures import LiveServer
from e2e.test_browser_walk import STOCKHOLM, Walk, slug

from vastbas import demo
from vastbas.db import session_factory
from vastbas.enums import CaseRole
from vastbas.models import Person
from vastbas.workflow import workflow_named


def _new_walk(browser: Any, live_server: LiveServer, axe: str, shots: Path) -> tuple[Any, Walk]:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, Walk(page, live_server, axe, shots)


def test_a_sip_request_is_registered_and_found_by_its_process(
    browser: Any, live_server: LiveServer, axe: str, screenshots: Path
) -> None:
    sip = workflow_named("sip")
    context, walk = _new_walk(browser, live_server, axe, screenshots)
    field = walk.field
    try:
        walk.login("samordnare")
        walk.follow("Ny förfrågan", "sip-new-request")
        field("Process").select_option(label=sip.title)
        field("Förfrågan kommer från").select_option(label="Skola")
        field("Barnets namn").fill("Sippa Siprén")
        field("Barnets personnummer").fill(demo.child_personnummer(41))
        field("Barnets förskola eller skola").select_option(label=live_server.people.units[0].name)
        field("Samtycke lämnat av").fill("Vårdnadshavare")
        walk.submit(walk.button("Registrera förfrågan"), "sip-registered")
        assert f"/cases/{sip.reference_prefix}-" in walk.page.url, walk.page_problem()
        walk.assert_step(sip.steps[0].label)
        assert f"Process: {sip.title}" in walk.page.locator("main").inner_text()

        walk.goto("/cases?process=sip", "sip-list")
        rows = walk.page.locator("tbody tr")
        assert rows.count() == 1 and sip.title in rows.first.inner_text()
    finally:
        context.close()
    assert not walk.violations, "axe found WCAG 2.1 A/AA violations:\n" + "\n".join(
        f"{where}:\n{describe(found)}" for where, found in walk.violations.items()
    )


def test_a_sip_from_request_to_closing(
    browser: Any, live_server: LiveServer, axe: str, screenshots: Path
) -> None:
    """Request → kallelse → SIP-möte → genomförande → uppföljning → avslutad, in the UI."""
    context, walk = _new_walk(browser, live_server, axe, screenshots)
    try:
        _walk_sip(walk, live_server)
    finally:
        context.close()
    assert not walk.violations, "axe found WCAG 2.1 A/AA violations:\n" + "\n".join(
        f"{where}:\n{describe(found)}" for where, found in walk.violations.items()
    )


def _person_id(live_server: LiveServer, username: str) -> str:
    with session_factory(live_server.engine)() as db:
        found = db.scalar(sa.select(Person.id).where(Person.username == username))
    assert found is not None
    return str(found)


def _walk_sip(walk: Walk, live_server: LiveServer) -> None:
    field, button = walk.field, walk.button
    sip = workflow_named("sip")
    unit = live_server.people.units[0]
    today = datetime.now(STOCKHOLM).date()

    # 1. Behov identifierat: the samordnare registers the need and the written consent,
    # naming the actors (001, p. 8), and appoints the rektor to call the meeting.
    walk.login("samordnare")
    walk.follow("Ny förfrågan", "sip-walk-new")
    field("Process").select_option(label=sip.title)
    field("Förfrågan kommer från").select_option(label="Skola")
    field("Barnets namn").fill("Sam Siprén")
    field("Barnets personnummer").fill(demo.child_personnummer(43))
    field("Barnets förskola eller skola").select_option(value=str(unit.id))
    field("Samtycke lämnat av").fill("Vårdnadshavare")
    walk.submit(button("Registrera förfrågan"), "sip-walk-registered")
    match = re.search(r"/cases/([^/?#]+)$", walk.page.url)
    assert match, walk.page_problem()
    walk.reference = match.group(1)
    walk.follow("Registrera samtycke", "sip-consent")
    field("Samtycket lämnat av").fill("Vårdnadshavare 1 och 2")
    for actor in ("Skola", "Socialtjänst"):
        field(actor).check()
    field("Andra aktörer").fill("BUP")
    walk.submit(button("Registrera samtycket"), "sip-consent-saved")
    walk.open_case("sip-case-request")
    walk.follow("Utse sammankallande", "sip-sammankallande")
    field("Sammankallande").select_option(value=_person_id(live_server, "rektor1"))
    walk.submit(button("Utse sammankallande"), "sip-sammankallande-appointed")
    walk.advance("Ansvarig chef beslutar om SIP-möte", "Kallelse")
    walk.logout()

    # 2. Kallelse: the rektor draws the guest list, books the meeting and sends the invitation.
    walk.login("rektor1")
    walk.open_case("sip-case-rektor")
    walk.follow("Nätverkskartan", "sip-network")
    for kind, name in (
        ("Vårdnadshavare", "Vårdnadshavare 1"),
        ("Socialtjänst", "Socialsekreterare"),
    ):
        field("Vem är det?").select_option(label=kind)
        field("Namn").fill(name)
        field("Bjuds in till nätverksmötena (gästlistan)").check()
        walk.submit(button("Lägg till på nätverkskartan"), f"sip-network-{slug(name)}")
    walk.open_case("sip-case-invitation")
    walk.goto(f"/cases/{walk.reference}/meetings/new", "sip-book-kinds")
    offered = walk.page.locator("select[name=kind] option").all_inner_texts()
    assert "Förmöte" not in offered and "SIP-möte" in offered, offered
    walk.open_case("sip-case-before-booking")
    walk.book("SIP-möte", hours_ago=2)
    walk.follow("Inbjudan att skriva ut", "sip-letter")
    walk.submit(button("Kallelser skickade"), "sip-invitations-sent")
    walk.open_case("sip-case-invited")
    walk.advance("Kallelsen har skickats", "SIP-möte")

    # 3. SIP-möte: held; the plan with a goal and owned, dated actions; the child is placed
    # outside the home, so the meeting's samordnare must come from social services.
    walk.hold("SIP-möte")
    walk.follow("Upprätta handlingsplan", "sip-plan")
    field("Mål").fill("Barnet har en trygg skoldag och en samordnad vård.")
    rows = (("Anpassat schema", "Mentor", 30), ("Samtalskontakt", "BUP-psykolog", 45))
    for i, (what, who, days) in enumerate(rows):
        walk.page.locator(f"[name='actions-{i}-description']").fill(what)
        walk.page.locator(f"[name='actions-{i}-owner_name']").fill(who)
        walk.page.locator(f"[name='actions-{i}-due_on']").fill(str(today + timedelta(days)))
    walk.submit(button("Spara handlingsplanen"), "sip-plan-saved")
    walk.follow("Placering utanför hemmet", "sip-placement")
    field("Ja, barnet är placerat utanför hemmet").check()
    field("Jag har kontrollerat uppgiften om placering").check()
    walk.submit(button("Spara placeringen"), "sip-placed")
    walk.follow("Utse samordnare i planen", "sip-plan-samordnare")
    select = field("Samordnare i planen")
    values = select.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert _person_id(live_server, "kurator1") not in values, "placed: socialtjänst only"
    select.select_option(value=_person_id(live_server, "koordinator21"))
    walk.submit(button("Utse samordnare"), "sip-plan-samordnare-appointed")
    walk.advance("Planen är upprättad", "Genomförande")
    walk.logout()

    # 4. Genomförande and uppföljning by telephone, by the plan's samordnare; then closing.
    assert walk.holder(CaseRole.PLAN_SAMORDNARE) == "koordinator21"
    walk.login("koordinator21")
    walk.open_case("sip-case-samordnare")
    walk.follow("Uppdatera åtgärdernas status", "sip-actions")
    walk.submit(button("Påbörja").first, "sip-action-started")
    walk.open_case("sip-case-started")
    walk.advance("Dags för uppföljning", "Uppföljning")
    walk.follow("Dokumentera uppföljning", "sip-follow-up")
    field("Sorts uppföljning").select_option(label="Telefon")
    field("Vad kom uppföljningen fram till?").fill("Uppföljningsblanketten ifylld per telefon.")
    walk.submit(button("Dokumentera uppföljningen"), "sip-followed-up")
    walk.follow("Dokumentera utvärdering", "sip-evaluation")
    field("Avsluta ärendet").check()
    field("Vad kom utvärderingen fram till?").fill("Målen är nådda.")
    walk.submit(button("Dokumentera utvärderingen"), "sip-evaluated")
    walk.open_case("sip-case-evaluated")
    walk.advance("Avsluta arbetet", "Avslutad", check_step=False)
    assert "Sidan finns inte" not in walk.page.content(), walk.page_problem()
    walk.logout()
    walk.login("samordnare")
    walk.open_case("sip-case-closed")
    walk.assert_step("Avslutad")
