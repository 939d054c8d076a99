"""A finance director's round on the demo data, end to end over HTTP."""

import csv
import io
import json
import subprocess
import sys

from openpyxl import load_workbook

from tests.optimiser.checker import assert_valid

ROUND = {
    "system": "QWV",
    "name": "What-if board paper",
    "years": ["2026/27", "2027/28", "2028/29"],
    "envelope": {"2026/27": 36000000, "2027/28": 34000000, "2028/29": 33000000},
    "reserve": {"2026/27": 1500000},
    "fair_shares": {
        "R0A": 0.34,
        "R0B": 0.26,
        "R0C": 0.09,
        "R0D": 0.12,
        "R0E": 0.1,
        "R0F": 0.05,
        "Q0W": 0.04,
    },
    # soft, not floor: the demo's agreed round is now in delivery, and with its schemes
    # committed R0D's floor can no longer be met within the yearly envelopes.
    "fair_share_mode": "soft",
    "tolerance_pct": 20,
    "min_deliverability": 2,
}


def demo_round(client, headers) -> int:
    rounds = client.get("/api/v1/rounds", params={"system": "QWV"}, headers=headers).json()["items"]
    return rounds[0]["id"]


def test_finance_director_end_to_end(client, demo_world, tmp_path):
    finance = demo_world.auth("ics_finance")
    created = client.post("/api/v1/rounds", json=ROUND, headers=finance)
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]

    run = client.post(f"/api/v1/rounds/{round_id}/runs", json={"label": "base"}, headers=finance)
    assert run.status_code == 201, run.text
    base = run.json()
    result = base["result"]
    assert result["status"] == "optimal", result["conflicts"]
    assert base["snapshot_sha256"] and base["solver"] == "highs" and base["solver_version"]
    outcomes = {s["outcome"] for s in result["schemes"]}
    assert outcomes == {"funded", "reserve", "not_funded"}
    assert all(s["reason"] for s in result["schemes"])
    assert any("deliverability gateway" in s["reason"] for s in result["schemes"])
    snapshot = client.get(f"/api/v1/runs/{base['id']}/snapshot.json", headers=finance).json()
    assert_valid(snapshot, result)

    # What-if: a smaller first-year envelope, for this run only.
    smaller = client.post(
        f"/api/v1/rounds/{round_id}/runs",
        json={"label": "tighter 2026/27", "envelope": {"2026/27": 31000000}},
        headers=finance,
    ).json()
    assert smaller["options"]["overrides"] == {"envelope": {"2026/27": 31000000}}
    assert smaller["result"]["by_year"][0]["envelope"] == 31000000
    assert smaller["result"]["status"] == "optimal", smaller["result"]["conflicts"]
    assert smaller["result"]["objective"] < result["objective"]
    assert (
        client.get(f"/api/v1/rounds/{round_id}", headers=finance).json()["envelope"]["2026/27"]
        == 36000000
    )

    comparison = client.get(
        f"/api/v1/runs/{base['id']}/compare", params={"with": smaller["id"]}, headers=finance
    ).json()
    assert comparison["objective_difference"] < 0
    assert comparison["funded_only_in_a"] or comparison["start_year_changes"]
    assert comparison["by_year"][0]["difference"] < 0

    frontier = client.post(
        f"/api/v1/rounds/{round_id}/frontier",
        json={"multipliers": [0.6, 1.0, 1.4]},
        headers=finance,
    )
    # The frontier is a job (its completion is tested against a live server: tests/clients).
    assert frontier.status_code == 202, frontier.text
    assert frontier.headers["location"] == f"/api/v1/jobs/{frontier.json()['id']}"
    assert frontier.json()["kind"] == "frontier"
    assert frontier.json()["progress"]["total"] == 3

    runs = client.get(f"/api/v1/rounds/{round_id}/runs", headers=finance).json()["items"]
    assert [r["label"] for r in runs] == ["base", "tighter 2026/27"]

    xlsx = client.get(f"/api/v1/runs/{base['id']}/report.xlsx", headers=finance)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Summary", "Schemes", "Organisations", "Categories"]
    assert book["Summary"]._charts, "the summary sheet carries a chart"
    scheme_rows = list(book["Schemes"].iter_rows(min_row=2, values_only=True))
    assert scheme_rows[-1][0] == "Funded total"
    scheme_rows = scheme_rows[:-1]
    assert len(scheme_rows) == len(result["schemes"])
    funded_xlsx = {str(r[2]) for r in scheme_rows if r[0] == "Funded"}
    assert funded_xlsx == {s["id"] for s in result["schemes"] if s["outcome"] == "funded"}

    report = client.get(f"/api/v1/runs/{base['id']}/report.csv", headers=finance)
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(rows) == len(result["schemes"])
    assert {r["scheme_id"] for r in rows if r["outcome"] == "funded"} == funded_xlsx
    assert all(r["title"] for r in rows)

    # The downloaded snapshot solved offline gives the same objective and portfolio.
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot))
    offline = subprocess.run([sys.executable, "-m", "capital_cli.main", "optimise", str(path)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    again = json.loads(offline.stdout)
    assert again["objective"] == result["objective"]
    assert [(s["id"], s["outcome"], s.get("start_year")) for s in again["schemes"]] == [
        (s["id"], s["outcome"], s.get("start_year")) for s in result["schemes"]
    ]

    for who in ("trust", "viewer"):
        denied = client.post(
            f"/api/v1/rounds/{round_id}/runs", json={}, headers=demo_world.auth(who)
        )
        assert denied.status_code == 403
        assert client.post(f"/api/v1/rounds/{round_id}/agree", json={"run_id": base["id"]},
                           headers=demo_world.auth(who)).status_code == 403  # fmt: skip
        assert (
            client.post("/api/v1/rounds", json=ROUND, headers=demo_world.auth(who)).status_code
            == 403
        )
        # ...but they can read the outcome
        assert (
            client.get(f"/api/v1/runs/{base['id']}", headers=demo_world.auth(who)).status_code
            == 200
        )

    agreed = client.post(
        f"/api/v1/rounds/{round_id}/agree", json={"run_id": base["id"]}, headers=finance
    )
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["status"] == "agreed" and agreed.json()["agreed_run_id"] == base["id"]
    funded = [s["id"] for s in result["schemes"] if s["outcome"] == "funded"]
    statuses = {
        client.get(f"/api/v1/schemes/{i}", headers=finance).json()["status"] for i in funded
    }
    assert statuses == {"approved"}
    assert (
        client.post(f"/api/v1/rounds/{round_id}/runs", json={}, headers=finance).status_code == 409
    )
    assert (
        client.post(
            f"/api/v1/rounds/{round_id}/agree", json={"run_id": base["id"]}, headers=finance
        ).status_code
        == 409
    )
    version = client.get(f"/api/v1/rounds/{round_id}", headers=finance).json()["version"]
    assert (
        client.patch(
            f"/api/v1/rounds/{round_id}", json={"name": "x"},
            headers={**finance, "If-Match": str(version)},
        ).status_code
        == 409
    )  # fmt: skip
    events = client.get(
        "/api/v1/audit", params={"entity": "round", "entity_id": round_id}, headers=finance
    ).json()
    assert [e["action"] for e in events["items"]] == ["create", "agree"]
    approvals = client.get(
        "/api/v1/audit", params={"entity": "scheme", "entity_id": funded[0]}, headers=finance
    ).json()
    assert approvals["items"][-1]["action"] == "approve"

    # A later round takes the approved schemes as committed: mandatory, start fixed.
    later = client.post(
        "/api/v1/rounds", json={**ROUND, "name": "Next year"}, headers=finance
    ).json()
    rerun = client.post(f"/api/v1/rounds/{later['id']}/runs", json={}, headers=finance).json()
    committed = {s["id"]: s for s in rerun["result"]["schemes"]}
    snapshot2 = client.get(f"/api/v1/runs/{rerun['id']}/snapshot.json", headers=finance).json()
    raw = {s["id"]: s for s in snapshot2["schemes"]}
    assert all(
        raw[i]["mandatory"] and raw[i]["max_deferral_years"] == 0 for i in funded if i in raw
    )
    assert rerun["result"]["status"] == "optimal", rerun["result"]["conflicts"]
    assert all(committed[i]["outcome"] == "funded" for i in funded if i in committed), [
        committed[i] for i in funded if committed[i]["outcome"] != "funded"
    ]


def test_infeasible_what_if_is_201_with_conflicts(client, demo_world):
    finance = demo_world.auth("ics_finance")
    response = client.post(
        f"/api/v1/rounds/{demo_round(client, finance)}/runs",
        json={"envelope": {"2026/27": 2000000}},
        headers=finance,
    )
    assert response.status_code == 201, response.text
    result = response.json()["result"]
    assert result["status"] == "infeasible"
    # the demo's draft round holds the agreed round's approved schemes as committed
    assert any(
        "committed in earlier rounds need at least" in c and "2026/27" in c
        for c in result["conflicts"]
    )


def test_demo_round_runs(client, demo_world):
    finance = demo_world.auth("ics_finance")
    response = client.post(
        f"/api/v1/rounds/{demo_round(client, finance)}/runs",
        json={},
        headers=demo_world.auth("ics_finance"),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["result"]["status"] == "optimal"
    assert body["result"]["price_of_rules"]["fair_shares"] >= 0
    assert body["result"]["objective"] >= body["result"]["greedy"]["objective"]


def test_round_validation_names_fields(client, demo_world):
    finance = demo_world.auth("ics_finance")
    bad = {**ROUND, "years": ["2026/27", "2028/29"], "weights": {"strategic_fit": 0.9},
           "fair_shares": {"R0A": 0.5, "ZZZ": 0.5}, "envelope": {"2026/27": -1}}  # fmt: skip
    response = client.post("/api/v1/rounds", json=bad, headers=finance)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "body.envelope.2026/27" in {e["loc"] for e in response.json()["errors"]}
    bad = {**ROUND, "years": ["2026/27", "2028/29"], "weights": {"strategic_fit": 0.9}}
    locs = {
        e["loc"] for e in client.post("/api/v1/rounds", json=bad, headers=finance).json()["errors"]
    }
    assert {"body.years[1]", "body.weights"} <= locs
    unknown_org = client.post(
        "/api/v1/rounds", json={**ROUND, "fair_shares": {"R0A": 0.5, "ZZZ": 0.5}}, headers=finance
    )
    assert unknown_org.json()["errors"] == [
        {"loc": "body.fair_shares.ZZZ", "msg": "not an organisation of this system"}
    ]
    missing_share = client.post(
        "/api/v1/rounds", json={**ROUND, "fair_shares": {"R0A": 1.0}}, headers=finance
    ).json()
    run = client.post(f"/api/v1/rounds/{missing_share['id']}/runs", json={}, headers=finance)
    assert run.status_code == 422
    assert "has no fair share" in run.json()["errors"][0]["msg"]


def test_fair_shares_from_the_formula_are_shown_with_their_inputs(client, demo_world):
    finance = demo_world.auth("ics_finance")
    round_ = client.get(f"/api/v1/rounds/{demo_round(client, finance)}", headers=finance).json()
    formula = round_["fair_share_formula"]
    assert set(formula["inputs"]["R0A"]) == {
        "depreciation",
        "backlog_high_significant",
        "population",
    }
    assert formula["computed_shares"] == round_["fair_shares"]
    assert abs(sum(round_["fair_shares"].values()) - 1) < 1e-9
    round_id = demo_round(client, finance)
    version = client.get(f"/api/v1/rounds/{round_id}", headers=finance).headers["etag"]
    update = client.patch(
        f"/api/v1/rounds/{round_id}",
        json={"fair_share_formula": {"weights": {"population": 1.0},
                                     "inputs": {"R0A": {"population": 3}, "R0B": {"population": 1}}}},
        headers={**finance, "If-Match": version},
    )  # fmt: skip
    assert update.status_code == 200, update.text
    assert update.json()["fair_shares"] == {"R0A": 0.75, "R0B": 0.25}
    # An input for an organisation outside the system is blamed on the input the caller sent,
    # not on fair_shares, which it did not send.
    without = {k: v for k, v in ROUND.items() if k != "fair_shares"}
    outside = client.post("/api/v1/rounds", json={**without, "fair_share_formula": {
        "weights": {"population": 1.0}, "inputs": {"R0A": {"population": 3}, "ZZZ": {"population": 1}}}},
        headers=finance)  # fmt: skip
    assert outside.status_code == 422, outside.text
    assert outside.json()["errors"] == [
        {"loc": "body.fair_share_formula.inputs.ZZZ", "msg": "not an organisation of this system"}
    ]


def test_other_systems_cannot_see_or_run_the_round(client, demo_world, session):
    from api.users import service as users

    outsider = users.create_user(session, name="NB finance", role="ics_finance", system_code="QNB")
    token = users.issue_token(session, user=outsider)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    round_id = demo_round(client, demo_world.auth("ics_finance"))
    # out of scope reads exactly like missing, and what cannot be read cannot be run
    assert client.get(f"/api/v1/rounds/{round_id}", headers=headers).status_code == 404
    assert (
        client.post(f"/api/v1/rounds/{round_id}/runs", json={}, headers=headers).status_code == 404
    )
    assert client.get("/api/v1/rounds", headers=headers).json()["items"] == []


def test_round_status_and_versions(client, demo_world):
    finance = demo_world.auth("ics_finance")
    round_ = client.post("/api/v1/rounds", json=ROUND, headers=finance).json()
    path = f"/api/v1/rounds/{round_['id']}"
    opened = client.patch(
        path, json={"status": "open"}, headers={**finance, "If-Match": str(round_["version"])}
    )
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    stale = client.patch(
        path, json={"name": "x"}, headers={**finance, "If-Match": str(round_["version"])}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    # without If-Match a change is refused (428), not applied blindly over someone else's
    missing = client.patch(path, json={"name": "blind"}, headers=finance)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    assert opened.headers["etag"] == f'"{opened.json()["version"]}"'
    current = {**finance, "If-Match": opened.headers["etag"]}
    closed = client.patch(path, json={"status": "closed"}, headers=current)
    assert closed.json()["status"] == "closed" and closed.json()["name"] == round_["name"]
    assert client.get(path, headers=finance).headers["etag"] == closed.headers["etag"]
    current = {**finance, "If-Match": closed.headers["etag"]}
    assert client.patch(path, json={"name": "too late"}, headers=current).status_code == 409
    # a closed round can still be run (and then agreed); only agreement ends the runs
    assert client.post(f"{path}/runs", json={}, headers=finance).status_code == 201
    # agreement happens only through /agree, with a run
    assert client.patch(path, json={"status": "agreed"}, headers=current).status_code == 422
