"""Domain exceptions; the web layer maps each to one HTTP answer."""

from collections.abc import Sequence


class VastbasError(Exception):
    """Base of every error a user can meet; `message` is Swedish and says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(VastbasError):
    """The thing does not exist, or the user may not know that it does."""


class NotAllowed(VastbasError):
    """The user's roles on the case do not allow this."""


class Conflict(VastbasError):
    """The case was changed by someone else since the user loaded it."""

    def __init__(self, current_version: int | None = None) -> None:
        super().__init__("Ärendet har ändrats av någon annan. Ladda om sidan och försök igen.")
        self.current_version = current_version


class RuleBroken(VastbasError):
    """A rule or guard refuses the change; `reasons` lists what is missing or wrong."""

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        self.reasons = list(reasons)
        full = message if not self.reasons else f"{message} " + " ".join(self.reasons)
        super().__init__(full)
        self.message = message


class InvalidInput(VastbasError):
    """Bad input from a form or the command line; `fields` maps field → message."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}
