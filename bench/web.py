"""Page times through the WSGI app in this process: the case page and Mina ärenden.

Logged in through the login form as koordinatorer with a realistic caseload (the
generator gives each about 40 cases), each request goes through the whole Flask stack
(session, CSRF-protected app, read model, template, the audited read of the case page
committed) with the Flask test client. The samordnare's start page is timed too: it
lists every case in a step the samordnare owns, so it grows with the municipality.
"""

from __future__ import annotations

import random
import re
import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench.common import Figures, Scale, percentile, say
from bench.databases import Database
from vastbas.demo import DEMO_PASSWORD
from vastbas.models import Assignment, Case, Person
from web import create_app

TARGET_P95_MS = 50
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def koordinator_cases(engine: sa.Engine, users: int) -> dict[str, list[str]]:
    """Some koordinatorer, spread over the pool, and the references of their open cases."""
    with engine.connect() as connection:
        pool = connection.execute(
            sa.select(Person.id, Person.username)
            .where(Person.in_koordinator_pool.is_(True))
            .order_by(Person.id)
        ).all()
        chosen = pool[:: max(1, len(pool) // users)][:users]
        found = {}
        for person_id, username in chosen:
            found[username] = list(
                connection.scalars(
                    sa.select(Case.reference)
                    .join(Assignment, Assignment.case_id == Case.id)
                    .where(
                        Assignment.person_id == person_id,
                        Assignment.ended_at.is_(None),
                        Case.closed_at.is_(None),
                    )
                    .order_by(Case.reference)
                )
            )
    return {username: refs for username, refs in found.items() if refs}


def log_in(client: FlaskClient, username: str) -> None:
    """Through the login form, as a browser does."""
    page = client.get("/login").get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, "no CSRF token on /login"
    answer = client.post(
        "/login", data={"csrf_token": match[1], "username": username, "password": DEMO_PASSWORD}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"logging in as {username} failed: {answer.status_code}")


def _timed(client: FlaskClient, path: str, cpu: list[float] | None = None) -> float:
    """Milliseconds for one GET that must answer 200; this process's CPU ms into `cpu`."""
    started, cpu_started = time.perf_counter(), time.process_time()
    answer = client.get(path)
    took = time.perf_counter() - started
    if cpu is not None:
        cpu.append((time.process_time() - cpu_started) * 1000)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code}")
    return took * 1000


def run(database: Database, scale: Scale, figures: Figures) -> None:
    app: Flask = create_app({"ENGINE": database.engine, "SECRET_KEY": "bench"})
    users = koordinator_cases(database.engine, scale.users)
    clients = {}
    for username, references in users.items():
        clients[username] = app.test_client()
        log_in(clients[username], username)
        _timed(clients[username], f"/cases/{references[0]}")  # warm: templates, caches
        _timed(clients[username], "/")
    counts = sorted(len(refs) for refs in users.values())
    say(f"  web: {len(users)} koordinatorer with {counts} open cases")
    chooser = random.Random(6)
    names = list(users)
    cpu: list[float] = []
    pages = [
        _timed(clients[name], f"/cases/{chooser.choice(users[name])}", cpu)
        for name in (names[k % len(names)] for k in range(scale.page_samples))
    ]
    figures.emit("case_page_p50_ms", round(percentile(pages, 50), 2), "ms")
    figures.emit("case_page_p95_ms", round(percentile(pages, 95), 2), "ms", TARGET_P95_MS)
    figures.emit("case_page_cpu_ms_p50", round(percentile(cpu, 50), 2), "ms")
    starts = [
        _timed(clients[names[k % len(names)]], "/") for k in range(max(scale.page_samples // 3, 5))
    ]
    figures.emit("my_cases_p50_ms", round(percentile(starts, 50), 2), "ms")
    figures.emit("my_cases_p95_ms", round(percentile(starts, 95), 2), "ms", TARGET_P95_MS)
    figures.emit("my_cases_koordinator_open_cases", counts[len(counts) // 2], "cases")
    samordnare = app.test_client()
    log_in(samordnare, "samordnare")
    _timed(samordnare, "/")
    own = [_timed(samordnare, "/") for _ in range(3)]
    figures.emit("my_cases_samordnare_p50_ms", round(percentile(own, 50), 2), "ms")
