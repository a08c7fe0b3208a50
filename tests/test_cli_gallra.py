"""`vastbas gallra` as an operator runs it, on a SQLite file migrated by `init-db`.

Two cases were closed on 4 March 2024 and one on 1 September 2025; the command runs
"on" 1 June 2026 with the default 24 months, so the first two are due.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import municipality
from click.testing import CliRunner, Result
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import cli as cli_module
from vastbas import demo
from vastbas.calendar import STOCKHOLM
from vastbas.db import make_engine, session_factory
from vastbas.enums import InitiatorKind
from vastbas.models import Case
from vastbas.services import cases

CLOSED_LONG_AGO = datetime(2024, 3, 4, 10, 0, tzinfo=STOCKHOLM)
CLOSED_RECENTLY = datetime(2025, 9, 1, 10, 0, tzinfo=STOCKHOLM)
NOW = "2026-06-01T09:00"
SCOPE = "(avslut till och med 2024-06-01; gallringstid 24 månader)"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli_module.cli, list(args))


def closed_case(db: Session, people: demo.People, n: int) -> str:
    unit = people.units[n % len(people.units)]
    reference = cases.register_request(
        db,
        actor=unit.eht[0].id,
        child_name=f"Barn{n} Gallringsson",
        child_personnummer=demo.child_personnummer(n),
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        background="Hemlig bakgrund.",
    ).reference
    demo.Walker(db, people, reference).fire(
        "refer_to_authority", people.samordnare.id, reason="Hemligt skäl."
    )
    return reference


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A file migrated through the CLI, with the three closed cases; made once."""
    path = tmp_path_factory.mktemp("gallra") / "vastbas.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", f"sqlite:///{path}")
        assert run("init-db").exit_code == 0
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine)() as db:
        with freeze_time(CLOSED_LONG_AGO):
            people = municipality(db)
            first, second = closed_case(db, people, 1), closed_case(db, people, 2)
        with freeze_time(CLOSED_RECENTLY):
            recent = closed_case(db, people, 3)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path, {"first": first, "second": second, "recent": recent}


@pytest.fixture
def database(
    template: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A copy of the template for one test, named by DATABASE_URL."""
    path = tmp_path / "vastbas.sqlite3"
    shutil.copyfile(template[0], path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("VASTBAS_GALLRING_MONTHS", raising=False)
    return {"url": url, **template[1]}


def children(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.select(Case.reference, Case.child_name)).all())
    finally:
        engine.dispose()


def test_a_dry_run_lists_what_would_go_and_changes_nothing(database: dict[str, str]) -> None:
    before = children(database["url"])

    result = run("gallra", "--dry-run", "--now", NOW)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{database['first']}  avslutat 2024-03-04",
        f"{database['second']}  avslutat 2024-03-04",
        f"Torrkörning, inget har ändrats: 2 ärenden skulle gallras {SCOPE}.",
    ]
    assert children(database["url"]) == before
    assert "Gallringsson" not in result.output


def test_gallra_thins_the_due_cases_once_and_shows_progress(
    database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_module, "GALLRA_PROGRESS_EVERY", 1)

    first = run("gallra", "--now", NOW)
    again = run("gallra", "--now", NOW)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"{database['first']}  avslutat 2024-03-04",
        f"{database['second']}  avslutat 2024-03-04",
        f"2 ärenden gallrades {SCOPE}.",
    ]
    assert first.stderr == "Gallrat 1 av 2 ärenden …\n"
    assert again.exit_code == 0, again.output
    assert again.stdout == f"0 ärenden gallrades {SCOPE}.\n"
    names = children(database["url"])
    assert (names[database["first"]], names[database["second"]]) == ("", "")
    assert names[database["recent"]] == "Barn3 Gallringsson"


def test_the_period_comes_from_the_environment(
    database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASTBAS_GALLRING_MONTHS", "6")
    longer = run("gallra", "--dry-run", "--now", NOW)
    monkeypatch.setenv("VASTBAS_GALLRING_MONTHS", "0")
    refused = run("gallra", "--dry-run", "--now", NOW)

    assert longer.exit_code == 0, longer.output
    assert longer.stdout.splitlines()[-1] == (
        "Torrkörning, inget har ändrats: 3 ärenden skulle gallras "
        "(avslut till och med 2025-12-01; gallringstid 6 månader)."
    )
    assert refused.exit_code == 1
    assert "VASTBAS_GALLRING_MONTHS" in refused.output
