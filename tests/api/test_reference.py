"""The real NHS in the register: ODS trusts and ICBs, ERIC backlog, fair shares from facts."""

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import World

DATA = Path(__file__).resolve().parents[2] / "data" / "nhs"
ETR = (DATA / "etr.csv").read_bytes()
ICBS = (DATA / "ICB_DEC_2024_NAMES_AND_CODES_EN.csv").read_bytes()
ERIC = (DATA / "ERIC-201617-trust-data.csv").read_bytes()
QT1 = {"RX1", "RK5", "RHA", "RX9"}
RISKS = ("high", "significant", "moderate", "low")


def import_ods(client, headers, trusts=ETR, icbs=ICBS, dry_run=False):
    files = {"trusts": ("etr.csv", trusts, "text/csv"), "icbs": ("icbs.csv", icbs, "text/csv")}
    data = {"dry_run": "true"} if dry_run else {}
    return client.post("/api/v1/reference/ods", files=files, data=data, headers=headers)


def import_eric(client, headers, content=ERIC, year="2016/17"):
    files = {"file": ("ERIC-201617-trust-data.csv", content, "text/csv")}
    return client.post(
        "/api/v1/reference/eric", params={"year": year}, files=files, headers=headers
    )


def eric_backlog() -> dict[str, dict[str, Decimal]]:
    """The file's figures, read here independently of the importer."""
    reader = csv.DictReader(io.StringIO(ERIC.decode("utf-8-sig")))
    return {
        row["Organisation Code"]: {
            risk: Decimal(row[f"Cost to eradicate {risk} risk backlog (£)"]) for risk in RISKS
        }
        for row in reader
    }


def etr_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(ETR.decode("utf-8"))))


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def world(session):
    """An administrator, and one user of every other role in a system outside ODS (the shared
    fixture's organisation codes are real ODS codes, so they would be renamed by an import)."""
    from api.deps import principal_for
    from api.systems import service as systems
    from api.systems.schemas import OrganisationCreate, SystemCreate
    from api.users import service as users
    from api.users.models import User

    root = principal_for(User(id=None, name="test loader", role="admin"))
    systems.create_system(session, principal=root, body=SystemCreate(code="ZZS", name="Elsewhere"))
    body = OrganisationCreate(code="ZZ1", name="Elsewhere trust", kind="acute", systems=["ZZS"])
    systems.create_organisation(session, principal=root, body=body)
    tokens = {}
    for who, role, system, organisation in [
        ("admin", "admin", None, None), ("trust_a1", "trust", None, "ZZ1"),
        ("assessor_a", "assessor", "ZZS", None), ("finance_a", "ics_finance", "ZZS", None),
        ("viewer_a", "viewer", "ZZS", None),
    ]:  # fmt: skip
        user = users.create_user(
            session, name=who, role=role, system_code=system, organisation_code=organisation
        )
        tokens[who] = users.issue_token(session, user=user)
    session.commit()
    return World(tokens=tokens)


@pytest.fixture
def imported(client, world):
    response = import_ods(client, world.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_shipped_files_create_42_systems_and_202_open_english_trusts(client, world, imported):
    assert imported["systems"] == {
        "created": 42, "updated": 0, "unchanged": 0, "closed": 0, "skipped": 0
    }  # fmt: skip
    assert imported["organisations"]["created"] == 202
    assert imported["organisations"]["updated"] == imported["organisations"]["closed"] == 0
    skipped = {row["code"]: row["reason"] for row in imported["skipped"]}
    assert {"RQF", "RT4", "RYT"} <= set(skipped)  # the open Welsh trusts
    assert "no ICB" in skipped["RT4"] and "closed on 2017-09-30" in skipped["RW3"]
    assert imported["organisations"]["skipped"] == len(skipped) == 273 - 202
    admin = world.auth("admin")
    systems = client.get("/api/v1/systems", params={"limit": 500}, headers=admin).json()["items"]
    real = [s for s in systems if s["code"].startswith("Q")]
    assert len(real) == 42 and sum(len(s["organisations"]) for s in real) == 202
    qt1 = client.get("/api/v1/systems/QT1", headers=admin).json()
    assert qt1["name"] == "Nottingham and Nottinghamshire"
    assert set(qt1["organisations"]) == QT1
    nuh = client.get("/api/v1/organisations/RX1", headers=admin).json()
    assert nuh["name"] == "Nottingham University Hospitals NHS Trust"
    assert (nuh["kind"], nuh["status"], nuh["systems"]) == ("acute", "open", ["QT1"])
    kinds = {
        code: client.get(f"/api/v1/organisations/{code}", headers=admin).json()["kind"]
        for code in ("RX9", "RHA", "G6V2S", "R1L", "RY7")
    }
    assert kinds == {
        "RX9": "ambulance", "RHA": "mental_health", "G6V2S": "mental_health",
        "R1L": "mental_health", "RY7": "community",
    }  # fmt: skip


def test_a_second_import_changes_nothing(client, world, imported):
    again = import_ods(client, world.auth("admin")).json()
    assert again["systems"]["unchanged"] == 42
    assert again["organisations"] == {
        "created": 0, "updated": 0, "unchanged": 202, "closed": 0, "skipped": 71
    }  # fmt: skip
    assert again["changes"] == []


def test_one_rename_one_closure_one_new_trust_are_exactly_three_audited_changes(
    client, world, imported
):
    admin = world.auth("admin")
    # an ambulance trust serving a second system, added by hand: the import never removes it
    hand = client.patch(
        "/api/v1/organisations/RX9", json={"systems": ["QT1", "QJ2"]}, headers=admin
    )
    assert hand.status_code == 200, hand.text
    rows = etr_rows()
    for row in rows:
        if row[0] == "RX1":
            row[1] = "NOTTINGHAM UNIVERSITY HOSPITALS TEACHING NHS TRUST"
        if row[0] == "RK5":
            row[11] = "20260331"
    new = list(rows[0])
    new[:4] = ["RZZ", "NEWARK COMMUNITY HEALTH NHS TRUST", "Y60", "QT1"]
    new[10], new[11] = "20260401", ""
    report = import_ods(client, admin, trusts=to_csv([*rows, new])).json()
    assert report["organisations"] == {
        "created": 1, "updated": 1, "unchanged": 200, "closed": 1, "skipped": 71
    }  # fmt: skip
    assert [(c["code"], c["action"]) for c in report["changes"]] == [
        ("RK5", "close"), ("RX1", "rename"), ("RZZ", "create")
    ]  # fmt: skip
    nuh = client.get("/api/v1/organisations/RX1", headers=admin).json()
    assert nuh["name"] == "Nottingham University Hospitals Teaching NHS Trust"
    sherwood = client.get("/api/v1/organisations/RK5", headers=admin).json()
    assert (sherwood["status"], sherwood["closed_on"]) == ("closed", "2026-03-31")
    newark = client.get("/api/v1/organisations/RZZ", headers=admin).json()
    assert (newark["kind"], newark["systems"]) == ("community", ["QT1"])
    ambulance = client.get("/api/v1/organisations/RX9", headers=admin).json()
    assert ambulance["systems"] == ["QJ2", "QT1"]
    for code, action in (("RX1", "update"), ("RK5", "close"), ("RZZ", "create")):
        events = client.get(
            "/api/v1/audit", params={"entity": "organisation", "entity_id": code}, headers=admin
        ).json()["items"]
        assert events[-1]["action"] == action
    renamed = client.get(
        "/api/v1/audit", params={"entity": "organisation", "entity_id": "RX1"}, headers=admin
    ).json()["items"][-1]
    assert renamed["before"]["name"] == "Nottingham University Hospitals NHS Trust"
    assert renamed["after"]["name"] == "Nottingham University Hospitals Teaching NHS Trust"
    # importing the changed copy again changes nothing more
    again = import_ods(client, admin, trusts=to_csv([*rows, new])).json()
    assert again["changes"] == []


def test_a_closed_organisation_keeps_its_schemes_and_submits_no_new_ones(
    client, world, imported, session
):
    from api.users import service as users

    admin = world.auth("admin")
    user = users.create_user(session, name="Sherwood lead", role="trust", organisation_code="RK5")
    trust = {"Authorization": f"Bearer {users.issue_token(session, user=user)}"}
    session.commit()
    body = {"system": "QT1", "organisation": "RK5", "title": "Boiler", "category": "estates_backlog",
            "cost_profile": {"2026/27": 250000}}  # fmt: skip
    draft = client.post("/api/v1/schemes", json=body, headers=trust)
    assert draft.status_code == 201, draft.text
    rows = etr_rows()
    for row in rows:
        if row[0] == "RK5":
            row[11] = "20260331"
    assert import_ods(client, admin, trusts=to_csv(rows)).json()["organisations"]["closed"] == 1
    refused = client.post("/api/v1/schemes", json=body, headers=trust)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == "body.organisation"
    submit = client.post(f"/api/v1/schemes/{draft.json()['id']}/submit", headers=trust)
    assert submit.status_code == 409 and "closed on 2026-03-31" in submit.json()["detail"]
    kept = client.get(f"/api/v1/schemes/{draft.json()['id']}", headers=admin)
    assert kept.status_code == 200 and kept.json()["organisation"] == "RK5"


def test_a_malformed_file_writes_nothing_and_names_the_row_and_column(client, world):
    admin = world.auth("admin")
    rows = etr_rows()
    rows[6][11] = "2024-13-01"
    response = import_ods(client, admin, trusts=to_csv(rows))
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == "body.trusts"
    assert "row 7, column 12 (close date)" in problem["errors"][0]["msg"]
    short = import_ods(client, admin, trusts=to_csv([rows[0][:5]]))
    assert short.status_code == 422 and "row 1: has 5 columns" in short.json()["detail"]
    header = import_ods(client, admin, icbs=b"code,name\nQT1,Notts\n")
    assert header.status_code == 422 and header.json()["errors"][0]["loc"] == "body.icbs"
    codes = [
        s["code"]
        for s in client.get("/api/v1/systems", params={"limit": 500}, headers=admin).json()["items"]
    ]
    assert codes == ["ZZS"]


def test_names_with_control_characters_are_refused(client, world):
    """A trust or ICB name with a control character was stored, then refused by the workbook
    of every run report that named it (a 500)."""
    admin = world.auth("admin")
    rows = etr_rows()
    rows[6][1] = "Bad\x07 trust"
    response = import_ods(client, admin, trusts=to_csv(rows))
    assert response.status_code == 422, response.text
    assert "row 7, column 2 (name): a name cannot hold control characters" in response.text
    icb_rows = list(csv.reader(io.StringIO(ICBS.decode("utf-8-sig"))))
    icb_rows[1][2] = "Bad\x0b ICB"
    response = import_ods(client, admin, icbs=to_csv(icb_rows))
    assert response.status_code == 422, response.text
    assert "row 2, column 3" in response.text and "without control characters" in response.text


def test_a_dry_run_reports_and_writes_nothing(client, world):
    admin = world.auth("admin")
    report = import_ods(client, admin, dry_run=True).json()
    assert report["dry_run"] and report["organisations"]["created"] == 202
    assert (
        len(client.get("/api/v1/systems", params={"limit": 500}, headers=admin).json()["items"])
        == 1
    )


def test_only_administrators_import(client, world):
    for who in ("trust_a1", "assessor_a", "finance_a", "viewer_a"):
        assert import_ods(client, world.auth(who)).status_code == 403
        assert import_eric(client, world.auth(who)).status_code == 403
    assert import_ods(client, {}).status_code == 401


def test_eric_matches_the_open_trusts_and_lists_the_codes_it_cannot(client, world, imported):
    admin = world.auth("admin")
    report = import_eric(client, admin)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["matched"], body["replaced"]) == (236, 197, 0)
    unmatched = {row["code"] for row in body["unmatched"]}
    assert len(unmatched) == 39 and {"RW3", "RM2", "TAF"} <= unmatched
    figures = eric_backlog()
    for code in QT1:
        facts = client.get(f"/api/v1/organisations/{code}", headers=admin).json()["facts"]
        assert facts["backlog"]["2016/17"] == {r: float(figures[code][r]) for r in RISKS}
    rx1 = client.get("/api/v1/organisations/RX1", headers=admin).json()["facts"]["backlog"]
    assert rx1["2016/17"] == {
        "high": 5281676, "significant": 97005610, "moderate": 23614980, "low": 8049906
    }  # fmt: skip
    # importing the year again replaces it
    changed = ERIC.replace(b"RX1,NOTTINGHAM UNIVERSITY HOSPITALS NHS TRUST,", b"RX0,GONE,", 1)
    again = import_eric(client, admin, content=changed).json()
    assert (again["matched"], again["replaced"]) == (196, 197)
    assert client.get("/api/v1/organisations/RX1", headers=admin).json()["facts"] == {}
    bad = import_eric(client, admin, year="2016/18")
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.year"
    broken = ERIC.replace(b",5281676,97005610,", b",5281676,lots,", 1)
    response = import_eric(client, admin, content=broken)
    assert response.status_code == 422
    assert "column 70 (Cost to eradicate significant risk backlog (£))" in response.json()["detail"]


def _qt1_people(session):
    from api.users import service as users

    tokens = {}
    for who, role, system, organisation in [
        ("finance", "ics_finance", "QT1", None),
        ("assessor", "assessor", "QT1", None),
        *[(code, "trust", None, code) for code in sorted(QT1)],
    ]:
        user = users.create_user(
            session, name=who, role=role, system_code=system, organisation_code=organisation
        )
        tokens[who] = {"Authorization": f"Bearer {users.issue_token(session, user=user)}"}
    session.commit()
    return tokens


FROM_FACTS = {
    "weights": {"backlog": 1.0},
    "from_facts": {
        "backlog": {"fact": "backlog", "year": "2016/17", "risk": ["high", "significant"]}
    },
}


@pytest.mark.slow
def test_fair_shares_from_backlog_facts_equal_the_files_and_reproduce_offline(
    client, world, imported, session, tmp_path
):
    admin = world.auth("admin")
    assert import_eric(client, admin).status_code == 200
    people = _qt1_people(session)
    finance = people["finance"]
    round_body = {
        "system": "QT1", "name": "Operational capital 2026/27", "years": ["2026/27", "2027/28"],
        "envelope": {"2026/27": 30_000_000, "2027/28": 30_000_000},
        "fair_share_formula": FROM_FACTS, "fair_share_mode": "floor", "tolerance_pct": 10,
    }  # fmt: skip
    created = client.post("/api/v1/rounds", json=round_body, headers=finance)
    assert created.status_code == 201, created.text
    round_ = created.json()
    figures = eric_backlog()
    weight = {c: figures[c]["high"] + figures[c]["significant"] for c in QT1}
    total = sum(weight.values())
    for code in QT1:
        assert round_["fair_shares"][code] == pytest.approx(float(weight[code] / total), abs=1e-9)
    assert round_["fair_share_formula"]["resolved_inputs"]["RX1"]["backlog"] == 102287286
    # schemes from each trust, scored, then a run
    for index, code in enumerate(sorted(QT1)):
        for n in range(3):
            scheme = client.post("/api/v1/schemes", headers=people[code], json={
                "system": "QT1", "organisation": code, "title": f"{code} backlog {n}",
                "category": "estates_backlog", "backlog_risk": "high",
                "cost_profile": {"2026/27": 2_000_000 + 500_000 * n + 100_000 * index,
                                 "2027/28": 1_000_000 * n},
            }).json()  # fmt: skip
            client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=people[code])
            scores = {"strategic_fit": 1 + n, "safety_quality": 4, "value_for_money": 2 + index % 3,
                      "deliverability": 3, "rationale": "from the estates survey"}  # fmt: skip
            assessed = client.post(
                f"/api/v1/schemes/{scheme['id']}/assessments",
                json=scores,
                headers=people["assessor"],
            )
            assert assessed.status_code == 201, assessed.text
    run = client.post(f"/api/v1/rounds/{round_['id']}/runs", json={}, headers=finance)
    assert run.status_code == 201, run.text
    result = run.json()["result"]
    assert result["status"] == "optimal", result.get("conflicts")
    snapshot = client.get(f"/api/v1/runs/{run.json()['id']}/snapshot.json", headers=finance).json()
    recorded = snapshot["fair_share_formula"]
    assert recorded["from_facts"] == FROM_FACTS["from_facts"]
    assert {c: Decimal(str(v["backlog"])) for c, v in recorded["inputs"].items()} == weight
    assert snapshot["fair_shares"] == round_["fair_shares"]
    # facts re-imported later change nothing in the stored snapshot; offline gives the same answer
    assert (
        import_eric(client, admin, content=ERIC.replace(b",5281676,", b",1,", 1)).status_code == 200
    )
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot))
    offline = subprocess.run([sys.executable, "-m", "capital_cli.main", "optimise", str(path)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    again = json.loads(offline.stdout)
    funded = sorted(s["id"] for s in result["schemes"] if s["outcome"] == "funded")
    assert sorted(s["id"] for s in again["schemes"] if s["outcome"] == "funded") == funded
    assert again["objective"] == pytest.approx(result["objective"], rel=1e-9)


def test_an_organisation_without_the_fact_is_named(client, world, imported, session):
    admin = world.auth("admin")
    trimmed = b"\n".join(line for line in ERIC.split(b"\n") if not line.startswith(b"RHA,"))
    assert import_eric(client, admin, content=trimmed).json()["matched"] == 196
    finance = _qt1_people(session)["finance"]
    body = {"system": "QT1", "name": "r", "years": ["2026/27"], "envelope": {"2026/27": 1000000},
            "fair_share_formula": FROM_FACTS}  # fmt: skip
    response = client.post("/api/v1/rounds", json=body, headers=finance)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == "body.fair_share_formula.from_facts.backlog"
    assert "RHA" in error["msg"] and "2016/17" in error["msg"]
    both = {"weights": {"backlog": 1.0}, "inputs": {"RX1": {"backlog": 5}},
            "from_facts": FROM_FACTS["from_facts"]}  # fmt: skip
    response = client.post(
        "/api/v1/rounds", json={**body, "fair_share_formula": both}, headers=finance
    )
    assert response.status_code == 422 and "choose one" in response.json()["errors"][0]["msg"]
