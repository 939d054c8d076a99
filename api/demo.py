"""A realistic, deterministic, fictional system to explore the product with.

Wessex Vale ICS (QWV): eight organisations of every kind; the ambulance trust also serves
the neighbouring Northbridge ICS (QNB). Schemes span 2026/27-2028/29 in every category,
with mandatory schemes, dependencies, one alternative group and 2-3 independent
assessments each. The same seed always gives the same data.
"""

import random
from decimal import Decimal

from sqlalchemy.orm import Session

from api.assessments import service as assessments_service
from api.assessments.schemas import AssessmentWrite
from api.deps import Principal, principal_for
from api.rounds import service as rounds_service
from api.rounds.schemas import RoundCreate
from api.schemes import service as schemes_service
from api.schemes.schemas import SchemeCreate
from api.systems import repository as systems_repository
from api.systems import service as systems_service
from api.systems.schemas import OrganisationCreate, SystemCreate
from api.users import repository as users_repository
from api.users import service as users_service
from api.users.models import User

SYSTEMS = [
    ("QWV", "Wessex Vale Integrated Care System"),
    ("QNB", "Northbridge Integrated Care System"),
]
ORGANISATIONS = [
    ("R0A", "Wessex Vale University Hospitals NHS Foundation Trust", "acute", ["QWV"]),
    ("R0B", "Kingsmead and Downs Hospitals NHS Trust", "acute", ["QWV"]),
    ("R0C", "Vale Community Healthcare NHS Trust", "community", ["QWV"]),
    ("R0D", "Wessex Vale Partnership NHS Foundation Trust", "mental_health", ["QWV"]),
    ("R0E", "South Downs Ambulance Service NHS Foundation Trust", "ambulance", ["QWV", "QNB"]),
    ("R0F", "Vale Primary Care Collaborative", "primary_care", ["QWV"]),
    ("VCC", "Vale County Council", "local_authority", ["QWV"]),
    ("Q0W", "NHS Wessex Vale Integrated Care Board", "icb", ["QWV"]),
    ("R0H", "Northbridge General Hospital NHS Trust", "acute", ["QNB"]),
]
# name, role, system, organisation
USERS = [
    ("Demo Administrator", "admin", None, None),
    ("Demo Trust Capital Lead (R0A)", "trust", None, "R0A"),
    ("Demo Assessor (ICB)", "assessor", "QWV", "Q0W"),
    ("Demo Assessor (R0C)", "assessor", "QWV", "R0C"),
    ("Demo Assessor (R0D)", "assessor", "QWV", "R0D"),
    ("Demo Finance Director", "ics_finance", "QWV", None),
    ("Demo Auditor", "viewer", "QWV", None),
]
DEMO_ROLES = {"admin": 0, "trust": 1, "assessor": 2, "ics_finance": 5, "viewer": 6}

SITES = {
    "R0A": ["Vale General", "St Aldhelm's"],
    "R0B": ["Kingsmead Hospital", "Downs Community Hospital"],
    "R0C": ["Abbeyfield Health Centre", "Marsh Lane Clinic"],
    "R0D": ["Elmwood Unit", "Harrow Hill"],
    "R0E": ["Eastgate Station", "Vale Operations Centre"],
    "R0F": ["Brookside Surgery", "Market Square Practice"],
    "VCC": ["County Hall"],
    "Q0W": ["Wessex House"],
    "R0H": ["Northbridge General"],
}
TITLES = {
    "estates_backlog": [
        "Roof replacement", "Fire compartmentation works", "Electrical infrastructure upgrade",
        "Critical ventilation upgrade", "Lift replacement", "Heating and hot water plant renewal",
        "Window replacement", "Water safety remediation", "Drainage renewal",
    ],
    "estates_capacity": [
        "Same day emergency care unit", "Additional day-case theatre", "Ward refurbishment to single rooms",
        "Community diagnostic hub fit-out", "Crisis assessment suite", "Urgent treatment centre expansion",
    ],
    "digital": [
        "Electronic patient record upgrade", "Cyber security hardening", "Network refresh",
        "Digital pathology", "Patient portal", "Shared care record integration",
    ],
    "equipment": [
        "MRI scanner replacement", "CT scanner replacement", "Ultrasound fleet refresh",
        "Endoscopy stack replacement", "Defibrillator fleet replacement", "Patient monitoring refresh",
    ],
    "other": ["Solar PV and heat decarbonisation", "Electric vehicle charging", "Staff accommodation refurbishment"],
}  # fmt: skip
# category -> (median cost £, spread of log cost)
COSTS = {
    "estates_backlog": (900_000, 0.8),
    "estates_capacity": (5_000_000, 0.7),
    "digital": (1_200_000, 0.8),
    "equipment": (1_300_000, 0.5),
    "other": (800_000, 0.6),
}
YEARS = ["2026/27", "2027/28", "2028/29"]
SCHEME_ORGANISATIONS = ["R0A", "R0A", "R0B", "R0B", "R0C", "R0D", "R0E", "R0F", "R0A", "R0B", "Q0W"]
# scheme index -> (title, why it must be funded)
MANDATORY = {
    3: ("Fire compartmentation works", "Fire enforcement notice: works due by March 2027"),
    12: ("Water safety remediation", "Statutory water safety: Legionella remediation ordered"),
    24: ("High-voltage switchgear replacement", "Electrical safety: switchgear failed inspection"),
}


def _profile(rng: random.Random, category: str) -> dict[str, Decimal]:
    median, spread = COSTS[category]
    cost = min(max(rng.lognormvariate(0, spread) * median, 60_000), 28_000_000)
    length = rng.choice([1, 1, 2, 2, 3]) if cost > 400_000 else 1
    start = rng.choice([0, 0, 0, 1, 1, 2]) if length < 3 else 0
    length = min(length, len(YEARS) - start)
    weights = [rng.uniform(0.5, 1.5) for _ in range(length)]
    profile, remaining = {}, round(cost, -3)
    for index in range(length):
        amount = (
            remaining if index == length - 1 else round(cost * weights[index] / sum(weights), -3)
        )
        remaining -= amount
        profile[YEARS[start + index]] = Decimal(amount).quantize(Decimal("0.01"))
    return profile


def _scheme_specs(rng: random.Random) -> list[dict]:
    categories = list(TITLES)
    specs = []
    for index in range(66):
        category = categories[index % len(categories)] if index % 3 else "estates_backlog"
        organisation = SCHEME_ORGANISATIONS[index % len(SCHEME_ORGANISATIONS)]
        if organisation == "R0E" and category in ("estates_capacity", "other"):
            category = "equipment"
        titles = TITLES[category]
        title = f"{titles[(index * 7) % len(titles)]}, {rng.choice(SITES[organisation])}"
        if organisation == "R0E" and category == "equipment":
            title = f"Ambulance fleet replacement tranche {index // 11 + 1}"
        spec = {
            "system": "QWV",
            "organisation": organisation,
            "title": title,
            "description": f"{title}. Fictional demonstration scheme {index + 1}.",
            "category": category,
            "cost_profile": _profile(rng, category),
            "business_case_stage": rng.choice(["none", "soc", "obc", "obc", "fbc", "fbc"]),
            "backlog_risk": (
                rng.choice(["high", "significant", "significant", "moderate", "low"])
                if category == "estates_backlog"
                else None
            ),
            "max_deferral_years": rng.choice([0, 0, 1, 1, 2]),
        }
        if index in MANDATORY:
            name, reason = MANDATORY[index]
            spec.update(
                title=f"{name}, {SITES[organisation][0]}", category="estates_backlog",
                mandatory=True, mandatory_reason=reason, max_deferral_years=0, backlog_risk="high",
            )  # fmt: skip
        specs.append(spec)
    # One alternative group: two ways to expand Kingsmead's diagnostics.
    for option, (title, cost) in enumerate(
        [("Diagnostic centre: new build, Kingsmead Hospital", 9_800_000),
         ("Diagnostic centre: refurbish outpatients block, Kingsmead Hospital", 5_600_000)]
    ):  # fmt: skip
        specs.append({
            "system": "QWV", "organisation": "R0B", "title": title, "category": "estates_capacity",
            "description": f"Option {option + 1} of 2 for Kingsmead diagnostics.",
            "cost_profile": {"2026/27": Decimal(cost * 4 // 10), "2027/28": Decimal(cost * 6 // 10)},
            "business_case_stage": "obc", "alternative_group": "kingsmead-diagnostics",
            "max_deferral_years": 1,
        })  # fmt: skip
    # Schemes in the neighbouring system, so scopes can be seen to hold.
    for index, (organisation, title) in enumerate(
        [("R0H", "Emergency department expansion, Northbridge General"),
         ("R0H", "Theatre ventilation upgrade, Northbridge General"),
         ("R0E", "Northbridge ambulance station rebuild")]
    ):  # fmt: skip
        specs.append({
            "system": "QNB", "organisation": organisation, "title": title,
            "category": "estates_capacity" if index != 1 else "estates_backlog",
            "backlog_risk": "significant" if index == 1 else None,
            "cost_profile": {"2026/27": Decimal("1500000.00"), "2027/28": Decimal("2500000.00")},
        })  # fmt: skip
    return specs


# scheme index -> indices it depends on (digital pathology needs the network, and so on)
DEPENDENCIES = {13: [7], 19: [13], 28: [22], 40: [34], 52: [46]}
DRAFTS = {60, 61, 62}
WITHDRAWN = {63}


def _assess(rng: random.Random, quality: float) -> dict:
    def score(bias: float) -> int:
        return max(0, min(5, round(quality + bias + rng.gauss(0, 0.7))))

    return {
        "strategic_fit": score(0),
        "safety_quality": score(0.3),
        "value_for_money": score(-0.2),
        "deliverability": score(0.2),
    }


RATIONALES = [
    "Clear link to the system's strategic priorities; benefits are evidenced in the case.",
    "Addresses a material safety risk; costs benchmarked against similar schemes.",
    "Good value but delivery relies on a contractor framework not yet in place.",
    "Strong clinical support; the programme is realistic for the proposed years.",
    "Benefits are partly qualitative; deliverability depends on decant space.",
]


def is_loaded(session: Session) -> bool:
    return systems_repository.count_systems(session) > 0


def seed(session: Session) -> None:
    """Load the demo systems, organisations, users, schemes and assessments."""
    rng = random.Random(20260401)
    root = principal_for(User(id=None, name="demo loader", role="admin"))
    for code, name in SYSTEMS:
        systems_service.create_system(
            session, principal=root, body=SystemCreate(code=code, name=name)
        )
    for code, name, kind, systems in ORGANISATIONS:
        body = OrganisationCreate(code=code, name=name, kind=kind, systems=systems)
        systems_service.create_organisation(session, principal=root, body=body)
    users = [
        users_service.create_user(
            session, name=name, role=role, system_code=system, organisation_code=organisation
        )
        for name, role, system, organisation in USERS
    ]
    admin = principal_for(users[0])
    assessors = [principal_for(u) for u in users if u.role == "assessor"]
    schemes = []
    for index, spec in enumerate(_scheme_specs(rng)):
        depends_on = [schemes[i].id for i in DEPENDENCIES.get(index, [])]
        body = SchemeCreate(**spec, depends_on=depends_on)
        schemes.append(schemes_service.create_scheme(session, principal=admin, body=body))
    for index, scheme in enumerate(schemes):
        if index in DRAFTS:
            continue
        schemes_service.change_status(
            session, principal=admin, scheme_id=scheme.id, action="submit"
        )
        if scheme.system.code != "QWV":
            continue
        quality = rng.uniform(1.2, 4.3)
        eligible = [a for a in assessors if a.organisation_id != scheme.organisation_id]
        for assessor in rng.sample(eligible, k=min(len(eligible), rng.choice([2, 3, 3]))):
            _score(session, assessor, scheme.id, rng, quality)
        if index in WITHDRAWN:
            schemes_service.change_status(
                session, principal=admin, scheme_id=scheme.id, action="withdraw"
            )
    finance = principal_for(users[5])
    rounds_service.create_round(session, principal=finance, body=RoundCreate(**DEMO_ROUND))
    _in_delivery(session, finance=finance, admin=admin, rng=random.Random(20260930))


def _in_delivery(session: Session, *, finance: Principal, admin: Principal, rng) -> None:
    """Last year's agreement in delivery: the agreed round's schemes six months into 2026/27,
    most on plan, some slipping (their underspend offered back), one overspending."""
    from api.delivery import service as delivery
    from api.delivery.periods import months_of
    from api.delivery.schemas import DeliveryImport
    from api.rounds.schemas import AgreeRequest, RunRequest

    agreed = rounds_service.create_round(
        session, principal=finance, body=RoundCreate(**AGREED_ROUND)
    )
    prepared = rounds_service.prepare_run(session, principal=finance, round_id=agreed.id,
                                          body=RunRequest(label="Agreed by the ICB board"))  # fmt: skip
    result = rounds_service.solve_run(prepared=prepared)
    run = rounds_service.record_run(session, principal=finance, prepared=prepared, result=result)
    rounds_service.agree(
        session, principal=finance, round_id=agreed.id, body=AgreeRequest(run_id=run.id)
    )
    approved = _approved(session, agreed.system_id)
    plans = {
        s.id: delivery.agreed_plan(session, scheme=s).get("2026/27", Decimal(0)) for s in approved
    }
    in_year = [s for s in approved if plans[s.id] > 0]
    # Behaviour of each scheme: the equipment or capacity scheme nearest £1.5m overspends; the
    # largest scheme and every third other slip; the rest deliver to plan give or take a bit.
    overspend = min((s for s in in_year if s.category in ("equipment", "estates_capacity")),
                    key=lambda s: abs(plans[s.id] - 1_500_000))  # fmt: skip
    largest = max((s for s in in_year if s.id != overspend.id), key=lambda s: plans[s.id])
    behaviour = {}
    for index, scheme in enumerate(in_year):
        if scheme.id == largest.id:
            behaviour[scheme.id] = ("slip", 0.3)  # the big build is a quarter behind
        elif scheme.id == overspend.id:
            behaviour[scheme.id] = ("over", 1.12)
        elif index % 3 == 1:
            behaviour[scheme.id] = ("slip", rng.uniform(0.3, 0.6))
        else:
            behaviour[scheme.id] = ("plan", rng.uniform(0.96, 1.03))
    months = months_of("2026/27")
    twelfth = {s.id: plans[s.id] / 12 for s in in_year}
    for period in months[:6]:
        rows = [{"scheme_id": s.id,
                 "actual": _pennies(twelfth[s.id] * Decimal(str(behaviour[s.id][1] * rng.uniform(0.9, 1.1))))}
                for s in in_year]  # fmt: skip
        delivery.import_delivery(session, principal=admin, system_code="QWV",
                                 body=DeliveryImport(period=period, schemes=rows))  # fmt: skip
        delivery.close_period(session, principal=finance, system_code="QWV")
    returns = []
    for scheme in in_year:
        kind, factor = behaviour[scheme.id]
        remaining = months[6:]
        row = {"scheme_id": scheme.id, "rag": "green", "commentary": rng.choice(ON_PLAN)}
        if kind == "over":
            row["forecast"] = {m: _pennies(twelfth[scheme.id] * Decimal("1.15")) for m in remaining}
            row.update(rag="red", commentary=OVERSPEND)
        elif kind == "slip":
            catch_up = Decimal(str(factor + 0.1))
            row["forecast"] = {m: _pennies(twelfth[scheme.id] * catch_up) for m in remaining}
            row.update(rag="red" if factor < 0.5 else "amber", commentary=rng.choice(SLIPPING))
        returns.append(row)
    delivery.import_delivery(session, principal=admin, system_code="QWV",
                             body=DeliveryImport(period=months[6], schemes=returns))  # fmt: skip


def _approved(session: Session, system_id: int) -> list:
    from api.delivery import repository as delivery_repository

    return delivery_repository.approved_schemes(session, system_id=system_id)


def _pennies(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


ON_PLAN = [
    "On plan: works progressing to programme.",
    "On plan; final account expected within budget.",
    "Delivered to programme; commissioning under way.",
]
SLIPPING = [
    "Steel and roofing materials delayed by suppliers; the works are re-scoped to what can be "
    "done this year.",
    "Contractor labour shortages: the programme has slipped and the underspend is offered back.",
    "Decant space not available until the winter; phase 2 is descoped for now.",
    "Lead times on plant and switchgear have lengthened; the balance will not be spent this year.",
]
OVERSPEND = (
    "Tender returned 18% above the estimate and enabling works found asbestos; the trust is "
    "seeking savings within its programme and has flagged the pressure to the ICB."
)


# Formula inputs for the demo round's fair shares (fictional, £ and head counts).
FORMULA = {
    "weights": {"depreciation": 0.5, "backlog_high_significant": 0.3, "population": 0.2},
    "inputs": {
        "R0A": {
            "depreciation": 9_400_000,
            "backlog_high_significant": 15_500_000,
            "population": 310_000,
        },
        "R0B": {
            "depreciation": 16_800_000,
            "backlog_high_significant": 31_000_000,
            "population": 420_000,
        },
        "R0C": {
            "depreciation": 5_100_000,
            "backlog_high_significant": 6_400_000,
            "population": 160_000,
        },
        "R0D": {
            "depreciation": 5_600_000,
            "backlog_high_significant": 7_900_000,
            "population": 170_000,
        },
        "R0E": {
            "depreciation": 3_400_000,
            "backlog_high_significant": 1_600_000,
            "population": 90_000,
        },
        "R0F": {
            "depreciation": 1_100_000,
            "backlog_high_significant": 700_000,
            "population": 60_000,
        },
        "Q0W": {"depreciation": 1_900_000, "backlog_high_significant": 0, "population": 110_000},
    },
}
DEMO_ROUND = {
    "system": "QWV",
    "name": "Wessex Vale capital plan: next planning cycle (draft)",
    "years": YEARS,
    "envelope": {"2026/27": 36_000_000, "2027/28": 34_000_000, "2028/29": 33_000_000},
    "reserve": {"2026/27": 1_500_000, "2027/28": 1_500_000, "2028/29": 1_500_000},
    "overcommitment_pct": 5,
    "fair_share_formula": FORMULA,
    "fair_share_mode": "band",
    # 35 %, not 25 %: with last year's agreed schemes committed at fixed starts, R0C's and
    # R0D's ±25 % bands can no longer be met exactly by any combination of their schemes.
    "tolerance_pct": 35,
    "category_limits": {"digital": {"min": 4_000_000}},
    "min_deliverability": 2,
    "deferral_discount": 0.03,
}


def _score(session: Session, assessor: Principal, scheme_id: int, rng, quality: float) -> None:
    body = AssessmentWrite(**_assess(rng, quality), rationale=rng.choice(RATIONALES))
    assessments_service.put_assessment(session, principal=assessor, scheme_id=scheme_id, body=body)


def demo_tokens(session: Session) -> list[tuple[str, str, str]]:
    """A fresh token for one demo user of each role: (role, user name, token)."""
    tokens = []
    for role, index in DEMO_ROLES.items():
        user = users_repository.get_user_by_name(session, name=USERS[index][0])
        if user is not None:
            tokens.append((role, user.name, users_service.issue_token(session, user=user)))
    return tokens


# Last year's agreement, now in delivery: a tighter envelope than the next cycle's draft, so
# its reserve list is long enough for the slippage to fund.
AGREED_ROUND = {
    **DEMO_ROUND,
    "name": "Wessex Vale capital plan 2026/27 to 2027/28 (agreed)",
    "years": YEARS[:2],
    "envelope": {"2026/27": 12_000_000, "2027/28": 8_000_000},
    "reserve": {"2026/27": 500_000, "2027/28": 500_000},
    "overcommitment_pct": 0,
    "fair_share_mode": "soft",
}
