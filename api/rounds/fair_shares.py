"""Fair shares from the funding formula: transparent, reproducible, summing to exactly 1."""

from api.errors import InvalidInput, field_error

SHARE_DIGITS = 9


def compute_shares(
    *, weights: dict[str, float], inputs: dict[str, dict[str, float]]
) -> dict[str, float]:
    """share_o = sum over factors k of w_k * x_ok / sum_o' x_o'k, rounded to 9 dp, summing to 1."""
    errors = []
    if abs(sum(weights.values()) - 1) > 1e-6 or any(w < 0 for w in weights.values()):
        errors.append(
            field_error("body.fair_share_formula.weights", "weights must be >= 0 and sum to 1")
        )
    totals = dict.fromkeys(weights, 0.0)
    for organisation, values in inputs.items():
        for factor, amount in values.items():
            loc = f"body.fair_share_formula.inputs.{organisation}.{factor}"
            if factor not in weights:
                errors.append(field_error(loc, f"'{factor}' is not one of the formula's factors"))
            elif amount < 0 or amount != amount or amount in (float("inf"), float("-inf")):
                errors.append(field_error(loc, "must be a finite amount, not negative"))
            else:
                totals[factor] += amount
    for factor, total in totals.items():
        if weights.get(factor, 0) > 0 and total <= 0:
            errors.append(
                field_error("body.fair_share_formula.inputs", f"no organisation has any '{factor}'")
            )
    if errors:
        raise InvalidInput("The fair-share formula is not valid.", errors=errors)
    shares = {
        organisation: sum(
            weights[factor] * values.get(factor, 0.0) / totals[factor]
            for factor in weights
            if totals[factor] > 0
        )
        for organisation, values in sorted(inputs.items())
    }
    rounded = {o: round(s, SHARE_DIGITS) for o, s in shares.items()}
    # Put the rounding remainder on the largest share so the total is 1 to 9 dp.
    largest = max(rounded, key=lambda o: (rounded[o], o))
    rounded[largest] = round(1 - sum(v for o, v in rounded.items() if o != largest), SHARE_DIGITS)
    return rounded
