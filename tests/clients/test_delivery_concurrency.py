"""Writers racing on a scheme's delivery against a real server (`capital serve`, its own
process and connection pool) on the session's database: one PATCH wins and the others get
412; two imports of the same schemes both land, one after the other, never interleaved."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from api.db import make_engine
from tests.clients.conftest import capital

API = "/api/v1"


@pytest.fixture(scope="module")
def writers(live):
    """Three writers of R0A's delivery: the demo's trust user, a second user of the same trust
    (made with `capital users create`) and the administrator."""
    env = {"DATABASE_URL": live.database_url}
    made = capital("users", "create", "--name", "Second R0A writer", "--role", "trust",
                   "--organisation", "R0A", env={**live.env(), **env})  # fmt: skip
    assert made.returncode == 0, made.stderr
    tokens = [live.tokens["trust"], made.stdout.strip().splitlines()[-1], live.tokens["admin"]]
    return [{"Authorization": f"Bearer {token}"} for token in tokens]


def _approved_r0a(live, headers) -> list[int]:
    page = httpx.get(f"{live.url}{API}/schemes", headers=headers,
                     params={"organisation": "R0A", "status": "approved", "limit": 100}).json()  # fmt: skip
    return [s["id"] for s in page["items"]]


def _audit(live, scheme_id: int) -> list[dict]:
    headers = {"Authorization": f"Bearer {live.tokens['admin']}"}
    page = httpx.get(f"{live.url}{API}/audit", headers=headers,
                     params={"entity": "delivery", "entity_id": str(scheme_id), "limit": 500}).json()  # fmt: skip
    return page["items"]


def _race(calls) -> list[httpx.Response]:
    """Run the calls at the same instant, one thread (and HTTP connection) each."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            return call(client)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def _open_months(delivery: dict) -> list[str]:
    year = next(y for y in delivery["years"] if y["year"] == delivery["current_year"])
    return [m["period"] for m in year["months"] if not m["closed"]][1:]  # after the next to close


def _forget_delivery(live, scheme_id: int) -> None:
    """Make the scheme one approved before delivery was recorded (no stored row): its first
    write inserts the row, so racing first writes must not both insert."""
    engine = make_engine(live.database_url)  # foreign keys on: its months go with it
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM scheme_deliveries WHERE scheme_id = :id"), {"id": scheme_id})  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "not-yet-stored"])
def test_racing_patches_one_wins_the_others_get_412(live, writers, stored):
    scheme_id = _approved_r0a(live, writers[0])[0 if stored else 1]
    if not stored:
        _forget_delivery(live, scheme_id)
    url = f"{live.url}{API}/schemes/{scheme_id}/delivery"
    for attempt in range(4):  # several races: each must end with exactly one winner
        before = httpx.get(url, headers=writers[0]).json()
        months = _open_months(before)
        audits_before = len(_audit(live, scheme_id))

        def patch(index: int, months=months, attempt=attempt, version=before["version"]):
            body = {
                "forecast": {p: 1000 * (index + 1) + attempt for p in months},
                "commentary": f"writer {index}, attempt {attempt}",
                "rag": ["green", "amber", "red"][index % 3],
            }
            headers = {**writers[index % len(writers)], "If-Match": str(version)}
            return lambda client: client.patch(url, json=body, headers=headers)

        responses = _race([patch(i) for i in range(4)])
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 412, 412, 412], [r.text for r in responses]
        for lost in (r for r in responses if r.status_code == 412):
            assert lost.headers["content-type"] == "application/problem+json"
        winner = next(r.json() for r in responses if r.status_code == 200)
        index = int(winner["commentary"].split()[1].rstrip(","))
        after = httpx.get(url, headers=writers[0]).json()
        # Exactly the winner's change, whole: version bumped once, its forecasts, RAG, text.
        assert after == winner
        assert after["version"] == before["version"] + 1
        assert after["commentary"] == f"writer {index}, attempt {attempt}"
        assert after["rag"] == ["green", "amber", "red"][index % 3]
        year = next(y for y in after["years"] if y["year"] == after["current_year"])
        forecasts = {m["period"]: m["forecast"] for m in year["months"]}
        assert all(Decimal(str(forecasts[p])) == 1000 * (index + 1) + attempt for p in months)
        # One audit event, the winner's, whose before is what everyone read.
        events = _audit(live, scheme_id)
        assert len(events) == audits_before + 1
        assert events[-1]["after"]["commentary"] == after["commentary"]
        assert events[-1]["after"]["version"] == after["version"]


def test_racing_imports_land_one_after_the_other(live, writers):
    admin = writers[2]
    page = httpx.get(f"{live.url}{API}/schemes", headers=admin,
                     params={"system": "QWV", "status": "approved", "limit": 500}).json()  # fmt: skip
    schemes = [s["id"] for s in page["items"]]
    assert len(schemes) >= 10  # enough rows that the two imports overlap in time
    period = httpx.get(f"{live.url}{API}/systems/QWV/period", headers=admin).json()["next_period"]  # fmt: skip
    url = f"{live.url}{API}/systems/QWV/delivery/import"
    for attempt in range(3):
        versions = {
            s: httpx.get(f"{live.url}{API}/schemes/{s}/delivery", headers=admin).json()["version"]
            for s in schemes
        }
        audits = {s: len(_audit(live, s)) for s in schemes}

        def import_(index: int, attempt=attempt):
            # The two imports list the schemes in opposite orders (the classic deadlock).
            order = schemes if index == 0 else list(reversed(schemes))
            body = {"period": period, "schemes": [
                {"scheme_id": s, "actual": 100 * (index + 1) + attempt,
                 "commentary": f"import {index}, attempt {attempt}"}
                for s in order]}  # fmt: skip
            return lambda client: client.post(url, json=body, headers=admin)

        responses = _race([import_(0), import_(1)])
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        finals = {
            s: httpx.get(f"{live.url}{API}/schemes/{s}/delivery", headers=admin).json()
            for s in schemes
        }
        # Serial: every scheme ends with the same (the later) import's return, bumped twice.
        last = {f["commentary"] for f in finals.values()}
        assert len(last) == 1, last
        index = int(last.pop().split()[1].rstrip(","))
        for scheme_id, final in finals.items():
            assert final["version"] == versions[scheme_id] + 2
            month = next(m for y in final["years"] for m in y["months"] if m["period"] == period)
            assert Decimal(str(month["actual"])) == 100 * (index + 1) + attempt
            events = _audit(live, scheme_id)[audits[scheme_id] :]
            assert [e["action"] for e in events] == ["import", "import"]
            # The second import started from what the first left: nothing lost between them.
            first, second = events[0]["after"], events[1]["before"]
            assert second == first
            assert events[1]["after"]["commentary"] == f"import {index}, attempt {attempt}"


def test_racing_closes_close_one_month(live):
    """Two finance directors close the month at once, each naming it: one closes it, the other
    gets 409 -- "closed by someone else at the same time" when the two overlap, "not the next
    month to close" when the first had committed before the second began -- and the month
    after it is not closed by accident, however the two fall on the machine's clock."""
    headers = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    before = httpx.get(f"{live.url}{API}/systems/QWV/period", headers=headers).json()
    url = f"{live.url}{API}/systems/QWV/close-period"
    body = {"period": before["next_period"]}
    responses = _race([lambda client: client.post(url, json=body, headers=headers)] * 2)
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    lost = next(r for r in responses if r.status_code == 409).json()["detail"]
    assert (
        lost == f"{before['next_period']} was closed by someone else at the same time."
        or lost.startswith(f"{before['next_period']} is not the next month to close")
    ), lost
    after = httpx.get(f"{live.url}{API}/systems/QWV/period", headers=headers).json()
    assert after["reporting_period"] == before["next_period"]
