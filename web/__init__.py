"""The web application: `create_app` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, jsonify

from vastbas import workflow as workflows
from vastbas.db import database_url, make_engine, session_factory

log = logging.getLogger(__name__)

INDEX_PAGE = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><title>Västbas</title></head>
<body>
<h1>Västbas</h1>
<p>Samverkan kring barn och unga enligt Västbasmodellen.</p>
</body>
</html>
"""


def settings_from_env() -> dict[str, Any]:
    """The settings the environment gives: VASTBAS_SECRET_KEY and DATABASE_URL."""
    secret = os.environ.get("VASTBAS_SECRET_KEY")
    if not secret:
        # Without a fixed key, logins do not survive a restart; fine for a demo, not production.
        log.warning("VASTBAS_SECRET_KEY is not set; using a random key for this process")
        secret = secrets.token_hex(32)
    return {"SECRET_KEY": secret, "DATABASE_URL": database_url()}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; a workflow file that does not load stops it here (WorkflowError)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings_from_env())
    if config:
        app.config.from_mapping(config)
    app.extensions["vastbas.workflows"] = load_all_workflows()
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["vastbas.engine"] = engine
    app.extensions["vastbas.sessions"] = session_factory(engine)
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/health", "health", health)
    return app


def load_all_workflows() -> dict[str, workflows.Workflow]:
    """Every workflow file in workflows/, loaded and validated (and cached for the services)."""
    paths = sorted(workflows.WORKFLOW_DIR.glob("*.yaml"))
    return {path.stem: workflows.workflow_named(path.stem) for path in paths}


def index() -> str:
    return INDEX_PAGE


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
