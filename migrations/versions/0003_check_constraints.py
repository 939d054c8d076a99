"""check constraints: enumerations, score ranges and money signs enforced by the database too

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


CRITERIA = ("strategic_fit", "safety_quality", "value_for_money", "deliverability")
# table -> [(constraint name, condition)]; names follow the ck_<table>_<name> convention.
CHECKS = {
    "organisations": [
        ("ck_organisations_kind", _one_of("kind", ("acute", "community", "mental_health", "ambulance",
                                                   "primary_care", "local_authority", "icb", "other"))),
    ],
    "users": [("ck_users_role", _one_of("role", ("admin", "trust", "assessor", "ics_finance", "viewer")))],
    "schemes": [
        ("ck_schemes_category", _one_of("category", ("estates_backlog", "estates_capacity", "digital", "equipment", "other"))),
        ("ck_schemes_business_case_stage", _one_of("business_case_stage", ("none", "soc", "obc", "fbc"))),
        ("ck_schemes_backlog_risk", "backlog_risk IS NULL OR " + _one_of("backlog_risk", ("high", "significant", "moderate", "low"))),
        ("ck_schemes_status", _one_of("status", ("draft", "submitted", "withdrawn", "approved"))),
        ("ck_schemes_max_deferral_years", "max_deferral_years BETWEEN 0 AND 5"),
    ],
    "scheme_costs": [("ck_scheme_costs_amount_not_negative", "amount >= 0")],
    "assessments": [(f"ck_assessments_{c}_0_to_5", f"{c} BETWEEN 0 AND 5") for c in CRITERIA],
    "rounds": [
        ("ck_rounds_status", _one_of("status", ("draft", "open", "closed", "agreed"))),
        ("ck_rounds_fair_share_mode", _one_of("fair_share_mode", ("off", "floor", "band", "soft"))),
        ("ck_rounds_value_model", _one_of("value_model", ("weighted_spend", "benefit_points"))),
    ],
    "round_years": [("ck_round_years_reserve_within_envelope", "reserve >= 0 AND reserve <= envelope")],
}  # fmt: skip


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, condition in checks:
                batch_op.create_check_constraint(op.f(name), condition)


def downgrade() -> None:
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _condition in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
