"""All of England at once: ODS and ERIC imported, schemes for every trust, one round per ICS.

.venv/bin/python -m benchmarks.national_bench [--database-url URL] [--seed 2026]

1. Migrates an empty database (a fresh SQLite file by default; `--database-url` must name an
   empty one) and imports the shipped ODS files (`data/nhs/`): 42 systems, 202 trusts.
2. Imports ERIC 2016/17. Five trusts formed since 2017 have no 2016/17 return; for them the
   benchmark adds a row summing the trusts they were formed from (`PREDECESSORS`), so every
   trust has a backlog and every round can take its fair shares from facts.
3. Generates seeded schemes for every trust from its backlog: per risk tier with a backlog,
   1-3 `estates_backlog` schemes addressing 40-90% of it (costs in 2026/27 prices are ERIC's
   2016/17 figures; phased over one to three years); plus capacity, digital, equipment and
   other schemes sized from the trust's total backlog. Each is submitted and scored by two
   assessors of its system (scores leaning on risk: high-risk backlog scores higher on safety).
4. Runs one round per ICS through the rounds service (the code path of `POST /rounds/{id}/runs`):
   years 2026/27-2028/29; each year's envelope a quarter of the system's 2023/24 CDEL
   (`ics-cdel-2023-24.csv`; the quarter stands for the part of a CDEL open to prioritisation);
   the 13 systems without a published CDEL get the published systems' CDEL per pound of
   high+significant backlog times their own backlog; fair shares from backlog facts (high +
   significant risk, 2016/17) in `soft` mode with a 10% tolerance (in `floor` mode 5 to 7 of
   the 42 rounds are infeasible: a large trust's floor cannot be reached with its lumpy
   schemes inside the yearly envelopes, and the run says so).
Prints the time of each step and of each system's round, the total, and peak memory.
"""

import argparse
import csv
import io
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "nhs"
ETR = DATA / "etr.csv"
ICBS = DATA / "ICB_DEC_2024_NAMES_AND_CODES_EN.csv"
ERIC = DATA / "ERIC-201617-trust-data.csv"
CDEL = DATA / "ics-cdel-2023-24.csv"
YEARS = ["2026/27", "2027/28", "2028/29"]
RISKS = ("high", "significant", "moderate", "low")
ENVELOPE_FRACTION = Decimal("0.25")
# Trusts formed since ERIC 2016/17 -> the trusts they were formed from (ODS successions).
PREDECESSORS = {
    "R0A": ("RW3", "RM2"),
    "R0B": ("RE9", "RLN"),
    "R0D": ("RDZ", "RD3"),
    "R1L": ("RRD", "RWN"),
    "G6V2S": ("TAF", "RRP"),
}
OTHER = [("estates_capacity", 0.25), ("digital", 0.12), ("equipment", 0.10), ("other", 0.05)]


def eric_with_successors() -> bytes:
    """The shipped ERIC file plus one row per newer trust summing its predecessors' backlog."""
    text = ERIC.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    at = {r: header.index(f"Cost to eradicate {r} risk backlog (£)") for r in RISKS}
    by_code = {row[0]: row for row in body}
    for successor, sources in PREDECESSORS.items():
        if successor in by_code:
            continue
        row = [""] * len(header)
        row[0], row[1] = successor, f"{successor} (sum of {' + '.join(sources)})"
        for index in at.values():
            row[index] = str(sum(Decimal(by_code[s][index]) for s in sources))
        body.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    return out.getvalue().encode()


def _profile(rng: random.Random, cost: Decimal) -> dict[str, Decimal]:
    length = rng.choice([1, 1, 2, 3]) if cost > 500_000 else 1
    start = rng.randrange(0, len(YEARS) - length + 1)
    parts = [Decimal(str(round(rng.uniform(0.6, 1.4), 3))) for _ in range(length)]
    profile, left = {}, cost
    for t in range(length):
        amount = (
            left if t == length - 1 else (cost * parts[t] / sum(parts)).quantize(Decimal("1000"))
        )
        left -= amount
        profile[YEARS[start + t]] = amount
    return {y: a for y, a in profile.items() if a > 0} or {YEARS[start]: cost}


def generate_schemes(rng, organisation, backlog: dict[str, Decimal]) -> list[dict]:
    schemes = []
    for risk in RISKS:
        tier = backlog.get(risk, Decimal(0))
        if tier < 50_000:
            continue
        count = rng.choice([1, 2, 3])
        addressed = tier * Decimal(str(round(rng.uniform(0.4, 0.9), 3)))
        for n in range(count):
            cost = max((addressed / count).quantize(Decimal("1000")), Decimal(20_000))
            schemes.append({"title": f"{risk.title()} risk backlog {n + 1}",
                            "category": "estates_backlog", "backlog_risk": risk,
                            "cost": min(cost, Decimal(60_000_000))})  # fmt: skip
    total = sum(backlog.values(), Decimal(0))
    for category, fraction in OTHER:
        if rng.random() < 0.75:
            cost = total * Decimal(str(round(fraction * rng.uniform(0.5, 1.5), 4)))
            cost = min(max(cost.quantize(Decimal("1000")), Decimal(25_000)), Decimal(40_000_000))
            schemes.append({"title": f"{category.replace('_', ' ').capitalize()} scheme",
                            "category": category, "backlog_risk": None, "cost": cost})  # fmt: skip
    for scheme in schemes:
        scheme["profile"] = _profile(rng, scheme["cost"])
        scheme["max_deferral_years"] = rng.choice([0, 1, 1, 2])
    return schemes


def _scores(rng: random.Random, risk: str | None) -> dict[str, int]:
    safety = {"high": 4.5, "significant": 3.8, "moderate": 2.8, "low": 2.0}.get(risk, 3.0)
    quality = rng.uniform(1.5, 4.5)

    def score(centre: float) -> int:
        return int(min(5, max(0, round(centre + rng.gauss(0, 0.8)))))

    return {"strategic_fit": score(quality), "safety_quality": score(safety),
            "value_for_money": score(quality), "deliverability": score(rng.uniform(2, 4.5))}  # fmt: skip


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=None, help="an EMPTY database (default: new SQLite file)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='national-')}/capital.db"

    from sqlalchemy import inspect
    from sqlalchemy.orm import sessionmaker

    from api.assessments.models import Assessment
    from api.db import make_engine, unit_of_work
    from api.deps import principal_for
    from api.migrate import upgrade
    from api.reference import parsing, repository
    from api.reference import service as reference
    from api.rounds import service as rounds
    from api.rounds.schemas import RoundCreate, RunRequest
    from api.schemes.models import Scheme, SchemeCost
    from api.users import service as users

    engine = make_engine(url)
    if set(inspect(engine).get_table_names()) - {"alembic_version"}:
        print(f"error: {url} is not empty; the benchmark needs an empty database", file=sys.stderr)
        return 2
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    backend = engine.dialect.name
    print(f"All of England on {backend}")

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        print(f"  {name:<44} {now - t0:7.2f} s")
        return now

    t = time.perf_counter()
    upgrade(url)
    t = step("migrate", t)
    with unit_of_work(factory) as session:
        report = reference.import_ods(
            session, actor=None, trusts=parsing.parse_trusts(ETR.read_bytes(), ETR.name),
            icbs=parsing.parse_icbs(ICBS.read_bytes(), ICBS.name),
        )  # fmt: skip
    ods_seconds = time.perf_counter() - t
    t = step(f"ODS import ({report.systems.created} systems, "
             f"{report.organisations.created} trusts)", t)  # fmt: skip
    with unit_of_work(factory) as session:
        eric = reference.import_eric(
            session, actor=None, rows=parsing.parse_eric(eric_with_successors(), ERIC.name),
            year="2016/17", source="ERIC 2016/17 (benchmark: newer trusts from predecessors)",
        )  # fmt: skip
    t = step(f"ERIC import ({eric.matched} trusts, {len(eric.unmatched)} unmatched)", t)

    rng = random.Random(args.seed)
    with unit_of_work(factory) as session:
        systems = repository.systems_by_code(session)
        people = {}
        for code in sorted(systems):
            finance = users.create_user(
                session, name=f"{code} finance", role="ics_finance", system_code=code
            )
            assessors = [users.create_user(session, name=f"{code} assessor {n}", role="assessor",
                                           system_code=code) for n in (1, 2)]  # fmt: skip
            people[code] = (finance, assessors)
        backlog_by_system: dict[str, Decimal] = {}
        created = 0
        for code in sorted(systems):
            system = systems[code]
            _finance, assessors = people[code]
            backlog_by_system[code] = Decimal(0)
            batch = []
            for organisation in system.organisations:
                facts = reference.facts_view(session, organisation=organisation)["backlog"][
                    "2016/17"
                ]
                backlog_by_system[code] += facts["high"] + facts["significant"]
                for spec in generate_schemes(rng, organisation, facts):
                    scheme = Scheme(
                        system=system, organisation=organisation, title=spec["title"],
                        category=spec["category"], backlog_risk=spec["backlog_risk"],
                        business_case_stage=rng.choice(["soc", "obc", "fbc"]), status="submitted",
                        max_deferral_years=spec["max_deferral_years"],
                        costs=[SchemeCost(year=y, amount=a) for y, a in sorted(spec["profile"].items())],
                    )  # fmt: skip
                    batch.append((scheme, spec["backlog_risk"]))
            session.add_all([scheme for scheme, _ in batch])
            session.flush()
            session.add_all([
                Assessment(scheme_id=scheme.id, assessor_id=assessor.id, rationale="benchmark",
                           **_scores(rng, risk))
                for scheme, risk in batch
                for assessor in assessors
            ])  # fmt: skip
            created += len(batch)
        session.flush()
    t = step(f"{created} schemes created, submitted and scored", t)

    cdel = {row["icb_code"]: Decimal(row["cdel_2023_24_gbp_m"]) * 1_000_000
            for row in csv.DictReader(CDEL.open(encoding="utf-8"))}  # fmt: skip
    published = [c for c in backlog_by_system if c in cdel]
    per_pound = sum(cdel[c] for c in published) / sum(backlog_by_system[c] for c in published)
    formula = {"weights": {"backlog": 1.0},
               "from_facts": {"backlog": {"fact": "backlog", "year": "2016/17",
                                          "risk": ["high", "significant"]}}}  # fmt: skip
    times, statuses, funded, schemes_in_rounds = [], {}, 0, 0
    for code in sorted(systems):
        t0 = time.perf_counter()
        yearly = cdel[code] if code in cdel else per_pound * backlog_by_system[code]
        envelope = (yearly * ENVELOPE_FRACTION).quantize(Decimal("1000"))
        finance = principal_for(people[code][0])
        with unit_of_work(factory) as session:
            body = RoundCreate(system=code, name=f"{code} operational capital 2026/27-2028/29",
                               years=YEARS, envelope=dict.fromkeys(YEARS, envelope),
                               fair_share_formula=formula, fair_share_mode="soft",
                               tolerance_pct=Decimal(10), min_deliverability=1.5)  # fmt: skip
            round_id = rounds.create_round(session, principal=finance, body=body).id
        with unit_of_work(factory) as session:
            prepared = rounds.prepare_run(
                session, principal=finance, round_id=round_id, body=RunRequest(time_limit_s=60)
            )
        result = rounds.solve_run(prepared=prepared)
        with unit_of_work(factory) as session:
            rounds.record_run(session, principal=finance, prepared=prepared, result=result)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        count = len(prepared.snapshot["schemes"])
        schemes_in_rounds += count
        funded += sum(1 for s in result["schemes"] if s["outcome"] == "funded")
        source = "CDEL" if code in cdel else "scaled"
        for conflict in result.get("conflicts", [])[:2]:
            print(f"    {conflict}")
        print(f"  round {code} {systems[code].name[:34]:<34} {count:4d} schemes, "
              f"envelope £{envelope / 1_000_000:6.1f}m/yr ({source}) {result['status']:<9} {elapsed:6.2f} s")  # fmt: skip
    t = step(f"{len(times)} rounds run", t)
    total = time.perf_counter() - started
    times.sort()
    print(f"  rounds: median {times[len(times) // 2]:.2f} s, slowest {times[-1]:.2f} s; "
          f"{schemes_in_rounds} schemes, {funded} funded; statuses {statuses}")  # fmt: skip
    print(f"  ODS import {ods_seconds:.2f} s; end to end {total:.1f} s; "
          f"peak memory {peak_memory_mb():.0f} MB")  # fmt: skip
    engine.dispose()
    ok = (
        len(times) == 42
        and report.systems.created == 42
        and set(statuses) <= {"optimal", "feasible"}
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
