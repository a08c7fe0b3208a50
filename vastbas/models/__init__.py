"""SQLAlchemy models: the case, the people around it and everything recorded on it.

Instants are stored as UTC (naive on SQLite, aware on PostgreSQL, always aware in
Python); deadlines and due dates are plain dates.
"""

from vastbas.models.audit import LONG_TEXT_MAX, Event
from vastbas.models.base import Base, TextRefused, UTCDateTime
from vastbas.models.case import Assignment, Case, Consent, ReferenceCounter
from vastbas.models.people import Person, PersonRole, Unit, eht_members
from vastbas.models.records import (
    Action,
    ActionPlan,
    Deviation,
    Evaluation,
    FollowUp,
    Goal,
    Meeting,
    MeetingParticipant,
    NetworkMapEntry,
)
from vastbas.models.timers import CaseDeadline, Notification, Timer
from vastbas.models.tokens import ApiToken, TokenKind

__all__ = [
    "LONG_TEXT_MAX", "Action", "ActionPlan", "Assignment", "Base", "Case", "Consent",
    "Deviation", "Evaluation", "Event", "FollowUp", "Goal", "Meeting", "MeetingParticipant",
    "NetworkMapEntry", "Person", "PersonRole", "ReferenceCounter", "TextRefused", "Unit",
    "UTCDateTime", "eht_members", "CaseDeadline", "Notification", "Timer",
    "ApiToken", "TokenKind",
]  # fmt: skip
