"""The browser walks' fixtures: the app served in a thread, Debian's Chromium, axe-core.

Registered once for the whole suite (`pytest_plugins` in tests/conftest.py), so every
walk shares one Playwright per process: two session fixtures of the same name imported
into two test modules would start Playwright twice, which its sync API refuses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from e2e.axe import axe_source
from werkzeug.serving import make_server

from vastbas import demo
from vastbas.db import make_engine, session_factory
from vastbas.models import Base

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _missing(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}\nThe browser walk is required in CI.", pytrace=False)
    pytest.skip(message)


@dataclass
class LiveServer:
    url: str
    engine: sa.Engine
    people: demo.People


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file with the demo municipality, served in a thread."""
    from vastbas.services import accounts
    from web import create_app

    # Cheap hashes: the walk logs in many times, and argon2's defaults cost seconds here.
    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    Base.metadata.create_all(engine)
    with session_factory(engine)() as db:
        people = demo.build_municipality(db)
        db.expunge_all()
    app = create_app({"ENGINE": engine, "SECRET_KEY": "e2e-secret", "TESTING": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", engine, people)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    if not CHROMIUM.is_file():
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe(request: pytest.FixtureRequest) -> str:
    """axe.min.js, fetched with npm into pytest's (git-ignored) cache on first use."""
    return axe_source(request.config.cache.mkdir("axe-core"))


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
