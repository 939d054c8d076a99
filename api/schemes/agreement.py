"""What a system agreed to fund when it approved a scheme: one definition, used by the
snapshot (an approved scheme held as committed in later rounds) and by delivery (the plan
trusts report against), so the two never disagree with what the optimiser counted."""

from collections.abc import Iterable
from decimal import Decimal

from api.types import financial_year, financial_year_start


def agreed_profile(
    costs: Iterable[tuple[str, Decimal]], *, deferral_years: int | None, from_year: str | None
) -> dict[str, Decimal]:
    """The cost profile from `from_year` (the first year of the run that approved the
    scheme) on, shifted by the agreed deferral. Spend profiled before that year was never in
    the round the optimiser solved, so it is not part of the agreement: shifting it into the
    round's years would spend money the envelope never allowed for (decisions.md)."""
    shift = deferral_years or 0
    first = financial_year_start(from_year) if from_year else None
    return {
        financial_year(financial_year_start(year) + shift): amount
        for year, amount in costs
        if amount > 0 and (first is None or financial_year_start(year) >= first)
    }
