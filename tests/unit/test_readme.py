"""The README's diagram and set-up commands stay true to the code."""

import re
from pathlib import Path

from vastbas.workflow import WORKFLOW_DIR, load_workflow

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagram_is_the_one_the_workflow_file_draws() -> None:
    text = README.read_text(encoding="utf-8")
    for path in sorted(WORKFLOW_DIR.glob("*.yaml")):
        workflow = load_workflow(path)
        start, end = f"<!-- diagram:{workflow.name} -->", f"<!-- /diagram:{workflow.name} -->"
        block = re.search(rf"{start}\n```mermaid\n(.*?)```\n{end}", text, re.S)
        assert block, f"README has no diagram for {workflow.name}"
        assert block.group(1) == workflow.mermaid(), (
            f"README diagram for {workflow.name} is out of date: "
            f"run `vastbas workflow diagram {path.relative_to(README.parent)}` and paste it"
        )


def test_readme_starts_with_the_two_set_up_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert commands[1] == "bash .ci/run"
    assert "vastbas demo" in commands[0] and "vastbas serve" in commands[0]
