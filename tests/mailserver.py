"""A real SMTP server (aiosmtpd) on a free local port, for every test that sends mail.

`Inbox` is the server's handler: it keeps what it accepts and can refuse addresses, hang
up on one, or hold the n-th message. `MailServer` runs it; it can be made before it is
started, so its port refuses connections until then (an SMTP server that is down).
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from vastbas.settings import Settings


@dataclass
class Received:
    """One accepted message: the envelope, the bytes as they came, and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts.

    `refuse` maps an address to the reply its RCPT gets; `hang_up_on` drops the connection
    at an address's RCPT (once); `hold_at` holds the n-th message without an answer until
    `release` is set, and then refuses it ("451"): its sender never heard "250", so the
    message was not delivered and must come again.
    """

    def __init__(self, hold_at: int | None = None) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.hang_up_on: set[str] = set()
        self.hold_at = hold_at
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.hang_up_on:
            self.hang_up_on.discard(address)
            server.transport.close()
            return "421 4.3.2 Closing"
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.seen += 1
        if self.seen == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=default_policy)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(str(r.message["Message-ID"]) for r in self.received)


def free_port() -> int:
    """A port the OS says is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailServer:
    """An SMTP server on 127.0.0.1; `with MailServer() as mail:` starts and stops it."""

    def __init__(self, inbox: Inbox | None = None) -> None:
        self.inbox = inbox or Inbox()
        self.port = free_port()
        self.settings = Settings(smtp_host="127.0.0.1", smtp_port=self.port, smtp_timeout_s=5)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.inbox.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> MailServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        return self.inbox.received

    def message_ids(self) -> Counter[str]:
        return self.inbox.message_ids()

    def env(self) -> dict[str, str]:
        """The environment that points a `vastbas` process at this server."""
        return {"VASTBAS_SMTP_HOST": "127.0.0.1", "VASTBAS_SMTP_PORT": str(self.port)}
