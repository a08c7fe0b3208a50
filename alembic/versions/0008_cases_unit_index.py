"""index cases by unit for the rektor's start page

Revision ID: 0008_cases_unit_index
Revises: 0007_sip
Create Date: 2026-11-23 17:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_cases_unit_index"
down_revision: str | Sequence[str] | None = "0007_sip"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_unit", ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_unit")
