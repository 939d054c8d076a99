from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.schemes.models import one_of
from api.systems.models import System

ROUND_STATUSES = ("draft", "open", "closed", "agreed")
MONEY = Numeric(15, 2)


class Round(Base):
    """An allocation exercise for one system: envelope, fair shares, weights and rules."""

    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint(one_of("status", ROUND_STATUSES), name="status"),
        CheckConstraint(
            one_of("fair_share_mode", ("off", "floor", "band", "soft")), name="fair_share_mode"
        ),
        CheckConstraint(
            one_of("value_model", ("weighted_spend", "benefit_points")), name="value_model"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    overcommitment_pct: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(0))
    # Criterion -> weight (sum 1). Floats: weights are ratios, not money.
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    # Organisation code -> share (sum 1), as stored or as computed from the formula.
    fair_shares: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # {"weights": {factor: w}, "inputs": {organisation: {factor: amount}}} or null.
    fair_share_formula: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fair_share_mode: Mapped[str] = mapped_column(String(8), default="off")
    tolerance_pct: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(10))
    fairness_penalty: Mapped[float] = mapped_column(Float, default=1.0)
    # Category -> {"min": "5000000.00", "max": null}: money kept as exact decimal strings.
    category_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    min_deliverability: Mapped[float] = mapped_column(Float, default=0.0)
    value_model: Mapped[str] = mapped_column(String(16), default="weighted_spend")
    deferral_discount: Mapped[float] = mapped_column(Float, default=0.0)
    agreed_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", use_alter=True, name="fk_rounds_agreed_run_id_runs")
    )
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    system: Mapped[System] = relationship(lazy="joined")
    years: Mapped[list["RoundYear"]] = relationship(
        cascade="all, delete-orphan", order_by="RoundYear.year", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class RoundYear(Base):
    """One financial year of a round's horizon: its envelope (CDEL) and top-sliced reserve."""

    __tablename__ = "round_years"
    __table_args__ = (
        CheckConstraint("reserve >= 0 AND reserve <= envelope", name="reserve_within_envelope"),
    )

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[str] = mapped_column(String(7), primary_key=True)
    envelope: Mapped[Decimal] = mapped_column(MONEY)
    reserve: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))


RUN_KINDS = ("allocation", "reallocation")


class Run(Base):
    """One optimisation of a round. Immutable: its snapshot and result never change."""

    __tablename__ = "runs"
    __table_args__ = (CheckConstraint(one_of("kind", RUN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    # "reallocation": a run of an agreed round that re-uses slippage (DESIGN.md section 8).
    kind: Mapped[str] = mapped_column(String(16), default="allocation", server_default="allocation")
    # When a re-allocation was agreed (its funded candidates approved); null otherwise.
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    snapshot_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Schemes of the system left out of the snapshot, and why (e.g. a withdrawn dependency).
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    solver: Mapped[str] = mapped_column(String(32))
    solver_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float | None] = mapped_column(Float)
    assemble_seconds: Mapped[float] = mapped_column(Float)
    solve_seconds: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
