"""The web application: `create_app` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, jsonify
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from vastbas import workflow as workflows
from vastbas.db import database_url, make_engine, session_factory
from web import auth, errors, i18n, reads, security
from web.database import close_db
from web.forms import ID_MAX

log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """`<int:…>` in a route, at most ID_MAX: a larger number names nothing (404).

    Without the bound, an id beyond 64 bits reached SQLite, whose driver fails on it (500).
    """

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(url_map, *args, **kwargs)


def settings_from_env() -> dict[str, Any]:
    """The settings the environment gives: VASTBAS_SECRET_KEY and DATABASE_URL."""
    secret = os.environ.get("VASTBAS_SECRET_KEY")
    if not secret:
        # Without a fixed key, logins do not survive a restart; fine for a demo, not production.
        log.warning("VASTBAS_SECRET_KEY is not set; using a random key for this process")
        secret = secrets.token_hex(32)
    return {
        "SECRET_KEY": secret,
        "DATABASE_URL": database_url(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("VASTBAS_HTTPS", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_PROVIDER": "password",
    }


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; a workflow file that does not load stops it here (WorkflowError)."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter
    app.config.from_mapping(settings_from_env())
    if config:
        app.config.from_mapping(config)
    app.extensions["vastbas.workflows"] = load_all_workflows()
    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["vastbas.engine"] = engine
    app.extensions["vastbas.sessions"] = session_factory(engine)
    csrf = CSRFProtect(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    reads.init_app(app)
    app.teardown_appcontext(close_db)
    app.register_blueprint(auth.bp)
    for blueprint in _page_blueprints():
        app.register_blueprint(blueprint)
    # The API authenticates by bearer token only, never a cookie: nothing for CSRF to ride on.
    csrf.exempt(app.blueprints["api"])
    app.add_url_rule("/health", "health", health)
    return app


def _page_blueprints() -> list[Any]:
    """The blueprints of the pages, one per area."""
    from web import (
        admin,
        api,
        assignments,
        cases,
        deviations,
        documents,
        feed,
        meetings,
        records,
        sip_records,
        statistics,
        tokens,
    )

    return [
        cases.bp, assignments.bp, meetings.bp, records.bp, documents.bp, admin.bp,
        tokens.bp, feed.bp, api.bp, statistics.bp, deviations.bp, sip_records.bp,
    ]  # fmt: skip


def load_all_workflows() -> dict[str, workflows.Workflow]:
    """Every workflow file in workflows/, loaded and validated (and cached for the services)."""
    paths = sorted(workflows.WORKFLOW_DIR.glob("*.yaml"))
    return {path.stem: workflows.workflow_named(path.stem) for path in paths}


def health() -> tuple[Any, int]:
    """Is the app up and can it reach its database? For load balancers and monitoring."""
    engine: sa.Engine = current_app.extensions["vastbas.engine"]
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok"), 200
