"""The archive copy of a closed case: everything recorded on it, oldest first, as one PDF."""

from __future__ import annotations

from vastbas.pdf.layout import Document, moment, new_document, short_date
from vastbas.pdf.plan import version_text, write_network, write_plan_body
from vastbas.queries.case_page import MeetingView, RecordView
from vastbas.queries.documents import ArchiveDocument

TITLE = "Arkivutskrift"
ATTENDANCE = {True: "Ja", False: "Nej", None: "–"}


def archive_pdf(document: ArchiveDocument) -> bytes:
    """The whole case: the child and the request, roles, consent, network, every plan
    version, meetings with attendance and minutes, follow-ups, evaluations, deviations and
    the timeline. Dated by the closing, so the same case always gives the same file."""
    pdf = new_document(
        title=TITLE,
        reference=document.reference,
        footer_note=f"{TITLE}, ärendet avslutat {short_date(document.closed_at.date())}",
        created=document.closed_at,
    )
    pdf.heading(f"{TITLE} – ärende {document.reference}", level=1)
    _the_case(pdf, document)
    _people(pdf, document)
    pdf.heading("Handlingsplaner")
    if not document.plans:
        pdf.paragraph(None, empty="Ingen handlingsplan upprättades.")
    for plan in document.plans:
        by = f" av {plan.created_by}" if plan.created_by else ""
        pdf.heading(f"Version {version_text(plan)}{by}", level=3)
        write_plan_body(pdf, plan, level=3)
    pdf.heading("Möten")
    if not document.meetings:
        pdf.paragraph(None, empty="Inga möten bokades.")
    for meeting in document.meetings:
        _meeting(pdf, meeting)
    _records(pdf, "Uppföljningar", document.follow_ups, "Inga uppföljningar.")
    _records(pdf, "Utvärdering", document.evaluations, "Ingen utvärdering.")
    _deviations(pdf, document.deviations)
    pdf.heading("Händelser i ärendet")
    pdf.grid(
        ("Tid", "Händelse", "Av"),
        [(moment(e.at), e.text, e.actor or "–") for e in document.timeline],
        (27, 52, 21),
    )
    return pdf.output_bytes()


def _the_case(pdf: Document, document: ArchiveDocument) -> None:
    registered_by = f" av {document.registered_by}" if document.registered_by else ""
    pdf.fields(
        [
            ("Process", document.workflow_title),
            ("Barn", document.child_name),
            ("Personnummer", document.personnummer),
            ("Förskola eller skola", document.unit_name or "Ingen eller okänd"),
            ("Förfrågan från", document.initiator),
            ("Registrerad", moment(document.registered_at) + registered_by),
            ("Avslutad", moment(document.closed_at)),
            ("Utfall", document.outcome_label),
            ("Skäl till avslut", document.outcome_reason),
            ("Perioder", str(document.periods)),
        ]
    )
    for title, text in (
        ("Bakgrund", document.background),
        ("Barnets egen röst", document.child_voice),
        ("Problemanalys", document.problem_analysis),
        ("Syfte med nätverksarbetet", document.purpose),
    ):
        pdf.heading(title, level=3)
        pdf.paragraph(text)


def _people(pdf: Document, document: ArchiveDocument) -> None:
    pdf.heading("Roller i ärendet")
    pdf.grid(
        ("Roll", "Person", "Från", "Till", "Utsedd av"),
        [
            (
                r.label,
                (r.person_name or "–") + (" (utan inloggning)" if r.outside_contact else ""),
                short_date(r.since.date()) if r.since else "–",
                short_date(r.until.date()) if r.until else "–",
                (r.appointed_by or "–") + (f" för {r.on_behalf_of}" if r.on_behalf_of else ""),
            )
            for r in document.roles
        ],
        (22, 26, 15, 15, 22),
    )
    pdf.heading("Samtycke")
    if document.consents:
        pdf.grid(
            ("Lämnat av", "Gäller", "Lämnat", "Omprövas", "Återkallat"),
            [
                (
                    c.given_by,
                    ", ".join(c.actors) or "–",
                    short_date(c.given_on),
                    short_date(c.review_on),
                    moment(c.withdrawn_at)
                    + (f": {c.withdrawn_reason}" if c.withdrawn_reason else ""),
                )
                for c in document.consents
            ],
            (20, 30, 15, 15, 20),
        )
    else:
        pdf.paragraph(None, empty="Inget samtycke registrerades.")
    pdf.heading("Nätverkskarta")
    write_network(pdf, document.network)


def _meeting(pdf: Document, meeting: MeetingView) -> None:
    period = f", period {meeting.period}" if meeting.period > 1 else ""
    pdf.heading(f"{meeting.kind_label} {moment(meeting.starts_at)}{period}", level=3)
    pdf.fields(
        [
            ("Plats", meeting.place or None),
            ("Kallelser skickade", moment(meeting.invitations_sent_at)),
            ("Genomfört", moment(meeting.held_at) if meeting.held_at else "Nej"),
        ]
    )
    minutes = f"Minnesanteckningar: {meeting.minutes}" if meeting.minutes else None
    pdf.paragraph(minutes, empty="Inga minnesanteckningar.")
    if meeting.participants:
        pdf.grid(
            ("Deltagare", "Närvaro", "Hemläxa"),
            [(p.name, ATTENDANCE[p.attended], p.homework or "–") for p in meeting.participants],
            (30, 14, 56),
        )


def _records(pdf: Document, title: str, records: tuple[RecordView, ...], empty: str) -> None:
    pdf.heading(title)
    if not records:
        pdf.paragraph(None, empty=empty)
        return
    pdf.grid(
        ("Datum", "Typ", "Anteckningar", "Av"),
        [(short_date(r.on), r.kind_label, r.text, r.by or "–") for r in records],
        (17, 20, 43, 20),
    )


def _deviations(pdf: Document, records: tuple[RecordView, ...]) -> None:
    pdf.heading("Avvikelser")
    if not records:
        pdf.paragraph(None, empty="Inga avvikelser rapporterades.")
        return
    pdf.grid(
        ("Datum", "Status", "Beskrivning", "Uppföljning", "Av"),
        [(short_date(r.on), r.kind_label, r.text, r.note or "–", r.by or "–") for r in records],
        (17, 12, 31, 22, 18),
    )
