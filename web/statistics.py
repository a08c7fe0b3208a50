"""Statistik: the samordnare's tables with SVG charts, and each table as CSV for Excel.

Only samordnare and admin come in (others get 403, the anonymous the login page, as in
the administration). The page and the CSV files show the same cells, built once here
from `vastbas.queries.statistics`, which reads no child data at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.charts import bar_chart, grouped_bars, number, stacked_columns
from vastbas.enums import SystemRole
from vastbas.errors import InvalidInput, NotAllowed
from vastbas.queries.common import process_choices, unit_choices
from vastbas.queries.statistics import Statistics, statistics
from web.auth import current_user, login_required
from web.database import get_db

bp = Blueprint("statistics", __name__, url_prefix="/statistik")

SNAPSHOT = "Läget i dag; perioden påverkar inte tabellen."
MAX_ID = 2**31
CHART_ROWS = 40  # bars in the caseload chart (a big pool); the table and CSV have everyone
# Excel starts a formula with these; a cell that is text and starts with one is quoted.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.before_request
def _samordnare_and_admin_only() -> None:
    user = current_user()
    if user is not None and not (
        user.has_role(SystemRole.SAMORDNARE) or user.has_role(SystemRole.ADMIN)
    ):
        raise NotAllowed("Statistiken är till för samordnaren och administratören.")


@dataclass(frozen=True)
class Table:
    """One table of the page: its CSV name, Swedish title and note, cells and chart."""

    slug: str
    title: str
    note: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    chart: str


@dataclass(frozen=True)
class Filters:
    since: date | None
    until: date | None
    unit_id: int | None
    process: str | None = None

    def args(self) -> dict[str, str]:
        """The query string that gives these filters again (for the CSV links)."""
        return {
            "fran": self.since.isoformat() if self.since else "",
            "till": self.until.isoformat() if self.until else "",
            "enhet": str(self.unit_id) if self.unit_id is not None else "",
            "process": self.process or "",
        }

    def query(self) -> dict[str, Any]:
        """The filters as the statistics query takes them."""
        return {
            "since": self.since,
            "until": self.until,
            "unit_id": self.unit_id,
            "process": self.process,
        }


def _date(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Skriv datumen som ÅÅÅÅ-MM-DD, till exempel 2026-03-31.") from None


def filters() -> Filters:
    """The filters of the query string; with none at all, the last twelve months."""
    unit_id = request.args.get("enhet", type=int)
    if unit_id is not None and not 0 < unit_id < MAX_ID:
        unit_id = None  # no such unit; a huge number would not even fit the column
    process = request.args.get("process") or None
    if "fran" not in request.args and "till" not in request.args:
        today = local_date(clock.now())
        start = date(today.year - 1, today.month, 1)
        return Filters(_next_month(start), today, unit_id, process)
    return Filters(_date("fran"), _date("till"), unit_id, process)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@bp.route("")
@login_required
def page() -> Any:
    chosen = filters()
    stats = statistics(get_db(), **chosen.query())
    return render_template(
        "statistics/page.html",
        tables=tables(stats),
        filters=chosen,
        units=unit_choices(get_db()),
        processes=process_choices(),
    )


def csv_download(slug: str) -> Callable[[], Response]:
    @login_required
    def view() -> Response:
        chosen = filters()
        stats = statistics(get_db(), **chosen.query())
        table = next(table for table in tables(stats) if table.slug == slug)
        period = f"{chosen.since or 'start'}_{chosen.until or 'idag'}"
        return Response(
            as_csv(table),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="statistik-{slug}-{period}.csv"'
            },
        )

    view.__name__ = f"csv_{slug}"
    return view


def as_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark and semicolons: what Swedish Excel opens correctly."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_safe(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(cell: str) -> str:
    """A text cell that Excel would run as a formula is quoted; numbers stay numbers."""
    if cell.startswith(FORMULA_START) and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return False
    return True


def tables(stats: Statistics) -> list[Table]:
    """The page's tables, in the order shown; numbers written the Swedish way."""
    return [
        _steps(stats),
        _requests(stats),
        _decisions(stats),
        _lead_times(stats),
        _overdue(stats),
        _caseload(stats),
        _outcomes(stats),
    ]


def _steps(stats: Statistics) -> Table:
    title = "Pågående ärenden per steg"
    rows = [(row.label, row.count) for row in stats.steps]
    return Table("steg", title, SNAPSHOT, ("Steg", "Ärenden"), _cells(rows), bar_chart(title, rows))


def _requests(stats: Statistics) -> Table:
    title = "Nya förfrågningar per månad och initiativtagare"
    series = [
        (name, [row.counts[i] for row in stats.requests])
        for i, name in enumerate(stats.initiator_labels)
    ]
    return Table(
        "forfragningar",
        title,
        "Förfrågningar som kom in under perioden; ett återöppnat ärende räknas inte som ny.",
        ("Månad", *stats.initiator_labels, "Totalt"),
        _cells((row.month, *row.counts, row.total) for row in stats.requests),
        stacked_columns(title, [row.month for row in stats.requests], series),
    )


def _decisions(stats: Statistics) -> Table:
    title = "Bedömningar av nya förfrågningar"
    return Table(
        "bedomningar",
        title,
        "Besluten om en ny förfrågan under perioden, med andelen av processens beslut.",
        ("Beslut", "Ärenden", "Andel (%)"),
        _cells((row.label, row.count, row.share) for row in stats.decisions),
        bar_chart(title, [(row.label, row.count) for row in stats.decisions]),
    )


def _lead_times(stats: Statistics) -> Table:
    title = "Ledtider i dagar"
    series = ("Median", "90:e percentilen")
    return Table(
        "ledtider",
        title,
        "Räknat på det som blev klart under perioden. 90:e percentilen: nio av tio "
        "tog högst så många dagar.",
        ("Ledtid", "Antal", "Median (dagar)", "90:e percentilen (dagar)"),
        _cells((row.label, row.count, row.median_days, row.p90_days) for row in stats.lead_times),
        grouped_bars(
            title,
            series,
            [(row.label, (row.median_days, row.p90_days)) for row in stats.lead_times],
            unit=" d",
        ),
    )


def _overdue(stats: Statistics) -> Table:
    title = "Försenade tidsfrister per steg"
    return Table(
        "forseningar",
        title,
        SNAPSHOT,
        ("Steg", "Försenade tidsfrister", "Ärenden med försening"),
        _cells((row.label, row.deadlines, row.cases) for row in stats.overdue),
        bar_chart(title, [(row.label, row.deadlines) for row in stats.overdue]),
    )


def _caseload(stats: Statistics) -> Table:
    title = "Pågående ärenden per koordinator"
    note = SNAPSHOT + " Alla aktiva i koordinatorpoolen visas, även de utan ärenden."
    if len(stats.caseload) > CHART_ROWS:
        note += f" Diagrammet visar de {CHART_ROWS} med flest ärenden."
    return Table(
        "koordinatorer",
        title,
        note,
        ("Koordinator", "Som koordinator 1", "Som koordinator 2", "Totalt"),
        _cells(
            (row.name, row.koordinator_1, row.koordinator_2, row.total) for row in stats.caseload
        ),
        bar_chart(title, [(row.name, row.total) for row in stats.caseload[:CHART_ROWS]]),
    )


def _outcomes(stats: Statistics) -> Table:
    title = "Utfall vid avslut"
    rows = [(row.label, row.count) for row in stats.outcomes]
    return Table(
        "utfall",
        title,
        "Ärenden som avslutades under perioden.",
        ("Utfall", "Ärenden"),
        _cells(rows),
        bar_chart(title, rows),
    )


def _cells(rows: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(cell if isinstance(cell, str) else number(cell) for cell in row) for row in rows
    )


SLUGS = (
    "steg",
    "forfragningar",
    "bedomningar",
    "ledtider",
    "forseningar",
    "koordinatorer",
    "utfall",
)
# One rule per table, without a URL parameter, so the app's route list names every file.
for _slug in SLUGS:
    bp.add_url_rule(f"/{_slug}.csv", f"csv_{_slug}", csv_download(_slug))
