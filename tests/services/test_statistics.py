"""Statistics on the fixed data set of tests/statistics_data.py, against hand-counted figures.

The data set is built once per backend (module scope): the statistics only read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from second_workflow import OTHER, two_workflows
from sqlalchemy.orm import Session
from statistics_data import BACKENDS, TODAY, World, world

from vastbas.db import session_factory
from vastbas.errors import InvalidInput
from vastbas.queries.statistics import Statistics, nearest_rank, statistics


@pytest.fixture(scope="module", params=BACKENDS)
def data(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    yield from world(request, tmp_path_factory)


@pytest.fixture
def reader(data: World) -> Iterator[Session]:
    with session_factory(data.engine)() as db:
        yield db


def stats(
    db: Session,
    since: date | None = None,
    until: date | None = None,
    unit_id: int | None = None,
    process: str | None = "vastbas",
) -> Statistics:
    """The figures of the data set, whose cases are all Västbas cases."""
    return statistics(db, since=since, until=until, unit_id=unit_id, process=process, today=TODAY)


def by_state(rows: tuple, field: str = "count") -> dict[str, int]:
    """The non-zero rows of a per-step table, by state."""
    return {row.key: getattr(row, field) for row in rows if getattr(row, field)}


def test_every_table_of_the_whole_data_set_matches_the_hand_count(reader: Session) -> None:
    result = stats(reader)

    # Open cases now: 2 in request, 4 in offer, 6 in pre_meeting, 10 in NM2, 9 in interventions.
    assert by_state(result.steps) == {
        "request": 1, "offer": 1, "pre_meeting": 1, "network_meeting_2": 1, "interventions": 1,
    }  # fmt: skip
    assert [row.label for row in result.steps][:2] == ["1. Förfrågan", "2. Bedömning"]
    assert len(result.steps) == 10  # every open step, zeros too

    # Case 5 came in at 00:30 on 1 March, Stockholm time: March, not February.
    kinds = result.initiator_kinds
    months = {row.month: dict(zip(kinds, row.counts, strict=True)) for row in result.requests}
    assert [row.month for row in result.requests] == [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
    ]  # fmt: skip
    assert {m: {k: n for k, n in c.items() if n} for m, c in months.items()} == {
        "2026-01": {"skola": 1, "foralder": 1},
        "2026-02": {"skola": 1, "bup": 1},
        "2026-03": {"socialtjanst": 1, "skola": 1},
        "2026-04": {"skola": 2, "foralder": 1},
        "2026-05": {"habilitering": 1, "skola": 1, "polis": 1},
    }
    assert [row.total for row in result.requests] == [2, 2, 2, 3, 3]

    # Nine accepted (3, 4, 6–12), two not (1, 5).
    assert [(d.decision, d.count, d.share) for d in result.decisions] == [
        ("accept_case", 9, 81.8),
        ("reject_case", 2, 18.2),
    ]

    # Request to plan: 21, 28, 35, 35 days; plan to evaluation: 147 and 154 days.
    request_to_plan, plan_to_evaluation = result.lead_times
    assert (request_to_plan.count, request_to_plan.median_days, request_to_plan.p90_days) == (
        4, 31.5, 35.0,
    )  # fmt: skip
    assert (plan_to_evaluation.count, plan_to_evaluation.median_days) == (2, 150.5)
    assert plan_to_evaluation.p90_days == 154.0

    # Overdue today: case 2's assessment; case 6's förmöte and network meeting 1; case 10's
    # network meeting 2; case 9's EHT raise, språkrör report and both actions' due dates.
    assert by_state(result.overdue, "deadlines") == {
        "request": 1, "pre_meeting": 2, "network_meeting_2": 1, "interventions": 4,
    }  # fmt: skip
    assert by_state(result.overdue, "cases") == {
        "request": 1, "pre_meeting": 1, "network_meeting_2": 1, "interventions": 1,
    }  # fmt: skip

    assert {o.key: o.count for o in result.outcomes} == {
        "completed": 2,
        "not_vastbas": 2,
        "declined_by_family": 1,
        "referred_to_authority": 1,
        "consent_withdrawn": 1,
    }


def test_all_processes_list_each_processs_own_steps_with_the_same_figures(
    reader: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every case of the data set is Västbas: a second process adds rows of zeros only."""
    vastbas = stats(reader)
    with contextmanager(two_workflows)(monkeypatch, tmp_path):
        both = stats(reader, process=None)
        other = stats(reader, process=OTHER)

    steps = len(vastbas.steps)
    assert len(both.steps) == 2 * steps
    assert [row.label for row in both.steps][steps : steps + 2] == [
        "Västbas: 1. Förfrågan", "Västbas: 2. Bedömning",
    ]  # fmt: skip
    assert [row.count for row in both.steps[steps:]] == [row.count for row in vastbas.steps]
    assert not any(row.count for row in both.steps[:steps])
    assert [(d.label, d.count) for d in both.decisions[2:]] == [
        ("Västbas: Västbasärende – koordinatorerna tar över", 9),
        ("Västbas: Inte ett Västbasärende", 2),
    ]
    assert [lead.count for lead in both.lead_times] == [0, 0, 4, 2]
    assert both.outcomes == vastbas.outcomes and both.requests == vastbas.requests
    assert not any(row.count for row in other.steps) and other.requests == ()
    with pytest.raises(InvalidInput, match="Processen finns inte"):
        stats(reader, process="okand")


def test_caseload_counts_open_cases_per_koordinator_most_loaded_first(
    reader: Session, data: World
) -> None:
    result = stats(reader)
    pool = data.koordinatorer
    loads = {row.person_id: (row.koordinator_1, row.koordinator_2) for row in result.caseload}
    # Open cases 4, 6, 9 have koordinator2 + koordinator21; case 10 koordinator21 + koordinator3.
    assert loads[pool["koordinator21"]] == (1, 3)
    assert loads[pool["koordinator2"]] == (3, 0)
    assert loads[pool["koordinator3"]] == (0, 1)
    assert [row.total for row in result.caseload[:4]] == [4, 3, 1, 0]
    assert len(result.caseload) == 30  # the whole active pool, the idle too
    assert sum(row.total for row in result.caseload) == 8


def test_a_period_counts_what_happened_between_its_stockholm_days(reader: Session) -> None:
    """7 April to 1 July: case 7 (00:30 on 7 April) is in; case 11's closing (00:30 on
    2 July, still 1 July in UTC) is out."""
    result = stats(reader, since=date(2026, 4, 7), until=date(2026, 7, 1))

    assert [(row.month, row.total) for row in result.requests] == [
        ("2026-04", 3), ("2026-05", 3), ("2026-06", 0), ("2026-07", 0),
    ]  # fmt: skip
    assert [(d.count, d.share) for d in result.decisions] == [(6, 100.0), (0, 0.0)]
    request_to_plan, plan_to_evaluation = result.lead_times
    assert (request_to_plan.count, request_to_plan.median_days) == (4, 31.5)
    assert (plan_to_evaluation.count, plan_to_evaluation.median_days) == (0, None)
    assert {o.key: o.count for o in result.outcomes if o.count} == {"consent_withdrawn": 1}
    # The snapshots show today whatever the period.
    assert result.steps == stats(reader).steps
    assert result.overdue == stats(reader).overdue


def test_a_unit_shows_only_its_own_cases(reader: Session, data: World) -> None:
    """Unit U1 has cases 2, 4, 8, 10 and 12."""
    result = stats(reader, unit_id=data.units[1])

    assert by_state(result.steps) == {"request": 1, "offer": 1, "network_meeting_2": 1}
    assert [(row.month, row.total) for row in result.requests] == [
        ("2026-01", 1), ("2026-02", 1), ("2026-03", 0), ("2026-04", 1), ("2026-05", 2),
    ]  # fmt: skip
    assert [(d.count, d.share) for d in result.decisions] == [(4, 100.0), (0, 0.0)]
    request_to_plan, plan_to_evaluation = result.lead_times
    assert (request_to_plan.count, request_to_plan.median_days, request_to_plan.p90_days) == (
        1, 21.0, 21.0,
    )  # fmt: skip
    assert plan_to_evaluation.median_days == 147.0
    assert by_state(result.overdue, "deadlines") == {"request": 1, "network_meeting_2": 1}
    pool = data.koordinatorer
    loads = {row.person_id: row.total for row in result.caseload if row.total}
    assert loads == {pool["koordinator21"]: 2, pool["koordinator2"]: 1, pool["koordinator3"]: 1}
    assert {o.key: o.count for o in result.outcomes if o.count} == {
        "completed": 1,
        "consent_withdrawn": 1,
    }


def test_an_empty_period_has_zero_rows_and_no_percentages(reader: Session) -> None:
    result = stats(reader, since=date(2025, 1, 1), until=date(2025, 2, 28))

    assert [(row.month, row.total) for row in result.requests] == [("2025-01", 0), ("2025-02", 0)]
    assert [d.share for d in result.decisions] == [None, None]
    assert all(lead.count == 0 and lead.p90_days is None for lead in result.lead_times)
    assert not any(o.count for o in result.outcomes)


def test_a_period_that_ends_before_it_begins_or_outside_the_century_is_refused(
    reader: Session,
) -> None:
    with pytest.raises(InvalidInput, match="första dag ligger efter"):
        stats(reader, since=date(2026, 5, 1), until=date(2026, 4, 1))
    with pytest.raises(InvalidInput, match="mellan 2000-01-01 och 2099-12-31"):
        stats(reader, until=date(9999, 12, 31))


def test_two_runs_compare_equal_and_hold_no_child_data(reader: Session, data: World) -> None:
    first, second = stats(reader), stats(reader)
    assert first == second
    text = repr(first)
    for secret in (*data.child_names, *data.personnummer):
        assert secret not in text


def test_the_90th_percentile_is_the_nearest_rank() -> None:
    assert nearest_rank([21.0, 28.0, 35.0, 35.0], 0.9) == 35.0
    assert nearest_rank([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert nearest_rank([float(n) for n in range(1, 12)], 0.9) == 10.0
    assert nearest_rank([7.0], 0.9) == 7.0
