"""The texts of reminder and digest messages, in Swedish, as plain text and HTML.

Privacy (DESIGN.md, "Privacy in messages"): a message carries the case reference, what is
due, the date and a link — never the child's name, personnummer or any detail of the case.
001 asks for mails that reveal no person; we go further than its initials-and-birth-date
rule, so the functions here take no argument that could carry such a detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

from markupsafe import Markup

WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip
PRIVACY_NOTE = (
    "Meddelandet innehåller inga uppgifter om barnet. Logga in i Västbas för att se ärendet."
)


@dataclass(frozen=True)
class Message:
    """A rendered message: one subject line, a plain-text body and the same as HTML."""

    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest: a case reference, what is due on it, and by when (if dated)."""

    reference: str
    what: str
    due_on: date | None = None


def swedish_date(day: date) -> str:
    """A date as Swedes write it in a sentence: "tisdag 1 december 2026"."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def case_path(reference: str) -> str:
    """The path of a case's page in the web app."""
    return f"/cases/{quote(reference, safe='')}"


def case_link(base_url: str, reference: str) -> str:
    """The absolute link to a case's page, for messages read outside the app."""
    return base_url.rstrip("/") + case_path(reference)


def reminder_message(
    *,
    reference: str,
    what: str,
    due_on: date,
    overdue: bool,
    link: str,
    subject: str | None = None,
) -> Message:
    """A reminder that `what` is due (or overdue) on case `reference`, with a link to it.

    `subject` is the workflow file's own subject line for the deadline, if it has one
    (SIP's "Kallelse till samordnad individuell plan", 001 p. 8); it replaces ours.
    """
    reference, what = _one_line(reference), _one_line(what)
    _check_link(link)
    own_subject = None if subject is None else _one_line(subject)
    if overdue:
        subject = f"Försenat: {what} sedan {due_on.isoformat()} – {reference}"
        heading = "Försenat i Västbas"
        when_label = "Skulle vara klart senast"
    else:
        subject = f"Påminnelse: {what} senast {due_on.isoformat()} – {reference}"
        heading = "Påminnelse från Västbas"
        when_label = "Senast"
    subject = own_subject or subject
    when = swedish_date(due_on)
    text = (
        f"{heading}\n\n"
        f"Ärende: {reference}\n"
        f"Att göra: {what}\n"
        f"{when_label}: {when}\n\n"
        f"Öppna ärendet: {link}\n\n"
        f"{PRIVACY_NOTE}\n"
    )
    html = _page(
        subject,
        Markup(
            "<h1>{}</h1>\n<p>Ärende: <strong>{}</strong><br>\nAtt göra: {}<br>\n{}: {}</p>\n"
        ).format(heading, reference, what, when_label, when)
        + _link_paragraph("Öppna ärendet", link),
    )
    return Message(subject=subject, body_text=text, body_html=html)


def digest_message(
    *,
    person_name: str,
    overdue: list[DigestItem],
    upcoming: list[DigestItem],
    assigned: list[DigestItem],
    link: str,
) -> Message:
    """A person's daily overview: what is overdue, what is coming, and new assignments."""
    _check_link(link)
    subject = f"Västbas: dagens översikt ({len(overdue)} försenade, {len(upcoming)} kommande)"
    sections = [
        (f"Försenat ({len(overdue)})", overdue),
        (f"Kommande ({len(upcoming)})", upcoming),
        (f"Nya uppdrag ({len(assigned)})", assigned),
    ]
    shown = [(title, items) for title, items in sections if items]
    greeting = f"Hej {_one_line(person_name)}!"
    text_parts = [greeting, ""]
    html = Markup("<p>{}</p>\n").format(greeting)
    if not shown:
        text_parts += ["Du har inget försenat eller kommande i dag.", ""]
        html += Markup("<p>Du har inget försenat eller kommande i dag.</p>\n")
    for title, items in shown:
        text_parts += [title, *(f"- {_item_text(item)}" for item in items), ""]
        html += Markup("<h2>{}</h2>\n<ul>\n").format(title)
        html += Markup("").join(Markup("<li>{}</li>\n").format(_item_text(i)) for i in items)
        html += Markup("</ul>\n")
    text_parts += [f"Öppna Västbas: {link}", "", PRIVACY_NOTE, ""]
    html += _link_paragraph("Öppna Västbas", link)
    return Message(subject=subject, body_text="\n".join(text_parts), body_html=_page(subject, html))


def _item_text(item: DigestItem) -> str:
    line = f"{_one_line(item.reference)}: {_one_line(item.what)}"
    return line if item.due_on is None else f"{line} – senast {swedish_date(item.due_on)}"


def _link_paragraph(label: str, link: str) -> Markup:
    return Markup('<p><a href="{0}">{1}</a><br>\n{0}</p>\n<p><small>{2}</small></p>\n').format(
        link, label, PRIVACY_NOTE
    )


def _page(title: str, content: Markup) -> str:
    return str(
        Markup(
            '<!DOCTYPE html>\n<html lang="sv">\n<head><meta charset="utf-8"><title>{}</title>'
            "</head>\n<body>\n{}</body>\n</html>\n"
        ).format(title, content)
    )


def _one_line(value: str) -> str:
    """Collapse whitespace, so no label can break a header line or the layout."""
    return " ".join(str(value).split())


def _check_link(link: str) -> None:
    # A message link is ours, built from base_url; anything else (javascript:, a bare
    # path a mail reader cannot open, a space that cuts it in plain text) is a bug.
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(link.split()) != 1:
        raise ValueError(f"not an absolute http(s) link: {link!r}")
