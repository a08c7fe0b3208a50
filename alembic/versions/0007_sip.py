"""SIP: placement outside the home on a case

Revision ID: 0007_sip
Revises: 0006_gallring
Create Date: 2026-11-30 10:00:00.000000

The new case roles (sammankallande, plan_samordnare) and the meeting kind sip_meeting
need no schema change: enums are stored as VARCHAR(32) without a native type or CHECK
constraint (models/base.py, native_enum=False).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007_sip"
down_revision: str | Sequence[str] | None = "0006_gallring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("placed_outside_home_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("placed_outside_home_at")
