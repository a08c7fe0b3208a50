"""The `vastbas` command: database, demo data, workflow files, cases and the web server.

Output for lists never carries a child's name or personnummer; `case show` is an
operator's view of one case and shows the name but masks the personnummer.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas.calendar import STOCKHOLM, local_datetime
from vastbas.errors import VastbasError
from vastbas.models import Case, Notification, Unit
from vastbas.workflow import WorkflowError, load_workflow, workflow_named

SAMORDNARE_ROLES = frozenset({"samordnare", "any_user"})


class _Commands(click.Group):
    """A group that turns the errors a user can meet into a message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (VastbasError, WorkflowError) as exc:
            click.echo(str(exc), err=True)
            ctx.exit(1)
        except sa.exc.DBAPIError as exc:
            # Only the driver's message: the statement's parameters may hold personal data.
            click.echo(
                f"Databasen gick inte att använda ({exc.orig}). "
                "Kontrollera DATABASE_URL och kör `vastbas init-db`.",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Commands)
def cli() -> None:
    """Västbas: samverkan kring barn och unga."""


def main() -> None:
    """Entry point of the `vastbas` console script."""
    cli(prog_name="vastbas")


@contextmanager
def _session() -> Iterator[Session]:
    """A session on DATABASE_URL for one command; the engine goes with it."""
    from vastbas.db import make_engine, session_factory

    engine = make_engine()
    try:
        with session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


@cli.command("init-db")
def init_db() -> None:
    """Migrate the database (DATABASE_URL) to the latest version."""
    from vastbas.db import database_url
    from vastbas.migrations import upgrade_database

    url = database_url()
    upgrade_database(url)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    click.echo(f"Databasen är uppdaterad till senaste versionen: {shown}")


@cli.command()
def demo() -> None:
    """Fill the database with a demo municipality and about forty cases (idempotent)."""
    from vastbas import demo as demo_data
    from vastbas import demo_cases

    on_terminal = sys.stdout.isatty()

    def progress(done: int, total: int) -> None:
        # One line rewritten in place on a terminal; every tenth case in a log.
        if on_terminal:
            click.echo(f"\rSkapar demoärenden {done}/{total} …", nl=False)
        elif done == 1 or done % 10 == 0 or done == total:
            click.echo(f"Skapar demoärenden {done}/{total} …")

    with _session() as db:
        people = demo_data.build_municipality(db)
        made = demo_cases.build_demo_cases(db, people, progress)
        total = db.scalar(sa.select(sa.func.count()).select_from(Case))
    if made:
        if on_terminal:
            click.echo()
        click.echo(f"Klart: {made} demoärenden skapade, {total} ärenden totalt.")
    else:
        click.echo(f"Demodata finns redan ({total} ärenden); inget nytt skapades.")


@cli.group()
def workflow() -> None:
    """Check and draw workflow files."""


@workflow.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def workflow_check(file: Path) -> None:
    """Validate a workflow file; errors name the file and line."""
    process = load_workflow(file)
    steps, moves = len(process.states), len(process.transitions)
    click.echo(f"OK: {process.title}, {steps} steg, {moves} övergångar")


@workflow.command("diagram")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def workflow_diagram(file: Path) -> None:
    """Print the workflow as a Mermaid state diagram."""
    click.echo(load_workflow(file).mermaid(), nl=False)


@cli.group("case")
def case_group() -> None:
    """List and show cases."""


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: nothing that identifies the child."""

    reference: str
    state: str
    step_label: str
    period: int
    outcome: str | None
    unit: str | None
    version: int


def case_rows(db: Session, state: str | None = None) -> list[CaseRow]:
    """Every case (or those in `state`), oldest first, in one query."""
    query = (
        sa.select(
            Case.reference,
            Case.workflow,
            Case.state,
            Case.period,
            Case.outcome,
            Unit.name,
            Case.version,
        )
        .outerjoin(Unit, Case.unit_id == Unit.id)
        .order_by(Case.id)
    )
    if state is not None:
        query = query.where(Case.state == state)
    return [
        CaseRow(ref, st, workflow_named(wf).state(st).label, period, outcome, unit, version)
        for ref, wf, st, period, outcome, unit, version in db.execute(query)
    ]


@case_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Skriv ut som JSON.")
@click.option("--state", help="Bara ärenden i detta steg (t.ex. follow_up).")
def case_list(as_json: bool, state: str | None) -> None:
    """List cases: reference, step, period, outcome and unit."""
    with _session() as db:
        rows = case_rows(db, state)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    table = [
        (r.reference, r.step_label, str(r.period), r.outcome or "", r.unit or "") for r in rows
    ]
    click.echo(_table(("Referens", "Steg", "Period", "Utfall", "Enhet"), table))
    click.echo(f"{len(rows)} ärenden")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


@case_group.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Skriv ut som JSON.")
def case_show(reference: str, as_json: bool) -> None:
    """Show one case, with the samordnare's next transitions and what they still need."""
    with _session() as db:
        details = case_details(db, reference)
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False, indent=2))
    else:
        click.echo(_case_text(details))


def case_details(db: Session, reference: str) -> dict[str, Any]:
    """Everything `case show` prints, as plain data; the personnummer is masked."""
    from vastbas.personnummer_check import mask_personnummer
    from vastbas.services.base import load_case
    from vastbas.services.transitions import transitions_for

    case = load_case(db, reference)
    process = workflow_named(case.workflow)
    plan = case.current_plan
    return {
        "reference": case.reference,
        "state": case.state,
        "step_label": process.state(case.state).label,
        "period": case.period,
        "outcome": case.outcome,
        "outcome_label": process.outcomes.get(case.outcome) if case.outcome else None,
        "version": case.version,
        "unit": case.unit.name if case.unit else None,
        "child_name": case.child_name,
        "personnummer": mask_personnummer(case.child_personnummer),
        "consent": case.active_consent is not None,
        "roles": [
            {
                "role": a.role.value,
                "label": process.roles[a.role.value].label,
                "name": a.person.name,
            }
            for a in case.assignments
            if a.ended_at is None
        ],
        "meetings": [
            {"kind": m.kind.value, "starts_at": _local(m.starts_at), "held": m.held_at is not None}
            for m in case.meetings
        ],
        "plan": None
        if plan is None
        else {
            "version": plan.version,
            "period": plan.period,
            "goals": [g.text for g in plan.goals],
            "actions": [
                {
                    "description": a.description,
                    "owner": a.owner_name,
                    "due_on": a.due_on.isoformat() if a.due_on else None,
                    "status": a.status.value,
                }
                for a in plan.actions
            ],
        },
        "follow_ups": len(case.follow_ups),
        "transitions": [
            {"trigger": t.trigger, "label": t.label, "dest": t.dest, "missing": list(t.missing)}
            for t in transitions_for(case, SAMORDNARE_ROLES)
        ],
    }


def _local(instant: datetime) -> str:
    return local_datetime(instant).strftime("%Y-%m-%d %H:%M")


def _case_text(d: dict[str, Any]) -> str:
    outcome = f" – {d['outcome_label']}" if d["outcome"] else ""
    lines = [
        f"{d['reference']}  {d['step_label']} ({d['state']}){outcome}",
        f"Barn: {d['child_name']}, {d['personnummer']}",
        f"Enhet: {d['unit'] or '–'}   Period: {d['period']}   Version: {d['version']}",
        f"Samtycke: {'ja' if d['consent'] else 'nej'}   Uppföljningar: {d['follow_ups']}",
        "Roller:",
        *(f"  {r['label']}: {r['name']}" for r in d["roles"]),
        "Möten:",
        *(
            f"  {m['kind']}  {m['starts_at']}  {'hållet' if m['held'] else 'ej hållet'}"
            for m in d["meetings"]
        ),
    ]
    plan = d["plan"]
    if plan:
        lines.append(f"Handlingsplan version {plan['version']}:")
        lines += [f"  Mål: {goal}" for goal in plan["goals"]]
        lines += [
            f"  Åtgärd: {a['description']} – {a['owner']}, {a['due_on']} ({a['status']})"
            for a in plan["actions"]
        ]
    lines.append("Möjliga steg för samordnaren:")
    for t in d["transitions"]:
        ready = "klart" if not t["missing"] else "saknas: " + " ".join(t["missing"])
        lines.append(f"  {t['label']} [{t['trigger']}] – {ready}")
    return "\n".join(lines)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--scheduler/--no-scheduler",
    "embedded",
    default=None,
    help="Kör påminnelser och e-post i samma process (standard; VASTBAS_EMBEDDED_SCHEDULER). "
    "Stäng av när `vastbas scheduler` körs.",
)
def serve(host: str, port: int, embedded: bool | None) -> None:
    """Run the web application (every workflow file must load, or it will not start)."""
    from werkzeug.serving import run_simple

    from vastbas.settings import Settings

    # The one place vastbas reaches up into web: the command starts the app it serves.
    from web import create_app

    settings = Settings.from_env()
    app = create_app()
    if not (settings.embedded_scheduler if embedded is None else embedded):
        run_simple(host, port, app, threaded=True)
        return
    from vastbas.scheduler import build_scheduler

    _log_to_stderr()
    scheduler = build_scheduler(settings, app.extensions["vastbas.sessions"])
    scheduler.start()
    try:
        # werkzeug's reloader is off by default and must stay so: it would run this
        # function again in a child process, and with it a second scheduler.
        run_simple(host, port, app, threaded=True)
    finally:
        scheduler.shutdown(wait=True)


@cli.command()
def scheduler() -> None:
    """Run the reminder sweep, the e-mail outbox and the daily digest until stopped."""
    from vastbas.db import make_engine, session_factory
    from vastbas.scheduler import run_forever
    from vastbas.settings import Settings

    _log_to_stderr()
    engine = make_engine()
    try:
        run_forever(Settings.from_env(), session_factory(engine))
    finally:
        engine.dispose()


@cli.command()
@click.option(
    "--now",
    "at",
    metavar="ISO-DATUMTID",
    help="Kör som om klockan vore denna (utan tidszon: svensk tid), t.ex. 2027-03-01T09:00.",
)
def tick(at: str | None) -> None:
    """Run one sweep, the digest and one outbox pass now (or as of --now), and say what was done."""
    from vastbas import clock
    from vastbas.db import make_engine, session_factory
    from vastbas.digest import send_digests
    from vastbas.scheduler import drain_outbox
    from vastbas.settings import Settings
    from vastbas.sweep import sweep

    now = _instant(at) if at else clock.now()
    settings = Settings.from_env()
    engine = make_engine()
    try:
        sessions = session_factory(engine)
        swept = sweep(sessions, settings, now=now)
        digests = send_digests(sessions, settings, now=now)
        sent = drain_outbox(sessions, settings, now=lambda: now, passes=100)
        with sessions() as db:
            waiting = db.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.status.in_(["pending", "sending"]))
            )
    finally:
        engine.dispose()
    click.echo(
        f"Påminnelser: {swept.fired} utlösta, {swept.notifications} meddelanden; "
        f"e-post: {sent.sent} skickade, {waiting} väntar, {sent.failed} misslyckade; "
        f"dagsöversikter: {digests}"
    )


GALLRA_PROGRESS_EVERY = 1000


@cli.command()
@click.option("--dry-run", is_flag=True, help="Visa bara vad som skulle gallras; ändra inget.")
@click.option(
    "--now",
    "at",
    metavar="ISO-DATUMTID",
    help="Räkna som om klockan vore denna (utan tidszon: svensk tid).",
)
def gallra(dry_run: bool, at: str | None) -> None:
    """Remove the personal data of cases closed longer than VASTBAS_GALLRING_MONTHS."""
    from vastbas import clock
    from vastbas.services.gallring import gallra as run_gallring
    from vastbas.settings import Settings

    now = _instant(at) if at else clock.now()
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

    def progress(done: int, total: int) -> None:
        if done % GALLRA_PROGRESS_EVERY == 0 and done < total:
            click.echo(f"Gallrat {done} av {total} ärenden …", err=True)

    with _session() as db:
        report = run_gallring(db, now, settings, dry_run=dry_run, progress=progress)
    last_day = local_datetime(report.cutoff).date() - timedelta(days=1)
    listed = report.due if dry_run else report.thinned
    for item in listed:
        click.echo(f"{item.reference}  avslutat {local_datetime(item.closed_at).date()}")
    scope = f"avslut till och med {last_day}; gallringstid {settings.gallring_months} månader"
    if dry_run:
        click.echo(
            f"Torrkörning, inget har ändrats: {_cases(len(listed))} skulle gallras ({scope})."
        )
        return
    click.echo(f"{_cases(len(listed))} gallrades ({scope}).")
    if report.skipped:
        click.echo(f"{_cases(report.skipped)} ändrades under körningen och väntar till nästa.")
    if report.failed:
        click.echo(
            f"{_cases(len(report.failed))} gick inte att gallra: {', '.join(report.failed)}",
            err=True,
        )
        sys.exit(1)


def _cases(n: int) -> str:
    return f"{n} ärende" if n == 1 else f"{n} ärenden"


def _instant(text: str) -> datetime:
    """An ISO date-time from the command line; without a time zone it is Stockholm time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} är ingen tidpunkt; skriv t.ex. 2027-03-01T09:00", param_hint="--now"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=STOCKHOLM)
    return value.astimezone(UTC)


def _log_to_stderr() -> None:
    """INFO lines for the long-running commands; they carry references and ids only."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Our jobs log their own outcome; APScheduler's per-run lines would double every one.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
