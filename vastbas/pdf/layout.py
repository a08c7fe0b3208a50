"""The page every Västbas PDF shares: A4, a header and a footer with the case reference,
"Sida x av y", Swedish dates, and text that never breaks the build whatever its script.

DejaVu Sans (Debian's fonts-dejavu-core) covers Latin, Greek, Cyrillic and more; without
it the PDF falls back to the core Helvetica, which only knows cp1252. Either way a
character the font cannot draw becomes a close letter (é → e) or "?", so no text a user
typed can crash a document or make fpdf2 log the characters it missed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from fpdf.fonts import FontFace

from vastbas.messages import MONTHS

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVu"
CORE_FAMILY = "Helvetica"
CORE_ENCODING = "cp1252"
MARGIN = 18.0  # mm
LINE = 5.2  # mm, one line of body text
BODY_SIZE = 10
SMALL_SIZE = 8
HEADING_SIZES = {1: 18, 2: 13, 3: 11}
GREY = 90
RULE_GREY = 170
HEADINGS_FILL = 235
LABEL_WIDTH = 48.0  # mm, the label column of a field list
NO_VALUE = "–"
NEWLINES = str.maketrans({"\r": "\n", "\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n"})


def long_date(day: date) -> str:
    """A date as written in Swedish prose: "1 december 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date | None) -> str:
    """A date in a table, as Swedish forms write it: 2026-12-01."""
    return day.isoformat() if day is not None else NO_VALUE


def moment(instant: datetime | None) -> str:
    """A local date and time: "2026-03-16 kl. 14:00"."""
    return f"{instant:%Y-%m-%d} kl. {instant:%H:%M}" if instant is not None else NO_VALUE


def printable(text: str, has_glyph: Callable[[str], bool]) -> str:
    """The text with every character the font can draw; the rest replaced, never raising.

    Line breaks become "\\n", tabs and odd spaces a space; control and format characters
    (zero-width joiners, bidi marks, soft hyphens) go; a letter the font lacks becomes its
    base letter when the font has that (ő → o), otherwise "?".
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n").translate(NEWLINES)):
        category = unicodedata.category(char)
        if char == "\n":
            out.append(char)
        elif char == "\t" or (category.startswith("Z") and not has_glyph(char)):
            out.append(" ")
        elif category.startswith("C"):
            continue
        elif has_glyph(char):
            out.append(char)
        elif not category.startswith("M"):
            out.append(_base_letters(char, has_glyph))
    return "".join(out)


def _base_letters(char: str, has_glyph: Callable[[str], bool]) -> str:
    parts = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
    return "".join(parts) if parts and all(has_glyph(c) for c in parts) else "?"


@cache
def font_files(directory: Path = FONT_DIR) -> dict[str, Path] | None:
    """The DejaVu Sans files by style, or None when the fonts are not installed."""
    found = {style: directory / name for style, name in FONT_FILES.items()}
    return found if all(path.is_file() for path in found.values()) else None


def _in_core_encoding(char: str) -> bool:
    try:
        char.encode(CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


class Document(FPDF):
    """An A4 page in Swedish with the reference in the header and "Sida x av y" below."""

    def __init__(
        self,
        *,
        title: str,
        reference: str,
        footer_note: str,
        created: datetime,
        fonts: dict[str, Path] | None = None,
    ) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.reference = reference
        self.footer_note = footer_note
        if fonts is not None:
            for style, path in fonts.items():
                self.add_font(FAMILY, style, path)
        self.family = FAMILY if fonts is not None else CORE_FAMILY
        self.core_fonts_encoding = CORE_ENCODING  # fpdf2's default is latin-1: no "–" or "•"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        # Metadata carries the reference only: a file's title shows in viewers and indexes.
        self.set_title(f"{title} {reference}")
        self.set_lang("sv-SE")
        self.set_creator("Västbas")
        # A fixed date (not "now") keeps a document the same bytes each time it is built.
        self.set_creation_date(created)
        self.alias_nb_pages()
        self.add_page()

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(printable(text, self._has_glyph))

    def _has_glyph(self, char: str) -> bool:
        if self.is_ttf_font:
            return ord(char) in self.current_font.cmap  # type: ignore[union-attr]
        return _in_core_encoding(char)

    def header(self) -> None:
        self._small()
        self.cell(self.epw / 2, 5, f"Västbas – {self.doc_title}")
        self.cell(self.epw / 2, 5, self.reference, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._rule()
        self.ln(4)
        self._body()

    def footer(self) -> None:
        self.set_y(-MARGIN + 4)
        self._small()
        width = self.epw * 0.75
        self.cell(width, 5, f"{self.reference} · {self.footer_note}")
        self.cell(self.epw - width, 5, f"Sida {self.page_no()} av {{nb}}", align="R")
        self._body()

    # --- building blocks -------------------------------------------------------------------

    def heading(self, text: str, level: int = 2) -> None:
        """A heading that is never left alone at the foot of a page."""
        size = HEADING_SIZES[level]
        self._keep_room(size * 0.5 + 3 * LINE)
        if level > 1 and self.get_y() > self.t_margin + 15:
            self.ln(2 if level == 3 else 4)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self._body()

    def paragraph(self, text: str | None, *, empty: str = NO_VALUE) -> None:
        self.multi_cell(0, LINE, text.strip() if text and text.strip() else empty)
        self.ln(2)

    def fields(self, pairs: Sequence[tuple[str, str | None]]) -> None:
        """Labels in bold on the left, their values beside them."""
        for name, value in pairs:
            self._keep_room(LINE)
            top, page = self.get_y(), self.page
            self.set_font(self.family, "B", BODY_SIZE)
            label_lines = self.multi_cell(
                LABEL_WIDTH - 2,
                LINE,
                name,
                new_x=XPos.RIGHT,
                new_y=YPos.TOP,
                output=MethodReturnValue.LINES,
            )
            self._body()
            self.set_xy(self.l_margin + LABEL_WIDTH, top)
            self.multi_cell(0, LINE, value or NO_VALUE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            if self.page == page:
                self.set_y(max(self.get_y(), top + len(label_lines) * LINE))
        self.ln(2)

    def bullets(self, items: Sequence[str], *, numbered: bool = False, empty: str) -> None:
        if not items:
            self.paragraph(None, empty=empty)
            return
        for i, item in enumerate(items, start=1):
            self.cell(7, LINE, f"{i}." if numbered else "•")
            self.multi_cell(0, LINE, item, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A table, its headings repeated on each page. A row too tall for one page (a very
        long text) turns the whole table into labelled records, which can break anywhere."""
        if not all(self._fits_on_a_page(row, widths) for row in rows):
            for row in rows:
                self.fields(list(zip(headings, row, strict=True)))
                self._rule(light=True)
                self.ln(2)
            return
        with self.table(
            col_widths=tuple(widths),
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADINGS_FILL),
            borders_layout="HORIZONTAL_LINES",
            line_height=LINE,
            text_align="LEFT",
            v_align="TOP",
            padding=(1, 1.5),
        ) as table:
            table.row(list(headings))
            for row in rows:
                table.row(list(row))
        self.ln(3)

    def _fits_on_a_page(self, row: Sequence[str], widths: Sequence[float]) -> bool:
        room = (self.h - self.t_margin - self.b_margin) * 0.7
        total = sum(widths)
        for text, share in zip(row, widths, strict=True):
            width = self.epw * share / total - 3
            lines = self.multi_cell(width, LINE, text, dry_run=True, output=MethodReturnValue.LINES)
            if len(lines) * LINE > room:
                return False
        return True

    def _keep_room(self, height: float) -> None:
        """Start a new page unless `height` fits on this one."""
        if self.will_page_break(height):
            self.add_page()

    def output_bytes(self) -> bytes:
        return bytes(self.output())

    def _rule(self, *, light: bool = False) -> None:
        self.set_draw_color(RULE_GREY if not light else 210)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_draw_color(0)

    def _small(self) -> None:
        self.set_font(self.family, "", SMALL_SIZE)
        self.set_text_color(GREY)

    def _body(self) -> None:
        self.set_font(self.family, "", BODY_SIZE)
        self.set_text_color(0)


def new_document(*, title: str, reference: str, footer_note: str, created: datetime) -> Document:
    """A document in DejaVu Sans when installed, else in the core Helvetica."""
    return Document(
        title=title,
        reference=reference,
        footer_note=footer_note,
        created=created,
        fonts=font_files(),
    )
