"""Personal access tokens: for the JSON API, or as the secret of a calendar feed URL.

Only a SHA-256 hash of the secret is stored. The secret is 256 random bits, so a fast
hash is enough (nothing to brute-force, unlike a password) and a lookup is one indexed
query by the hash.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vastbas.models.base import Base


class TokenKind(enum.StrEnum):
    API = "api"
    CALENDAR = "calendar"


class ApiToken(Base):
    """One token of one person; a revoked token stays listed but is refused at once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[TokenKind]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
