"""The efficient frontier: what the portfolio achieves across a range of envelopes."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from optimiser.model import Rules
from optimiser.money import Money
from optimiser.portfolio import totals
from optimiser.problem import prepare
from optimiser.result import Number
from optimiser.snapshot import Snapshot, parse_snapshot
from optimiser.solve import SolveOptions, optimise

DEFAULT_MULTIPLIERS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


class FrontierPoint(BaseModel):
    multiplier: Number
    envelope: Money  # total over the horizon at this multiplier
    status: str
    objective: Number | None
    spend: Money
    funded: int


def frontier(
    snapshot: Snapshot | dict[str, Any],
    multipliers: tuple[float, ...] | list[float] = DEFAULT_MULTIPLIERS,
    options: SolveOptions = SolveOptions(),
) -> list[FrontierPoint]:
    """Objective, spend and funded count with every year's envelope scaled by each multiplier."""
    if not isinstance(snapshot, Snapshot):
        snapshot = parse_snapshot(snapshot)
    options = replace(options, price_rules=False, baseline=False)

    def point(multiplier: float) -> FrontierPoint:
        problem = prepare(snapshot, envelope_multiplier=multiplier)
        optimum = optimise(problem, Rules(), options)
        envelope = sum(snapshot.envelope.values(), Decimal(0)) * Decimal(str(multiplier))
        return FrontierPoint(
            multiplier=multiplier,
            envelope=envelope.quantize(Decimal("0.01")),
            status=optimum.status,
            objective=optimum.objective,
            spend=sum(totals(problem, optimum.chosen).by_year, Decimal(0)),
            funded=len(optimum.chosen),
        )

    # Points are independent solves; HiGHS releases the GIL, so they run side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(point, sorted(multipliers)))
