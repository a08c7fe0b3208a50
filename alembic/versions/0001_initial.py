"""Initial tables: cases, the people around them and the audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23 12:58:49.048832

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_counters",
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_reference_counters")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "forskola",
                "skola",
                "socialtjanst",
                "central",
                name="unitkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rektor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rektor_id"],
            ["persons.id"],
            name=op.f("fk_units_rektor_id_persons"),
            ondelete="SET NULL",
            use_alter=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column(
            "organisation",
            sa.Enum(
                "forskola",
                "skola",
                "socialtjanst",
                "central_elevhalsa",
                "extern",
                name="organisation",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "profession",
            sa.Enum(
                "rektor",
                "socialsekreterare",
                "kurator",
                "skolskoterska",
                "psykolog",
                "specialpedagog",
                "larare",
                "forskollarare",
                "fritidsledare",
                "samordnare",
                "annan",
                name="profession",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("in_koordinator_pool", sa.Boolean(), nullable=False),
        sa.Column("pool_active", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_persons_unit_id_units"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("username", name=op.f("uq_persons_username")),
    )
    # units.rektor_id and persons.unit_id point at each other. As in create_all, the
    # rektor link (use_alter) is left out of CREATE TABLE where the database can add
    # it afterwards (PostgreSQL); SQLite, which cannot, keeps it inline.
    if op.get_context().dialect.supports_alter:
        op.create_foreign_key(
            op.f("fk_units_rektor_id_persons"),
            "units",
            "persons",
            ["rektor_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("workflow", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("child_name", sa.String(length=120), nullable=False),
        sa.Column("child_personnummer", sa.String(length=13), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("handlaggare_id", sa.Integer(), nullable=True),
        sa.Column(
            "initiator_kind",
            sa.Enum(
                "foralder",
                "forskola",
                "skola",
                "fritid",
                "socialtjanst",
                "habilitering",
                "bup",
                "polis",
                "annan",
                name="initiatorkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("initiator_name", sa.String(length=120), nullable=True),
        sa.Column("background", sa.Text(), nullable=False),
        sa.Column("child_voice", sa.Text(), nullable=True),
        sa.Column("problem_analysis", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("registered_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["handlaggare_id"], ["persons.id"], name=op.f("fk_cases_handlaggare_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_id"], ["persons.id"], name=op.f("fk_cases_registered_by_id_persons")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    op.create_index(
        op.f("ix_cases_child_personnummer"), "cases", ["child_personnummer"], unique=False
    )
    op.create_index("ix_cases_state_unit", "cases", ["state", "unit_id"], unique=False)
    op.create_table(
        "eht_members",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_eht_members_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_eht_members_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", "person_id", name=op.f("pk_eht_members")),
    )
    op.create_table(
        "person_roles",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("samordnare", "admin", name="systemrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_person_roles_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "role", name=op.f("pk_person_roles")),
    )
    op.create_table(
        "action_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_action_plans_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["persons.id"], name=op.f("fk_action_plans_created_by_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plans")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_action_plans_case_id_version")),
    )
    op.create_index(op.f("ix_action_plans_case_id"), "action_plans", ["case_id"], unique=False)
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "koordinator_1",
                "koordinator_2",
                "kontaktperson",
                "sprakror",
                name="caserole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointed_by_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of_id", sa.Integer(), nullable=True),
        sa.Column("trust_confirmed_by_guardian", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointed_by_id"], ["persons.id"], name=op.f("fk_assignments_appointed_by_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assignments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["on_behalf_of_id"], ["persons.id"], name=op.f("fk_assignments_on_behalf_of_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_assignments_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_case_id"), "assignments", ["case_id"], unique=False)
    op.create_index(
        "ix_assignments_person_open", "assignments", ["person_id", "ended_at"], unique=False
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("given_by", sa.String(length=120), nullable=False),
        sa.Column("actors", sa.JSON(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["persons.id"], name=op.f("fk_consents_recorded_by_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_case_id"), "consents", ["case_id"], unique=False)
    op.create_table(
        "deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ny", "utreds", "atgardad", name="deviationstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_deviations_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["persons.id"], name=op.f("fk_deviations_reported_by_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviations")),
    )
    op.create_index(op.f("ix_deviations_case_id"), "deviations", ["case_id"], unique=False)
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("close", "continue", name="evaluationdecision", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_evaluations_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["persons.id"], name=op.f("fk_evaluations_recorded_by_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(op.f("ix_evaluations_case_id"), "evaluations", ["case_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["persons.id"], name=op.f("fk_events_actor_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_case_at", "events", ["case_id", "at"], unique=False)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "eht",
                "meeting",
                "phone",
                "extra_network_meeting",
                name="followupkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reported_to_koordinator", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_follow_ups_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["persons.id"], name=op.f("fk_follow_ups_recorded_by_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index(op.f("ix_follow_ups_case_id"), "follow_ups", ["case_id"], unique=False)
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "pre_meeting",
                "network_meeting_1",
                "network_meeting_2",
                "follow_up",
                "extra",
                name="meetingkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("invitations_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("booked_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booked_by_id"], ["persons.id"], name=op.f("fk_meetings_booked_by_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_meetings_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(op.f("ix_meetings_case_id"), "meetings", ["case_id"], unique=False)
    op.create_table(
        "network_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "vardnadshavare",
                "familj",
                "anhoriga",
                "tolk",
                "skola",
                "forskola",
                "sjukvard",
                "polis",
                "socialtjanst",
                "elevhalsa",
                "kultur_och_fritid",
                "forsakringskassa",
                "annan",
                name="participantkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("relation", sa.String(length=120), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("on_guest_list", sa.Boolean(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_network_entries_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_network_entries_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_entries")),
    )
    op.create_index(
        op.f("ix_network_entries_case_id"), "network_entries", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_network_entries_person_id"), "network_entries", ["person_id"], unique=False
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.String(length=120), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "started",
                "done",
                "cancelled",
                name="actionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_person_id"], ["persons.id"], name=op.f("fk_actions_owner_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["action_plans.id"],
            name=op.f("fk_actions_plan_id_action_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    op.create_index(op.f("ix_actions_plan_id"), "actions", ["plan_id"], unique=False)
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["action_plans.id"],
            name=op.f("fk_goals_plan_id_action_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    op.create_index(op.f("ix_goals_plan_id"), "goals", ["plan_id"], unique=False)
    op.create_table(
        "meeting_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("network_entry_id", sa.Integer(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("homework", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_participants_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_entry_id"],
            ["network_entries.id"],
            name=op.f("fk_meeting_participants_network_entry_id_network_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_participants")),
    )
    op.create_index(
        op.f("ix_meeting_participants_meeting_id"),
        "meeting_participants",
        ["meeting_id"],
        unique=False,
    )


def downgrade() -> None:
    if op.get_context().dialect.supports_alter:
        op.drop_constraint(op.f("fk_units_rektor_id_persons"), "units", type_="foreignkey")
    op.drop_index(op.f("ix_meeting_participants_meeting_id"), table_name="meeting_participants")
    op.drop_table("meeting_participants")
    op.drop_index(op.f("ix_goals_plan_id"), table_name="goals")
    op.drop_table("goals")
    op.drop_index(op.f("ix_actions_plan_id"), table_name="actions")
    op.drop_table("actions")
    op.drop_index(op.f("ix_network_entries_person_id"), table_name="network_entries")
    op.drop_index(op.f("ix_network_entries_case_id"), table_name="network_entries")
    op.drop_table("network_entries")
    op.drop_index(op.f("ix_meetings_case_id"), table_name="meetings")
    op.drop_table("meetings")
    op.drop_index(op.f("ix_follow_ups_case_id"), table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_index("ix_events_case_at", table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_evaluations_case_id"), table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_index(op.f("ix_deviations_case_id"), table_name="deviations")
    op.drop_table("deviations")
    op.drop_index(op.f("ix_consents_case_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_assignments_person_open", table_name="assignments")
    op.drop_index(op.f("ix_assignments_case_id"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_index(op.f("ix_action_plans_case_id"), table_name="action_plans")
    op.drop_table("action_plans")
    op.drop_table("person_roles")
    op.drop_table("eht_members")
    op.drop_index("ix_cases_state_unit", table_name="cases")
    op.drop_index(op.f("ix_cases_child_personnummer"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("persons")
    op.drop_table("units")
    op.drop_table("reference_counters")
