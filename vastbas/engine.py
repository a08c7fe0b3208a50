"""Which transitions a person may fire on a case now, and what each still needs."""

from __future__ import annotations

from dataclasses import dataclass

from vastbas.guards import CaseFacts, missing_for
from vastbas.workflow import TransitionDef, Workflow


@dataclass(frozen=True)
class AvailableTransition:
    """A trigger the person's roles allow from the current step, with its checklist."""

    trigger: str
    label: str
    dest: str
    missing: tuple[str, ...]
    requires_reason: bool
    confirm: bool

    @property
    def ready(self) -> bool:
        return not self.missing


def available_transitions(
    workflow: Workflow, facts: CaseFacts, roles: frozenset[str]
) -> list[AvailableTransition]:
    """Every trigger from the case's step that one of `roles` may fire, ready or not."""
    return [_available(t, facts) for t in workflow.transitions_from(facts.state) if t.roles & roles]


def _available(transition: TransitionDef, facts: CaseFacts) -> AvailableTransition:
    return AvailableTransition(
        trigger=transition.trigger,
        label=transition.label,
        dest=transition.dest,
        missing=tuple(missing_for(transition.guards, facts)),
        requires_reason=transition.requires_reason,
        confirm=transition.confirm,
    )
