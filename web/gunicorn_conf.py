"""Gunicorn settings for production: `gunicorn -c python:web.gunicorn_conf`.

Configured by the environment, like the rest of Västbas:

- VASTBAS_BIND (default 127.0.0.1:8000): where to listen; several separated by commas.
- VASTBAS_WEB_WORKERS (default 2): worker processes.
- VASTBAS_WEB_THREADS (default 4): threads per worker (1 gives the sync worker).
- VASTBAS_WEB_TIMEOUT (default 30): seconds a worker may be silent before it is restarted.

The web workers never run the scheduler (DESIGN.md, "Known pitfalls": every forked worker
would start its own); run `vastbas scheduler` beside them, as many as you like.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from gunicorn.glogging import Logger

from web.security import FEED_SECRET


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "web.wsgi:app"
bind = [part.strip() for part in os.environ.get("VASTBAS_BIND", "127.0.0.1:8000").split(",")]
workers = _number("VASTBAS_WEB_WORKERS", 2)
threads = _number("VASTBAS_WEB_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
raw_env = ["VASTBAS_EMBEDDED_SCHEDULER=0"]
# Without a fixed key every worker would make its own, and a login made by one worker
# would be unknown to the next. One key for all workers at least; set it for restarts.
_key_made_here = not os.environ.get("VASTBAS_SECRET_KEY")
if _key_made_here:
    os.environ["VASTBAS_SECRET_KEY"] = secrets.token_hex(32)
# Each worker builds its own app and connection pool: a pool made before the fork would
# share its sockets between processes.
preload_app = False

# The database's connect timeout (vastbas.db) is shorter than this, so a worker waiting
# for an unreachable database answers 503 before the master gives up on it.
timeout = _number("VASTBAS_WEB_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so slow leaks never pile up; jitter keeps them apart.
max_requests = 2000
max_requests_jitter = 200

accesslog = "-"
errorlog = "-"
loglevel = "info"
# Path only: a query string can hold a search for a child's name (`/cases?sok=…`), and
# the referrer and user agent are dropped for the same reason.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss pid=%(p)s'


class PrivateAccessLogger(Logger):
    """Gunicorn's logger with the secret part of a feed URL masked in the access log."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # The calendar feed's URL is its password (/kalender/<secret>.ics).
        atoms["U"] = FEED_SECRET.sub("/kalender/***", str(atoms.get("U", "")))
        return atoms


logger_class = PrivateAccessLogger

# Gunicorn's control socket defaults to one fixed path in $HOME, which two instances on
# one host would fight over; signals (HUP, TERM, TTIN/TTOU) do the same job.
control_socket_disable = True
proc_name = "vastbas-web"


def on_starting(server: Any) -> None:
    if _key_made_here:
        server.log.warning(
            "VASTBAS_SECRET_KEY is not set: a random key for this run; logins end at restart"
        )
