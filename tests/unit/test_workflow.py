"""The workflow loader: the real file loads, and every mistake in a file names its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from transitions.core import MachineError

from vastbas.workflow import WORKFLOW_DIR, WorkflowError, load_workflow, workflow_named

REAL_FILE = WORKFLOW_DIR / "vastbas.yaml"
TEN_STEPS = (
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "new_interventions", "evaluation",
)  # fmt: skip
OPEN_BUT_EVALUATION = "[" + ", ".join(TEN_STEPS[:-1]) + "]"
OPEN_BUT_REQUEST = "[" + ", ".join(TEN_STEPS[1:]) + "]"

# A tiny process that is valid as it stands; the tests below break one thing at a time.
MINI = """\
name: mini
title: Mini
reference_prefix: MI
roles:
  samordnare: {label: Samordnare, scope: system}
initial:
  state: a
  trigger: register
  label: Registrera
  roles: [samordnare]
states:
  - name: a
    label: A
  - name: b
    label: B
  - name: closed
    label: Avslutat
    final: true
outcomes:
  referred_to_authority: Myndighetsutövning
  consent_withdrawn: Samtycket återkallat
transitions:
  - trigger: go
    label: Gå vidare
    source: a
    dest: b
    roles: [samordnare]
  - trigger: refer
    label: Myndighetsutövning
    source: EXIT_SOURCES
    dest: closed
    outcome: referred_to_authority
    roles: [samordnare]
  - trigger: withdraw
    label: Samtycket återkallas
    source: EXIT_SOURCES
    dest: closed
    outcome: consent_withdrawn
    roles: [samordnare]
"""


def edited_copy(tmp_path: Path, after: str, old: str, new: str) -> tuple[Path, int]:
    """The real workflow file with one line changed; returns the copy and that line's number.

    The line changed is the first one containing `old` at or after the line containing `after`.
    """
    lines = REAL_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if after in line)
    index = next(i for i in range(start, len(lines)) if old in lines[i])
    lines[index] = lines[index].replace(old, new)
    path = tmp_path / "vastbas.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path, index + 1


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def refused(path: Path) -> str:
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path)
    return str(caught.value)


def test_the_real_file_loads_with_the_ten_steps_and_closed() -> None:
    workflow = load_workflow(REAL_FILE)

    assert tuple(s.name for s in workflow.states) == (*TEN_STEPS, "closed")
    assert tuple(s.name for s in workflow.steps) == TEN_STEPS
    assert [s.step for s in workflow.steps] == list(range(1, 11))
    assert workflow.open_states == TEN_STEPS
    assert workflow.initial.state == "request"


@pytest.mark.parametrize(
    ("after", "old", "new", "message"),
    [
        pytest.param(
            "trigger: accept_case", "dest: offer", "dest: ofer", "unknown state 'ofer'",
            id="unknown-dest-state",
        ),
        pytest.param(
            "trigger: family_accepts", "source: offer", "source: ofer", "unknown state 'ofer'",
            id="unknown-source-state",
        ),
        pytest.param(
            "trigger: start_assessment", "consent_recorded]", "consent_recordd]",
            "unknown guard 'consent_recordd'", id="unknown-guard",
        ),
        pytest.param(
            "trigger: reject_case", "roles: [samordnare]", "roles: [samordnar]",
            "unknown role 'samordnar'", id="unknown-role",
        ),
        pytest.param(
            "trigger: family_accepts", "network_meeting_1]", "network_meeting_one]",
            "unknown deadline 'network_meeting_one'", id="unknown-deadline",
        ),
        pytest.param(
            "lead_times:", "to: network_meeting_2}", "to: network_meeting_3}",
            "unknown deadline 'network_meeting_3'", id="unknown-lead-time-deadline",
        ),
        pytest.param(
            "network_meeting_1:", "late_booking: Mötet", "late_bookin: Mötet",
            "unknown key 'late_bookin'", id="unknown-meeting-rule-key",
        ),
        pytest.param(
            "- name: offer", "label: Erbjudande till", "label: Erbjudande: till",
            "not valid YAML", id="invalid-yaml",
        ),
    ],
)  # fmt: skip
def test_a_mistake_on_a_line_is_reported_with_the_file_and_that_line(
    tmp_path: Path, after: str, old: str, new: str, message: str
) -> None:
    path, line = edited_copy(tmp_path, after, old, new)

    error = refused(path)

    assert error.startswith(f"{path}:{line}: ")
    assert message in error


@pytest.mark.parametrize(
    ("after", "old", "new", "message"),
    [
        pytest.param(
            "trigger: complete_pre_meeting", "network_meeting_1_booked]", "nm1_booked]",
            "unknown guard 'nm1_booked'", id="guard",
        ),
        pytest.param(
            "trigger: refer_to_authority", "roles: [samordnare,", "roles: [samordnare,\n  rektr,",
            "unknown role 'rektr'", id="role",
        ),
    ],
)  # fmt: skip
def test_a_bad_name_in_a_list_over_several_lines_is_reported_on_its_own_line(
    tmp_path: Path, after: str, old: str, new: str, message: str
) -> None:
    # The list's key is on the line above the bad name, which is what the error must name.
    path, _ = edited_copy(tmp_path, after, old, new)
    bad = message.split("'")[1]

    error = refused(path)

    assert message in error
    assert error.startswith(f"{path}:{line_of(path, bad)}: ")


def test_an_unreachable_state_is_reported_on_its_own_line(tmp_path: Path) -> None:
    # accept_case now skips the offer, so nothing leads into it any more.
    path, _ = edited_copy(tmp_path, "trigger: accept_case", "dest: offer", "dest: pre_meeting")

    error = refused(path)

    assert error.startswith(f"{path}:{line_of(path, '- name: offer')}: ")
    assert "state 'offer' cannot be reached" in error


@pytest.mark.parametrize(
    ("trigger", "sources", "state", "outcome"),
    [
        ("refer_to_authority", OPEN_BUT_REQUEST, "request", "referred_to_authority"),
        ("withdraw_consent", OPEN_BUT_EVALUATION, "evaluation", "consent_withdrawn"),
    ],
)
def test_an_open_state_without_one_of_the_two_exits_is_refused(
    tmp_path: Path, trigger: str, sources: str, state: str, outcome: str
) -> None:
    path, _ = edited_copy(tmp_path, f"trigger: {trigger}", "source: open", f"source: {sources}")

    error = refused(path)

    assert error.startswith(f"{path}:{line_of(path, f'- name: {state}')}: ")
    assert f"open state '{state}' has no '{outcome}' exit" in error


def test_the_small_process_is_valid_when_both_exits_leave_every_open_state(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(MINI.replace("EXIT_SOURCES", "open"), encoding="utf-8")

    workflow = load_workflow(path)

    assert workflow.fire("refer", "b") == "closed"


def test_an_open_state_with_no_way_out_is_reported_on_its_own_line(tmp_path: Path) -> None:
    # The exits leave only from a, so b is a dead end.
    path = tmp_path / "mini.yaml"
    path.write_text(MINI.replace("EXIT_SOURCES", "[a]"), encoding="utf-8")

    error = refused(path)

    assert error.startswith(f"{path}:{line_of(path, '- name: b')}: ")
    assert "open state 'b' has no way out" in error


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"

    assert refused(path).startswith(f"{path}: cannot read the file")


def test_the_diagram_names_every_state_with_its_label() -> None:
    workflow = workflow_named("vastbas")

    diagram = workflow.mermaid()

    assert diagram.startswith("stateDiagram-v2\n")
    for state in workflow.states:
        prefix = f"{state.step}. " if state.step else ""
        assert f"    {state.name}: {prefix}{state.label}\n" in diagram


def test_every_transition_in_the_file_moves_the_machine_to_its_destination() -> None:
    workflow = workflow_named("vastbas")

    edges = [(t, source) for t in workflow.transitions for source in t.sources]

    moves = {(t.trigger, source): workflow.fire(t.trigger, source) for t, source in edges}

    assert moves == {(t.trigger, source): t.dest for t, source in edges}
    assert moves[("continue_period", "evaluation")] == "new_interventions"
    assert moves[("withdraw_consent", "request")] == "closed"


@pytest.mark.parametrize(
    ("trigger", "state"),
    [("accept_case", "request"), ("reopen", "evaluation"), ("refer_to_authority", "closed")],
)
def test_the_machine_refuses_a_trigger_not_allowed_from_the_state(trigger: str, state: str) -> None:
    workflow = workflow_named("vastbas")

    with pytest.raises(MachineError):
        workflow.fire(trigger, state)

    assert workflow.machine.models == []


def test_the_machine_is_built_once_and_keeps_no_case_in_memory() -> None:
    workflow = workflow_named("vastbas")
    machine = workflow.machine

    for _ in range(200):
        workflow.fire("start_assessment", "request")
        with pytest.raises(MachineError):
            workflow.fire("start_assessment", "closed")

    assert workflow_named("vastbas") is workflow
    assert workflow.machine is machine
    assert len(workflow.machine.models) == 0
