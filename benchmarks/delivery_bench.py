"""In-year delivery at scale, through the HTTP API (in process, real database sessions).

    .venv/bin/python -m benchmarks.delivery_bench [--approved 2000] [--candidates 500]
        [--repeat 10] [--database-url URL]

Builds a system with `--approved` approved schemes, each phased over the 12 months of 2026/27
(a third also over 2027/28), six months closed with actuals and forecasts, and `--candidates`
still-submitted scored schemes; then times `GET /systems/BEN/delivery?year=2026/27` and
`POST /rounds/{id}/reallocations` from request to response.
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from api.assessments.models import Assessment
from api.db import get_session, make_engine, unit_of_work
from api.delivery.models import DeliveryMonth, ReportingPeriod, SchemeDelivery
from api.delivery.periods import months_of, phase
from api.deps import principal_for
from api.main import create_app
from api.migrate import upgrade
from api.rounds.models import Round, RoundYear
from api.schemes.models import Scheme, SchemeCost
from api.systems import service as systems
from api.systems.schemas import OrganisationCreate, SystemCreate
from api.users import service as users
from api.users.models import User

P = Decimal("0.01")


def build(factory, *, approved: int, candidates: int, seed: int = 1) -> tuple[str, int]:
    rng = random.Random(seed)
    with factory.begin() as session:
        root = principal_for(User(id=None, name="bench", role="admin"))
        system = systems.create_system(session, principal=root, body=SystemCreate(code="BEN", name="Bench"))  # fmt: skip
        codes = [f"RB{i:02d}" for i in range(20)]
        for code in codes:
            systems.create_organisation(session, principal=root, body=OrganisationCreate(
                code=code, name=code, kind="acute", systems=["BEN"]))  # fmt: skip
        organisations = {o.code: o.id for o in system.organisations}
        finance = users.create_user(session, name="fd", role="ics_finance", system_code="BEN")
        assessor = users.create_user(session, name="as", role="assessor", system_code="BEN")
        token = users.issue_token(session, user=finance)
        round_ = Round(system_id=system.id, name="Agreed", status="agreed",
                       weights=dict.fromkeys(("strategic_fit", "safety_quality", "value_for_money", "deliverability"), 0.25),
                       fair_shares={}, category_limits={})  # fmt: skip
        total = Decimal(0)
        schemes = []
        for index in range(approved + candidates):
            cost = Decimal(rng.randint(50, 3000) * 1000)
            profile = {"2026/27": cost}
            if index % 3 == 0:
                profile["2027/28"] = Decimal(rng.randint(50, 1000) * 1000)
            status = "approved" if index < approved else "submitted"
            scheme = Scheme(system_id=system.id, organisation_id=organisations[codes[index % 20]],
                            title=f"Scheme {index}", category="estates_backlog", status=status,
                            approved_deferral_years=0 if status == "approved" else None,
                            max_deferral_years=rng.choice([0, 0, 1]) if status == "submitted" else 0)  # fmt: skip
            scheme.costs = [SchemeCost(year=y, amount=a) for y, a in profile.items()]
            schemes.append((scheme, profile))
            session.add(scheme)
            if status == "approved":
                total += cost
        session.flush()
        for scheme, profile in schemes:
            if scheme.status == "submitted":
                session.add(Assessment(scheme_id=scheme.id, assessor_id=assessor.id, rationale="bench",
                                       **{c: rng.randint(1, 5) for c in ("strategic_fit", "safety_quality", "value_for_money", "deliverability")}))  # fmt: skip
                continue
            delivery = SchemeDelivery(scheme_id=scheme.id, commentary="", version=1)
            factor = Decimal(str(rng.choice([1, 1, 0.95, 0.6, 1.1])))
            for year, amount in profile.items():
                plan = phase(amount, months_of(year))
                for period, value in plan.items():
                    closed = period <= "2026-09"
                    delivery.months.append(DeliveryMonth(
                        period=period, year=year, plan=value,
                        actual=(value * factor).quantize(P) if closed else None,
                        forecast=(value * factor).quantize(P)))  # fmt: skip
            session.add(delivery)
        round_.years = [RoundYear(year="2026/27", envelope=(total * Decimal("1.02")).quantize(P)),
                        RoundYear(year="2027/28", envelope=(total * Decimal("0.5")).quantize(P))]  # fmt: skip
        session.add(round_)
        session.add(ReportingPeriod(system_id=system.id, period="2026-09"))
        session.flush()
        return token, round_.id


def _time(call, repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock timings of `repeat` calls; `cpu` collects each call's CPU time of this
    process (the application runs in it), steadier than wall time on a loaded machine."""
    timings = []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = call()
        timings.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - cpu_started)
        assert response.status_code in (200, 201), response.text
    return sorted(timings)


def _line(name: str, timings: list[float]) -> str:
    return (f"{name}: median {statistics.median(timings) * 1000:.0f} ms, "
            f"min {timings[0] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms ({len(timings)} runs)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approved", type=int, default=2000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.perf_counter()
    token, round_id = build(factory, approved=args.approved, candidates=args.candidates)
    print(f"built {args.approved} approved schemes and {args.candidates} candidates in "
          f"{time.perf_counter() - started:.1f} s ({engine.dialect.name})")  # fmt: skip
    app = create_app()

    def session():
        with unit_of_work(factory) as s:
            yield s

    app.dependency_overrides[get_session] = session
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        report = _time(lambda: client.get("/api/v1/systems/BEN/delivery", params={"year": "2026/27"},
                                          headers=headers), args.repeat)  # fmt: skip
        body = client.get(
            "/api/v1/systems/BEN/delivery", params={"year": "2026/27"}, headers=headers
        ).json()
        print(_line(f"delivery report ({body['total']['schemes']} schemes x 12 months)", report))
        print(f"  slippage £{body['total']['slippage']:,.2f}, headroom £{body['headroom']:,.2f}")
        runs, cpu = [], []
        realloc = _time(lambda: runs.append(client.post(f"/api/v1/rounds/{round_id}/reallocations",
                                                        json={"time_limit_s": 60}, headers=headers)) or runs[-1],
                        max(1, args.repeat // 5), cpu)  # fmt: skip
        result = runs[-1].json()["result"]
        funded = sum(1 for s in result["schemes"] if s["outcome"] == "funded")
        print(_line(f"re-allocation ({args.candidates} candidates, {funded} funded incl. committed, "
                    f"status {result['status']}, gap {result['gap']})", realloc))  # fmt: skip
        timings = runs[-1].json()["timings"]
        print(
            f"  assemble {timings['assemble_seconds']:.2f} s, solve {timings['solve_seconds']:.2f} s"
            f" (last run); CPU time per re-allocation: median {statistics.median(cpu):.1f} s"
        )
        print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    engine.dispose()


if __name__ == "__main__":
    main()
