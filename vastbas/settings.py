"""Settings read once from VASTBAS_* environment variables (and DATABASE_URL)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Everything configurable; `from_env` is the only place the environment is read."""

    database_url: str | None = None
    base_url: str = "http://127.0.0.1:5000"
    mail_from: str = "Västbas <noreply@vastbas.example>"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = 10.0
    sweep_interval_s: int = 60
    outbox_interval_s: int = 30
    digest_hour: int = 7
    lease_s: int = 300
    batch_size: int = 500
    max_send_attempts: int = 8
    embedded_scheduler: bool = True
    # Gallring: closed cases lose their personal data this many months after closing.
    gallring_months: int = 24

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"VASTBAS_{name}")
            return value if value not in (None, "") else None

        def number(name: str, default: int) -> int:
            value = get(name)
            return int(value) if value is not None else default

        security = (get("SMTP_SECURITY") or "none").lower()
        if security not in ("none", "starttls", "ssl"):
            raise ValueError("VASTBAS_SMTP_SECURITY must be none, starttls or ssl")
        gallring_months = number("GALLRING_MONTHS", cls.gallring_months)
        if gallring_months < 1:
            raise ValueError("VASTBAS_GALLRING_MONTHS must be at least 1")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            base_url=(get("BASE_URL") or cls.base_url).rstrip("/"),
            mail_from=get("MAIL_FROM") or cls.mail_from,
            smtp_host=get("SMTP_HOST"),
            smtp_port=number("SMTP_PORT", 465 if security == "ssl" else 25),
            smtp_security=security,
            smtp_user=get("SMTP_USER"),
            smtp_password=get("SMTP_PASSWORD"),
            sweep_interval_s=number("SWEEP_INTERVAL", cls.sweep_interval_s),
            outbox_interval_s=number("OUTBOX_INTERVAL", cls.outbox_interval_s),
            digest_hour=number("DIGEST_HOUR", cls.digest_hour),
            lease_s=number("LEASE_SECONDS", cls.lease_s),
            batch_size=number("BATCH_SIZE", cls.batch_size),
            max_send_attempts=number("MAX_SEND_ATTEMPTS", cls.max_send_attempts),
            embedded_scheduler=(get("EMBEDDED_SCHEDULER") or "1").lower()
            not in ("0", "false", "no"),
            gallring_months=gallring_months,
        )
