"""The handlingsplan and the archive copy as PDFs: what a reader finds in them, who may read
them, the audit of every read, and that no text a user typed can break a document."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta
from itertools import cycle

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy.orm import Session

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import CaseRole, EvaluationDecision
from vastbas.errors import NotFound, RuleBroken
from vastbas.models import Case, CaseDeadline, Event
from vastbas.pdf import layout
from vastbas.pdf.archive import archive_pdf
from vastbas.pdf.layout import long_date
from vastbas.pdf.plan import plan_pdf
from vastbas.queries.case_page import (
    ActionView,
    ConsentView,
    MeetingView,
    NetworkEntryView,
    ParticipantView,
    PlanView,
    RecordView,
    RoleView,
    TimelineEntry,
)
from vastbas.queries.documents import (
    ArchiveDocument,
    PlanDocument,
    archive_document,
    plan_document,
)
from vastbas.services import accounts, deviations
from vastbas.services.gallring import thin_case
from vastbas.settings import Settings

SAMPLE_DAY = date(2026, 3, 2)


@pytest.fixture
def people(db: Session, monkeypatch: pytest.MonkeyPatch) -> demo.People:
    # Nobody logs in here: the demo password is hashed with argon2's cheapest settings.
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    return municipality(db)


def text_of(pdf: bytes) -> str:
    """The text a reader (or a search) finds in the PDF, with line breaks as spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def outsider(walker: demo.Walker) -> int:
    """A koordinator from the pool with no role on the case."""
    on_case = {a.person_id for a in walker.case.assignments}
    return next(k.id for k in walker.people.koordinatorer if k.id not in on_case)


def closed_case(db: Session, people: demo.People) -> demo.Walker:
    """A case with two plan versions, a deviation, follow-ups and an evaluation, closed."""
    walker = case_at(db, people, "new_interventions")
    walker.call(
        deviations.register_deviation,
        actor=people.samordnare.id,
        description="Skolan fick ingen kallelse till förmötet.",
    )
    walker.new_interventions()
    walker.interventions()
    walker.follow_up()
    walker.evaluate(EvaluationDecision.CLOSE)
    return walker


# --- The handlingsplan ------------------------------------------------------------------


def test_the_plan_pdf_holds_what_the_network_agreed_with_swedish_letters_intact(
    db: Session, people: demo.People
) -> None:
    walker = case_at(db, people, "interventions")
    case = walker.case
    due = {
        d.name: d.due_on
        for d in db.scalars(
            sa.select(CaseDeadline).where(
                CaseDeadline.case_id == case.id, CaseDeadline.closed_at.is_(None)
            )
        )
    }
    kontaktperson = walker.case.current(CaseRole.KONTAKTPERSON)
    assert kontaktperson is not None
    today = local_date(clock.now())
    text = text_of(plan_pdf(plan_document(db, walker.reference, people.samordnare.id, today)))

    assert text.startswith(f"Västbas – Handlingsplan {walker.reference} Handlingsplan")
    assert f"Barn {case.child_name}" in text
    assert "Version 1, fastställd" in text
    assert "Barnets egen röst Vill gå i skolan men orkar inte." in text
    assert "1. Barnet är i skolan minst fyra dagar i veckan." in text
    action_due = case.plans[0].actions[0].due_on
    assert f"Morgonstöd hemifrån Vårdnadshavare 1 {action_due.isoformat()} Planerad" in text
    assert "Anpassat schema Mentor" in text
    assert f"Nästa uppföljning {long_date(due['eht_raise'])}" in text
    assert f"Utvärdering {long_date(due['evaluation'])}" in text
    assert f"Kontaktperson {kontaktperson.person.name}" in text
    assert "Språkrör Moster till barnet" in text
    assert "Vårdnadshavare 1 Vårdnadshavare" in text
    footer = f"{walker.reference} · Handlingsplan version 1, utskriven {today.isoformat()}"
    assert f"{footer} Sida 1 av 1" in text


def test_an_older_version_prints_as_it_was_and_says_it_was_replaced(
    db: Session, people: demo.People
) -> None:
    walker = case_at(db, people, "new_interventions")
    walker.new_interventions()
    sam = people.samordnare.id
    first = text_of(plan_pdf(plan_document(db, walker.reference, sam, SAMPLE_DAY, version=1)))
    latest = text_of(plan_pdf(plan_document(db, walker.reference, sam, SAMPLE_DAY)))

    assert "minst fyra dagar i veckan" in first and "hela veckan" not in first
    assert "Denna version har ersatts av version 2." in first
    assert "1. Barnet är i skolan hela veckan." in latest and "Rastaktivitet" in latest
    assert "Kommentar Reviderad efter uppföljning." in latest
    assert "ersatts" not in latest
    with pytest.raises(NotFound, match="version 7 finns inte"):
        plan_document(db, walker.reference, sam, SAMPLE_DAY, version=7)


def test_a_case_without_a_plan_has_no_plan_pdf(db: Session, people: demo.People) -> None:
    walker = case_at(db, people, "network_meeting_1")
    with pytest.raises(NotFound, match="har ingen handlingsplan ännu"):
        plan_document(db, walker.reference, people.samordnare.id, SAMPLE_DAY)


def test_a_pdf_is_an_audited_read_that_leaves_the_case_as_it_was(
    db: Session, people: demo.People
) -> None:
    walker = case_at(db, people, "interventions")
    case = walker.case
    version, name, case_id = case.version, case.child_name, case.id
    kontaktperson = walker.holder(CaseRole.KONTAKTPERSON)
    plan_document(db, walker.reference, kontaktperson, SAMPLE_DAY)

    read = db.scalars(sa.select(Event).order_by(Event.id.desc()).limit(1)).one()
    assert (read.case_id, read.actor_id, read.action) == (case_id, kontaktperson, "read_case")
    assert read.after == {"document": "handlingsplan", "version": 1}
    assert name not in str(read.after) and walker.case.version == version


def test_someone_without_a_role_on_the_case_hears_it_does_not_exist(
    db: Session, people: demo.People
) -> None:
    walker = case_at(db, people, "interventions")
    stranger = outsider(walker)
    events = db.scalar(sa.select(sa.func.count()).select_from(Event))
    with pytest.raises(NotFound) as plan_refused:
        plan_document(db, walker.reference, stranger, SAMPLE_DAY)
    with pytest.raises(NotFound) as archive_refused:
        archive_document(db, walker.reference, stranger)
    with pytest.raises(NotFound) as unknown:
        archive_document(db, "VB-2026-9999", stranger)

    expected = "Ärendet {} finns inte."
    assert plan_refused.value.message == expected.format(walker.reference)
    assert archive_refused.value.message == expected.format(walker.reference)
    assert unknown.value.message == expected.format("VB-2026-9999")
    assert db.scalar(sa.select(sa.func.count()).select_from(Event)) == events


# --- The archive copy -------------------------------------------------------------------


def test_the_archive_of_a_closed_case_holds_the_whole_case_the_same_each_time(
    db: Session, people: demo.People
) -> None:
    walker = closed_case(db, people)
    case = walker.case
    pdf = archive_pdf(archive_document(db, walker.reference, people.samordnare.id))
    text = text_of(pdf)

    assert f"Arkivutskrift – ärende {walker.reference}" in text
    assert f"Barn {case.child_name} Personnummer {case.child_personnummer}" in text
    assert "Utfall Avslutat efter utvärdering" in text
    for fact in (
        "1. Barnet är i skolan minst fyra dagar i veckan.",  # plan version 1
        "1. Barnet är i skolan hela veckan.",  # plan version 2
        "Minnesanteckningar: Gemensam behovsanalys gjord; språkröret presenterat.",
        "Vårdnadshavare 1 Ja Jag kan hämta på morgonen.",  # attendance and homework
        "Närvaron har inte ökat; nätverket behöver nya insatser.",
        "Lyft i EHT; närvaron ökar.",
        "Avsluta ärendet Målen är nådda.",
        "Skolan fick ingen kallelse till förmötet.",
        "Förfrågan registrerad",
        "Avsluta ärendet – ärendet avslutades",
    ):
        assert fact in text, fact
    assert text.index("Version 1") < text.index("Version 2")
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    again = archive_pdf(archive_document(db, walker.reference, people.samordnare.id))
    assert again == pdf

    reads = db.scalars(
        sa.select(Event.after).where(Event.case_id == case.id, Event.action == "read_case")
    ).all()
    assert reads == [{"document": "arkiv", "personnummer": True}] * 2


def test_an_open_case_has_no_archive_copy_yet(db: Session, people: demo.People) -> None:
    walker = case_at(db, people, "evaluation")
    with pytest.raises(RuleBroken, match="först när ärendet är avslutat"):
        archive_document(db, walker.reference, people.samordnare.id)


def test_a_thinned_case_has_nothing_left_to_print(db: Session, people: demo.People) -> None:
    walker = closed_case(db, people)
    later = clock.now() + timedelta(days=800)
    assert thin_case(db, walker.reference, now=later, settings=Settings())
    for read in (
        lambda: archive_document(db, walker.reference, people.samordnare.id),
        lambda: plan_document(db, walker.reference, people.samordnare.id, SAMPLE_DAY),
    ):
        with pytest.raises(RuleBroken, match="är gallrat"):
            read()
    assert db.scalars(sa.select(Case.child_name)).one() == ""


# --- Any text at all --------------------------------------------------------------------


def test_letters_the_font_lacks_become_near_letters_and_are_never_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "Zoë Åsa-Öhrn 李小龍 🙂 Ağça\u200d"
    with caplog.at_level(logging.DEBUG):
        installed = text_of(plan_pdf(sample_plan([name] * 12)))
        monkeypatch.setattr(layout, "font_files", lambda: None)  # as without fonts-dejavu
        core = text_of(plan_pdf(sample_plan([name] * 12)))

    assert "Barn Zoë Åsa-Öhrn ??? ? Ağça" in installed
    assert "Barn Zoë Åsa-Öhrn ??? ? Agça" in core
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if "李" in r.getMessage() or "Zoë" in r.getMessage()]


def test_an_action_longer_than_a_page_still_prints_in_full() -> None:
    long_text = " ".join(f"steg{i}" for i in range(600))
    texts = ["kort"] * 12
    document = sample_plan(texts)
    action = ActionView(long_text, "Mentor", SAMPLE_DAY, "Planerad", False)
    plan = PlanView(**{**document.plan.__dict__, "actions": (action,)})
    text = text_of(plan_pdf(PlanDocument(**{**document.__dict__, "plan": plan})))
    assert "steg0 steg1" in text and "steg599" in text and "Ansvarig Mentor" in text


@pytest.mark.parametrize("fonts", ["dejavu", "core"])
@settings(max_examples=4, deadline=None)
@given(texts=st.lists(st.text(max_size=80), min_size=12, max_size=12))
def test_no_text_breaks_a_document(fonts: str, texts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if fonts == "core":
            patch.setattr(layout, "font_files", lambda: None)
        for pdf in (plan_pdf(sample_plan(texts)), archive_pdf(sample_archive(texts))):
            assert "VB-2026-0042" in text_of(pdf)


def sample_plan(texts: list[str]) -> PlanDocument:
    """A plan whose every text (names, goals, actions, the child's voice) comes from texts."""
    t = cycle(texts)
    when = datetime(2026, 2, 20, 13, 0, tzinfo=UTC)
    return PlanDocument(
        reference="VB-2026-0042",
        child_name=next(t),
        unit_name=next(t),
        plan=PlanView(
            version=2,
            period=2,
            created_at=when,
            created_by=next(t),
            note=next(t),
            goals=(next(t), next(t)),
            actions=(ActionView(next(t), next(t), SAMPLE_DAY, "Påbörjad", True),),
        ),
        latest_version=3,
        child_voice=next(t),
        purpose=next(t),
        participants=(NetworkEntryView("Skola", next(t), next(t), True),),
        roles=(RoleView("sprakror", "Språkrör", next(t), True, when, None, None, None, True),),
        next_follow_up=SAMPLE_DAY,
        evaluation_on=None,
        printed_on=SAMPLE_DAY,
        case_closed=False,
    )


def sample_archive(texts: list[str]) -> ArchiveDocument:
    t = cycle(texts)
    plan = sample_plan(texts)
    when = plan.plan.created_at
    record = RecordView("Ny", SAMPLE_DAY, next(t), next(t), next(t))
    return ArchiveDocument(
        reference=plan.reference,
        workflow_title="Västbas",
        child_name=next(t),
        personnummer="20150101-9808",
        unit_name=next(t),
        initiator=next(t),
        background=next(t),
        child_voice=next(t),
        problem_analysis=next(t),
        purpose=None,
        registered_at=when,
        registered_by=next(t),
        closed_at=when,
        outcome_label="Avslutat efter utvärdering",
        outcome_reason=next(t),
        periods=2,
        roles=plan.roles,
        consents=(ConsentView(next(t), (next(t),), SAMPLE_DAY, SAMPLE_DAY, None, when, next(t)),),
        network=plan.participants,
        plans=(plan.plan, plan.plan),
        meetings=(
            MeetingView(
                1,
                "Förmöte",
                1,
                when,
                next(t),
                None,
                when,
                next(t),
                (ParticipantView(next(t), None, next(t)),),
            ),
        ),  # fmt: skip
        follow_ups=(record,),
        evaluations=(record,),
        deviations=(record,),
        timeline=(TimelineEntry(when, next(t), next(t)),),
    )
