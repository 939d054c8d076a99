"""How figures read on a page: £ with separators, £m to one decimal, UK dates, words."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from api.users.models import ROLE_NAMES

UK = ZoneInfo("Europe/London")

CATEGORY_NAMES = {
    "estates_backlog": "Estates backlog",
    "estates_capacity": "Estates capacity",
    "digital": "Digital",
    "equipment": "Equipment",
    "other": "Other",
}
STAGE_NAMES = {"none": "None", "soc": "Strategic outline (SOC)", "obc": "Outline (OBC)",
               "fbc": "Full (FBC)"}  # fmt: skip
RISK_NAMES = {"high": "High", "significant": "Significant", "moderate": "Moderate", "low": "Low"}
OUTCOME_NAMES = {"funded": "Funded", "reserve": "Reserve", "not_funded": "Not funded"}
STATUS_NAMES = {"draft": "Draft", "submitted": "Submitted", "withdrawn": "Withdrawn",
                "approved": "Approved", "open": "Open", "closed": "Closed", "agreed": "Agreed"}  # fmt: skip
MODE_NAMES = {
    "off": "Off: strategy first, no organisational split",
    "floor": "Floor: each organisation gets at least its share (less tolerance)",
    "band": "Band: each organisation within its share, plus or minus the tolerance",
    "soft": "Soft: deviations from the band are penalised, not forbidden",
}
CRITERIA = {
    "strategic_fit": "Strategic fit",
    "safety_quality": "Patient and staff safety, quality and experience",
    "value_for_money": "Value for money",
    "deliverability": "Deliverability",
}


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def pounds(value, pence: bool = False) -> str:
    """£1,234,567 (or £1,234,567.89 with pence); negative as −£1,234."""
    if value is None:
        return "–"
    amount = _decimal(value)
    places = Decimal("0.01") if pence else Decimal("1")
    amount = amount.quantize(places, rounding=ROUND_HALF_UP)
    text = f"{abs(amount):,.2f}" if pence else f"{abs(amount):,.0f}"
    return ("−£" if amount < 0 else "£") + text


def millions(value) -> str:
    """£36.3m: headlines, one decimal."""
    if value is None:
        return "–"
    amount = (_decimal(value) / Decimal(1_000_000)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return ("−£" if amount < 0 else "£") + f"{abs(amount):,.1f}m"


def signed_pounds(value) -> str:
    amount = _decimal(value)
    return ("+" if amount > 0 else "") + pounds(amount)


def percent(value, places: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value) * 100:.{places}f}%"


def uk_date(value) -> str:
    """30 November 2026, 14:05 (UK time) for timestamps; 30 November 2026 for dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(UK)
        return f"{local.day} {local:%B %Y, %H:%M}"
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def current_financial_year(today: date | None = None) -> str:
    today = today or date.today()
    start = today.year if today.month >= 4 else today.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def financial_years(first: str, count: int) -> list[str]:
    start = int(first[:4])
    return [f"{start + i}/{(start + i + 1) % 100:02d}" for i in range(count)]


def status_in_words(result: dict) -> str:
    status = result.get("status")
    gap = result.get("gap")
    if status == "optimal":
        return "Optimal: the best portfolio the rules allow" + (
            f" (within {gap * 100:.2f}% of the proven best)" if gap else ""
        )
    if status == "feasible":
        return (
            f"Feasible: a good portfolio, within {gap * 100:.1f}% of the best possible"
            if gap is not None
            else "Feasible"
        )
    if status == "time_limit":
        return "Stopped at the time limit before finding a portfolio"
    if status == "infeasible":
        return "Infeasible: the rules conflict, so no portfolio meets them all"
    return str(status)


def role_name(role: str) -> str:
    """The role in the words refusals use, without the article: "ICS finance user"."""
    return ROLE_NAMES.get(role, role).split(" ", 1)[-1]


def filters() -> dict:
    return {
        "pounds": pounds, "pence": lambda v: pounds(v, pence=True), "millions": millions,
        "signed_pounds": signed_pounds, "percent": percent, "uk_date": uk_date,
        "category": lambda c: CATEGORY_NAMES.get(c, c or ""),
        "stage": lambda s: STAGE_NAMES.get(s, s or ""),
        "risk": lambda r: RISK_NAMES.get(r, "–") if r else "–",
        "outcome": lambda o: OUTCOME_NAMES.get(o, o or ""),
        "status_name": lambda s: STATUS_NAMES.get(s, s or ""),
        "criterion": lambda c: CRITERIA.get(c, c),
        "mode": lambda m: MODE_NAMES.get(m, m),
        "role_name": role_name,
    }  # fmt: skip
