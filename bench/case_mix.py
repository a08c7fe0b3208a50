"""Which step each generated case is in, what it has been through and what it waits for.

Shares of the steps follow a municipality's mix: most open cases are in the long steps
(interventions, follow-up), a fifth are closed with one of the outcomes. Case number i
always gets the same step, so the totals can be planned before any row is made.
"""

from __future__ import annotations

from vastbas.workflow import Workflow

# The steps in order and how many cases in a hundred are in each (closed: any outcome).
STEPS = (
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "new_interventions", "evaluation",
)  # fmt: skip
SHARES = (6, 6, 12, 7, 7, 7, 16, 10, 5, 6)
CLOSED_SHARE = 18
# How closed cases ended: (outcome, closing trigger, step it was closed from).
ENDINGS = (
    ("completed", "close_case", "evaluation"),
    ("completed", "close_case", "evaluation"),
    ("not_vastbas", "reject_case", "assessment"),
    ("declined_by_family", "family_declines", "offer"),
    ("referred_to_authority", "refer_to_authority", "interventions"),
    ("consent_withdrawn", "withdraw_consent", "network_meeting_1"),
)
# The open deadlines of a case in each step (consent_review and the actions' come on top).
OPEN_DEADLINES = {
    "request": ("assessment",),
    "assessment": ("assessment",),
    "pre_meeting": ("pre_meeting", "network_meeting_1", "invitation"),
    "network_meeting_1": ("network_meeting_1",),
    "network_meeting_2": ("network_meeting_2",),
    "interventions": ("eht_raise", "evaluation", "sprakror_report"),
    "follow_up": ("eht_raise", "evaluation", "sprakror_report"),
    "new_interventions": ("eht_raise", "evaluation", "sprakror_report"),
    "evaluation": ("evaluation", "sprakror_report"),
}
# The changes a case has seen once it is in a step (the step's own work before leaving).
CHANGES = {
    "request": ["register"],
    "assessment": ["start_assessment"],
    "offer": ["appoint_koordinatorer", "accept_case", "record_child_voice"],
    "pre_meeting": ["family_accepts", "set_problem_analysis", *["add_network_entry"] * 5,
                    "appoint_sprakror", "book_meeting", "hold_meeting", "book_meeting"],
    "network_meeting_1": ["complete_pre_meeting", "send_invitations"],
    "network_meeting_2": ["hold_meeting", "complete_network_meeting_1", "book_meeting"],
    "interventions": ["hold_meeting", "create_plan", "appoint_kontaktperson",
                      "complete_network_meeting_2"],
    "follow_up": ["set_action_status", "start_follow_up"],
    "new_interventions": ["record_follow_up", "plan_new_interventions"],
    "evaluation": ["record_follow_up", "start_evaluation"],
}  # fmt: skip
PATTERN = [s for s, share in zip(STEPS, SHARES, strict=True) for _ in range(share)]
PATTERN += ["closed"] * CLOSED_SHARE


def step_of(i: int) -> str:
    """The step case i is in: SHARES spread evenly over the case numbers."""
    return PATTERN[(i * 37) % len(PATTERN)]


def reached_of(i: int) -> tuple[str, tuple[str, str, str] | None]:
    """The furthest step case i got to, and how it ended if it is closed."""
    step = step_of(i)
    if step != "closed":
        return step, None
    ending = ENDINGS[i % len(ENDINGS)]
    return ending[2], ending


def path_to(step: str) -> list[str]:
    """The steps a case went through to get to `step` (step 9 only when it is there)."""
    passed = STEPS[: STEPS.index(step) + 1]
    return [s for s in passed if s != "new_interventions" or step == s]


def change_count(i: int) -> int:
    """How many change events case i has (its reads come on top)."""
    reached, ending = reached_of(i)
    return sum(len(CHANGES[s]) for s in path_to(reached)) + (1 if ending else 0)


def natural_timer_count(i: int, workflow: Workflow) -> int:
    """Pending timers of case i before extra actions: its open deadlines and two actions."""
    names = open_deadlines(i)
    count = sum(len(workflow.deadlines[name].reminders) for name in names)
    if names and has_plan(step_of(i)):
        count += 2 * len(workflow.deadlines["action_due"].reminders)
    return count


def open_deadlines(i: int) -> tuple[str, ...]:
    step = step_of(i)
    if step == "closed":
        return ()
    return (*OPEN_DEADLINES.get(step, ()), "consent_review")


def has_plan(step: str) -> bool:
    return STEPS.index(step) >= STEPS.index("interventions")
