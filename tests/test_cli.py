"""The `vastbas` command as an operator uses it, on a SQLite file named by DATABASE_URL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from vastbas import workflow
from vastbas.cli import cli
from vastbas.db import make_engine
from vastbas.models import Case

WORKFLOW_FILE = workflow.WORKFLOW_DIR / "vastbas.yaml"
OPEN_STATES = [
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "new_interventions", "evaluation",
]  # fmt: skip
OUTCOMES = [
    "completed", "not_vastbas", "declined_by_family", "referred_to_authority",
    "consent_withdrawn",
]  # fmt: skip


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated by `init-db` and filled once by `demo` (it takes a few seconds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'vastbas.sqlite3'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", url)
        init = run("init-db")
        assert init.exit_code == 0, init.output
        demo = run("demo")
        assert demo.exit_code == 0, demo.output
        assert "Klart: 57 demoärenden" in demo.output  # 40 Västbas, 17 SIP
        yield url


@pytest.fixture
def demo_db(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", demo_url)
    return demo_url


def listed_cases() -> list[dict[str, object]]:
    result = run("case", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def children(url: str) -> dict[str, tuple[str, str]]:
    """Each case's child, by reference: (name, personnummer), read from the database."""
    engine = make_engine(url)
    query = sa.select(Case.reference, Case.child_name, Case.child_personnummer)
    try:
        with engine.connect() as connection:
            return {ref: (name, pnr) for ref, name, pnr in connection.execute(query)}
    finally:
        engine.dispose()


def test_demo_has_cases_in_every_step_and_with_every_outcome(demo_db: str) -> None:
    every = listed_cases()
    for name in workflow.workflow_names():
        process = workflow.workflow_named(name)
        own = [c for c in every if c["reference"].startswith(f"{process.reference_prefix}-")]
        assert set(process.open_states) <= {c["state"] for c in own}, name
        assert {c["outcome"] for c in own if c["state"] == "closed"} == set(process.outcomes)
    cases = [c for c in every if c["reference"].startswith("VB-")]
    states = [c["state"] for c in cases]
    outcomes = {c["outcome"] for c in cases if c["state"] == "closed"}
    assert 35 <= len(cases) <= 45
    assert all(states.count(state) >= 2 for state in OPEN_STATES), states
    assert "closed" in states
    assert outcomes == set(OUTCOMES)
    assert any(c["period"] == 2 for c in cases)
    assert len({c["unit"] for c in cases}) >= 5
    assert {"reference", "step_label", "version"} <= set(cases[0])


def test_running_demo_again_adds_nothing(demo_db: str) -> None:
    before = len(listed_cases())

    again = run("demo")

    assert again.exit_code == 0, again.output
    assert "inget nytt" in again.output
    assert len(listed_cases()) == before


def test_case_list_can_filter_on_a_step(demo_db: str) -> None:
    result = run("case", "list", "--json", "--state", "follow_up")

    states = {c["state"] for c in json.loads(result.stdout)}
    assert result.exit_code == 0
    assert states == {"follow_up"}


def test_case_list_never_shows_a_childs_name_or_personnummer(demo_db: str) -> None:
    text = run("case", "list").output
    as_json = run("case", "list", "--json").output

    for name, personnummer in children(demo_db).values():
        for output in (text, as_json):
            assert name not in output
            assert personnummer not in output
            assert personnummer.replace("-", "") not in output


def test_case_show_masks_the_personnummer(demo_db: str) -> None:
    case = next(c for c in listed_cases() if c["state"] == "network_meeting_2")
    name, personnummer = children(demo_db)[str(case["reference"])]

    text = run("case", "show", str(case["reference"]))
    as_json = json.loads(run("case", "show", str(case["reference"]), "--json").stdout)

    assert text.exit_code == 0, text.output
    assert personnummer not in text.output
    assert f"{personnummer[:8]}-****" in text.output
    assert name in text.output
    assert as_json["personnummer"] == f"{personnummer[:8]}-****"
    assert {r["role"] for r in as_json["roles"]} >= {"koordinator_1", "koordinator_2"}
    assert [t["trigger"] for t in as_json["transitions"]] == [
        "refer_to_authority",
        "withdraw_consent",
    ]


def test_case_show_tells_the_samordnare_what_is_missing(demo_db: str) -> None:
    waiting = [
        c["reference"]
        for c in listed_cases()
        if c["state"] == "request" and c["reference"].startswith("VB-")
    ]

    shown = [json.loads(run("case", "show", str(ref), "--json").stdout) for ref in waiting]

    missing = {
        case["consent"]: next(
            t["missing"] for t in case["transitions"] if t["trigger"] == "start_assessment"
        )
        for case in shown
    }
    assert missing[True] == []
    assert missing[False] == ["Familjens samtycke är inte registrerat."]


def test_an_unknown_reference_is_an_error(demo_db: str) -> None:
    result = run("case", "show", "VB-1999-9999")

    assert result.exit_code == 1
    assert "finns inte" in result.stderr
    assert "Traceback" not in result.output


def test_the_workflow_file_checks_out() -> None:
    result = run("workflow", "check", str(WORKFLOW_FILE))

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"OK: Västbas, \d+ steg, \d+ övergångar\n", result.stdout)


def broken_copy(tmp_path: Path) -> tuple[Path, int]:
    """The workflow file with one unknown guard, and the line it is on."""
    lines = WORKFLOW_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, 1) if "guards: [consent_recorded]" in text)
    lines[line - 1] = lines[line - 1].replace("consent_recorded", "consent_maybe_recorded")
    path = tmp_path / "vastbas.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path, line


def test_a_workflow_file_with_an_unknown_guard_is_refused_with_its_line(tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path)

    result = run("workflow", "check", str(path))

    assert result.exit_code == 1
    assert f"{path}:{line}:" in result.stderr
    assert "consent_maybe_recorded" in result.stderr
    assert "Traceback" not in result.output


def test_the_diagram_names_every_state() -> None:
    result = run("workflow", "diagram", str(WORKFLOW_FILE))

    assert result.exit_code == 0
    assert result.stdout.startswith("stateDiagram-v2")
    for state in [*OPEN_STATES, "closed"]:
        assert f"    {state}: " in result.stdout


@pytest.fixture
def fresh_workflows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Workflow files loaded anew, so a test may point WORKFLOW_DIR elsewhere."""
    workflow.workflow_named.cache_clear()
    yield
    monkeypatch.undo()
    workflow.workflow_named.cache_clear()


def test_serve_refuses_to_start_with_a_broken_workflow_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_workflows: None
) -> None:
    path, line = broken_copy(tmp_path)
    monkeypatch.setattr(workflow, "WORKFLOW_DIR", tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setattr("werkzeug.serving.run_simple", pytest.fail)

    result = run("serve", "--port", "5999")

    assert result.exit_code == 1
    assert f"{path}:{line}:" in result.stderr


def test_serve_runs_the_web_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = {}
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("VASTBAS_EMBEDDED_SCHEDULER", "0")
    monkeypatch.setattr(
        "werkzeug.serving.run_simple",
        lambda host, port, app, **options: started.update(host=host, port=port, **options),
    )

    result = run("serve", "--port", "5999")

    assert result.exit_code == 0, result.output
    assert started == {"host": "127.0.0.1", "port": 5999, "threaded": True}


def test_a_database_without_tables_asks_for_init_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    result = run("case", "list")

    assert result.exit_code == 1
    assert "init-db" in result.stderr
    assert "Traceback" not in result.output
