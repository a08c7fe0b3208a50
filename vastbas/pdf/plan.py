"""The handlingsplan as a PDF for the family and the network: one version, on A4, in Swedish."""

from __future__ import annotations

from datetime import date

from vastbas.pdf.layout import Document, long_date, new_document, short_date
from vastbas.queries.case_page import NetworkEntryView, PlanView, RoleView
from vastbas.queries.documents import PlanDocument

TITLE = "Handlingsplan"
ACTION_HEADINGS = ("Åtgärd", "Ansvarig", "Klart senast", "Status")
ACTION_WIDTHS = (45, 23, 18, 14)
NETWORK_HEADINGS = ("Namn", "Roll i nätverket", "Relation till barnet")
NETWORK_WIDTHS = (40, 30, 30)


def plan_pdf(document: PlanDocument) -> bytes:
    """The PDF of one handlingsplan version: goals, actions, people, dates, the child's voice."""
    plan = document.plan
    pdf = new_document(
        title=TITLE,
        reference=document.reference,
        footer_note=f"{TITLE} version {plan.version}, utskriven {short_date(document.printed_on)}",
        created=plan.created_at,
    )
    pdf.heading(TITLE, level=1)
    pdf.fields(
        [
            ("Barn", document.child_name),
            ("Ärende", document.reference),
            ("Förskola eller skola", document.unit_name),
            ("Version", version_text(plan)),
            ("Upprättad av", plan.created_by),
        ]
    )
    if document.superseded:
        pdf.paragraph(
            f"Denna version har ersatts av version {document.latest_version}. "
            "Deltagarlistan längst ned visar ärendets deltagare i dag."
        )
    pdf.heading("Syfte med nätverksarbetet")
    pdf.paragraph(document.purpose)
    pdf.heading("Barnets egen röst")
    pdf.paragraph(document.child_voice, empty="Barnets röst är inte noterad.")
    write_plan_body(pdf, plan)
    pdf.heading("Uppföljning och utvärdering")
    pdf.fields(
        [
            ("Nästa uppföljning", _day(document.next_follow_up, _no_follow_up(document))),
            ("Utvärdering", _day(document.evaluation_on, "Inte bestämd")),
        ]
    )
    pdf.heading("Deltagare")
    write_roles(pdf, document.roles)
    write_network(pdf, document.participants)
    return pdf.output_bytes()


def version_text(plan: PlanView) -> str:
    period = f", period {plan.period}" if plan.period > 1 else ""
    return f"{plan.version}{period}, fastställd {long_date(plan.created_at.date())}"


def write_plan_body(pdf: Document, plan: PlanView, level: int = 2) -> None:
    """Goals, actions and the note of one version: shared with the archive."""
    pdf.heading("Mål", level)
    pdf.bullets(plan.goals, numbered=True, empty="Handlingsplanen saknar mål.")
    pdf.heading("Åtgärder – vem gör vad och när", level)
    if plan.actions:
        pdf.grid(
            ACTION_HEADINGS,
            [
                (
                    a.description,
                    a.owner or "–",
                    short_date(a.due_on) + (" (försenad)" if a.overdue else ""),
                    a.status_label,
                )
                for a in plan.actions
            ],
            ACTION_WIDTHS,
        )
    else:
        pdf.paragraph(None, empty="Handlingsplanen saknar åtgärder.")
    if plan.note:
        pdf.heading("Kommentar", level=3)
        pdf.paragraph(plan.note)


def write_roles(pdf: Document, roles: tuple[RoleView, ...]) -> None:
    if roles:
        pdf.fields([(r.label, r.person_name) for r in roles])


def write_network(pdf: Document, entries: tuple[NetworkEntryView, ...]) -> None:
    if not entries:
        pdf.paragraph(None, empty="Nätverkskartan är tom.")
        return
    pdf.grid(
        NETWORK_HEADINGS,
        [(e.name, e.kind_label, e.relation or "–") for e in entries],
        NETWORK_WIDTHS,
    )


def _no_follow_up(document: PlanDocument) -> str:
    if document.case_closed:
        return "Ärendet är avslutat"
    return "Ersatt av en senare version" if document.superseded else "Inte bestämd"


def _day(day: date | None, empty: str) -> str:
    return long_date(day) if day is not None else empty
