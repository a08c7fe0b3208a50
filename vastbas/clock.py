"""The one source of the current time, so that freezegun and tests can move it."""

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)
