"""Run the Alembic migrations from code, and check a database against the models."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from vastbas.db import make_engine
from vastbas.models import Base

REPOSITORY = Path(__file__).resolve().parent.parent
ALEMBIC_INI = REPOSITORY / "alembic.ini"


def alembic_config() -> Config:
    """The repository's Alembic configuration, usable from any working directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPOSITORY / "alembic"))
    # The application and pytest own logging; only the alembic command configures it.
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(url: str | None = None, *, engine: sa.Engine | None = None) -> None:
    """Bring a database up to the newest migration.

    Give an engine to migrate exactly what it connects to (say, a PostgreSQL
    schema through search_path); otherwise the URL, then DATABASE_URL, is used.
    """
    own_engine = engine is None
    if engine is None:
        engine = make_engine(url, poolclass=sa.NullPool)
    try:
        # Not engine.begin(): env.py opens the transaction itself, after turning
        # SQLite's foreign keys off, which cannot be done inside one.
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if own_engine:
            engine.dispose()


def pending_differences(engine: sa.Engine) -> list[object]:
    """What autogenerate would change to make the database match the models; [] if nothing."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))
