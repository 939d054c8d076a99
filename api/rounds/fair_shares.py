"""Fair shares from the funding formula: transparent, reproducible, summing to exactly 1."""

from decimal import Decimal
from typing import Any

from api.errors import InvalidInput, field_error
from optimiser.money import to_json_number

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


def resolve_formula(
    session, *, formula, organisations: list
) -> tuple[dict[str, float], dict[str, Any], dict[str, Any] | None]:
    """Shares from a formula whose factors come from typed inputs and/or stored facts.

    Returns the shares, the record kept on the round (the formula as given, the inputs resolved
    from facts and the computed shares) and, when facts were used, the formula as the snapshot
    records it (weights, from_facts and every organisation's resolved inputs), so a run
    reproduces offline whatever is imported later. Facts are read for every open organisation of
    the round's system; one without the fact is a 422 naming it."""
    from api.reference.service import resolve_fact_inputs

    given = formula.model_dump(mode="json", exclude_none=True)
    if not formula.from_facts:
        shares = compute_shares(weights=formula.weights, inputs=formula.inputs)
        return shares, {**given, "computed_shares": shares}, None
    unknown = [f for f in formula.from_facts if f not in formula.weights]
    if unknown:
        raise InvalidInput(
            "The fair-share formula is not valid.",
            errors=[
                field_error(f"body.fair_share_formula.from_facts.{f}", f"'{f}' has no weight")
                for f in unknown
            ],
        )
    members = sorted((o for o in organisations if o.closed_on is None), key=lambda o: o.code)
    specs = {f: spec.model_dump(mode="json") for f, spec in formula.from_facts.items()}
    resolved = resolve_fact_inputs(session, organisations=members, from_facts=specs)
    merged: dict[str, dict[str, Decimal | float]] = {
        code: dict(values) for code, values in formula.inputs.items()
    }
    for code, values in resolved.items():
        merged.setdefault(code, {}).update(values)
    shares = compute_shares(
        weights=formula.weights,
        inputs={o: {k: float(v) for k, v in values.items()} for o, values in merged.items()},
    )
    as_numbers = {
        o: {
            k: to_json_number(v) if isinstance(v, Decimal) else v for k, v in sorted(values.items())
        }
        for o, values in sorted(merged.items())
    }
    record = {
        **given,
        "resolved_inputs": {
            o: {k: to_json_number(v) for k, v in values.items()} for o, values in resolved.items()
        },
        "computed_shares": shares,
    }
    in_snapshot = {"weights": dict(formula.weights), "from_facts": specs, "inputs": as_numbers}
    return shares, record, in_snapshot
