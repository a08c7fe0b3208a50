"""Read models for the pages: one function a page, returning plain frozen dataclasses.

Each function loads everything its page shows with a number of queries that does not grow
with the data (joins and selectinload), so a template never sets off a lazy load
(STYLE.md, point 4). Nothing here changes a case; `record_case_read` only appends to the
audit log. Instants come out in Europe/Stockholm, deadlines as dates.
"""

from vastbas.queries.case_page import (
    ActionView,
    CasePage,
    ChecklistItem,
    ConsentView,
    DeadlineView,
    MeetingView,
    NetworkEntryView,
    ParticipantView,
    PlanVersion,
    PlanView,
    RecordView,
    RoleView,
    StepView,
    TimelineEntry,
    TransitionInfo,
    TransitionView,
    case_page,
    transition_info,
)
from vastbas.queries.common import (
    Choice,
    DeadlineItem,
    all_workflows,
    may_see,
    record_case_read,
    step_choices,
    unit_choices,
)
from vastbas.queries.lists import CaseList, CaseRow, MyCase, MyCases, case_list, my_cases

__all__ = [
    "ActionView", "CaseList", "CasePage", "CaseRow", "ChecklistItem", "Choice", "ConsentView",
    "DeadlineItem", "DeadlineView", "MeetingView", "MyCase", "MyCases", "NetworkEntryView",
    "ParticipantView", "PlanVersion", "PlanView", "RecordView", "RoleView", "StepView",
    "TimelineEntry", "TransitionInfo", "TransitionView", "all_workflows", "case_list",
    "case_page", "may_see", "my_cases", "record_case_read", "step_choices", "transition_info",
    "unit_choices",
]  # fmt: skip
