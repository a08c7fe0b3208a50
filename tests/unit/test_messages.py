"""The texts of reminders and digests: Swedish dates, subjects, escaping, nothing extra."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vastbas.messages import (
    DigestItem,
    Message,
    case_link,
    case_path,
    digest_message,
    reminder_message,
    swedish_date,
)

LINK = "https://vastbas.kungalv.example/cases/VB-2026-0042"
WHAT = "Nätverksmöte 1 hållet (30-dagarsregeln)"


def reminder(**changes: object) -> Message:
    arguments: dict[str, object] = {
        "reference": "VB-2026-0042",
        "what": WHAT,
        "due_on": date(2026, 12, 1),
        "overdue": False,
        "link": LINK,
    }
    return reminder_message(**{**arguments, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "written"),
    [
        (date(2026, 12, 1), "tisdag 1 december 2026"),
        (date(2026, 1, 4), "söndag 4 januari 2026"),
        (date(2026, 6, 19), "fredag 19 juni 2026"),
        (date(2024, 2, 29), "torsdag 29 februari 2024"),
        (date(2026, 3, 14), "lördag 14 mars 2026"),
        (date(2026, 8, 31), "måndag 31 augusti 2026"),
    ],
)
def test_dates_are_written_in_swedish(day: date, written: str) -> None:
    assert swedish_date(day) == written


def test_every_weekday_and_month_has_its_swedish_name() -> None:
    start = date(2026, 1, 5)  # a Monday
    weekdays = [swedish_date(start + timedelta(days=i)).split()[0] for i in range(7)]
    assert weekdays == ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
    months = [swedish_date(date(2026, m, 1)).split()[2] for m in range(1, 13)]
    assert months[0] == "januari" and months[4] == "maj" and months[11] == "december"
    assert len(set(months)) == 12


def test_a_reminder_names_the_case_what_is_due_by_when_and_the_link() -> None:
    message = reminder(what="Bedömning av förfrågan")
    assert message.subject == "Påminnelse: Bedömning av förfrågan senast 2026-12-01 – VB-2026-0042"
    assert message.body_text == (
        "Påminnelse från Västbas\n\n"
        "Ärende: VB-2026-0042\n"
        "Att göra: Bedömning av förfrågan\n"
        "Senast: tisdag 1 december 2026\n\n"
        f"Öppna ärendet: {LINK}\n\n"
        "Meddelandet innehåller inga uppgifter om barnet. "
        "Logga in i Västbas för att se ärendet.\n"
    )
    assert f'<a href="{LINK}">Öppna ärendet</a>' in message.body_html
    assert "tisdag 1 december 2026" in message.body_html
    assert message.body_html.startswith("<!DOCTYPE html>")


def test_an_overdue_reminder_says_since_when() -> None:
    message = reminder(overdue=True)
    assert message.subject == f"Försenat: {WHAT} sedan 2026-12-01 – VB-2026-0042"
    assert "Försenat i Västbas" in message.body_text
    assert "Skulle vara klart senast: tisdag 1 december 2026" in message.body_text


def test_labels_are_escaped_in_html_and_kept_on_one_line() -> None:
    message = reminder(what='Möte <script>alert("x")</script>\nBcc: x@y', reference="VB-1 & 2")
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;" in message.body_html
    assert "VB-1 &amp; 2" in message.body_html
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "<script>" in message.body_text  # plain text is shown as text, not parsed


def test_a_link_must_be_an_absolute_web_address() -> None:
    for bad in ("javascript:alert(1)", "/cases/VB-1", "https://x.example/a b", "ftp://x/y"):
        with pytest.raises(ValueError):
            reminder(link=bad)
    quoted = reminder(link='https://x.example/"onmouseover="x').body_html
    assert '"onmouseover="' not in quoted and "&#34;onmouseover=&#34;" in quoted


def test_case_links_are_built_from_the_base_url() -> None:
    assert case_path("VB-2026-0042") == "/cases/VB-2026-0042"
    assert case_link("https://v.example/", "VB-2026-0042") == "https://v.example/cases/VB-2026-0042"


def test_a_digest_counts_and_lists_overdue_upcoming_and_assigned() -> None:
    message = digest_message(
        person_name="Anna Andersson",
        overdue=[DigestItem("VB-2026-0001", "Nätverksmöte 1 hållet", date(2026, 11, 27))],
        upcoming=[
            DigestItem("VB-2026-0002", "Förmöte hållet", date(2026, 12, 3)),
            DigestItem("VB-2026-0003", "Utvärdering", date(2026, 12, 14)),
        ],
        assigned=[DigestItem("VB-2026-0004", "Koordinator 1")],
        link="https://v.example/",
    )
    assert message.subject == "Västbas: dagens översikt (1 försenade, 2 kommande)"
    text = message.body_text
    assert text.startswith("Hej Anna Andersson!")
    assert (
        "Försenat (1)\n- VB-2026-0001: Nätverksmöte 1 hållet – senast fredag 27 november 2026"
        in text
    )
    assert "Kommande (2)\n- VB-2026-0002: Förmöte hållet – senast torsdag 3 december 2026" in text
    assert "Nya uppdrag (1)\n- VB-2026-0004: Koordinator 1\n" in text
    assert text.index("Försenat") < text.index("Kommande") < text.index("Nya uppdrag")
    assert (
        "<li>VB-2026-0003: Utvärdering – senast måndag 14 december 2026</li>" in message.body_html
    )


def test_an_empty_digest_says_so_and_escapes_the_name() -> None:
    message = digest_message(
        person_name="<b>Per</b>", overdue=[], upcoming=[], assigned=[], link="https://v.example/"
    )
    assert message.subject == "Västbas: dagens översikt (0 försenade, 0 kommande)"
    assert "Du har inget försenat eller kommande i dag." in message.body_text
    assert "<b>Per</b>" not in message.body_html and "&lt;b&gt;Per&lt;/b&gt;" in message.body_html
    assert "<h2>" not in message.body_html
