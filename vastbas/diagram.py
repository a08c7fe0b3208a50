"""The process drawn as Mermaid text, from the workflow file alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vastbas.workflow import Workflow


def mermaid(workflow: Workflow) -> str:
    """A Mermaid stateDiagram of every state and transition.

    Transitions allowed from every open state (myndighetsutövning, withdrawn consent)
    are drawn once, from a shared "any open step" node, to keep the picture readable.
    """
    open_count = len(workflow.open_states)
    lines = ["stateDiagram-v2"]
    for state in workflow.states:
        prefix = f"{state.step}. " if state.step else ""
        lines.append(f"    {state.name}: {prefix}{state.label}")
    lines.append(f"    [*] --> {workflow.initial.state}: {workflow.initial.label}")
    from_any_open = False
    for t in workflow.transitions:
        if len(t.sources) == open_count and open_count > 1:
            from_any_open = True
            lines.append(f"    any_open_step --> {t.dest}: {t.label}")
            continue
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {t.label}")
    if from_any_open:
        lines.insert(1, "    any_open_step: Vilket öppet steg som helst")
    for state in workflow.states:
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines) + "\n"
