"""CapitalClient against the real, running app."""

from decimal import Decimal

import httpx
import pytest
from capital_client import (
    CapitalClient,
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    ServerUnavailable,
    ValidationFailed,
)


@pytest.fixture
def finance(live):
    with CapitalClient(live.url, live.tokens["ics_finance"]) as client:
        yield client


@pytest.fixture
def trust(live):
    with CapitalClient(live.url, live.tokens["trust"]) as client:
        yield client


def test_pagination_helper_reads_every_page(finance):
    first = finance.list_schemes(system="QWV", limit=7)
    everything = list(finance.iter_schemes(system="QWV", page_size=7))
    assert len(first.items) == 7 and len(everything) == first.total
    assert len({s.id for s in everything}) == first.total
    assert all(isinstance(s.total_cost, Decimal) for s in everything)


def test_money_round_trips_exactly(trust):
    scheme = trust.create_scheme(system="QWV", organisation="R0A", title="Exact pennies",
                                 category="equipment", cost_profile={"2026/27": Decimal("1234567.89")})  # fmt: skip
    assert scheme.cost_profile == {"2026/27": Decimal("1234567.89")}
    assert trust.get_scheme(scheme.id).total_cost == Decimal("1234567.89")


def test_versions_and_problem_details(trust):
    scheme = trust.create_scheme(system="QWV", organisation="R0A", title="Versioned",
                                 category="digital", cost_profile={"2027/28": 10000})  # fmt: skip
    updated = trust.update_scheme(scheme.id, version=scheme.version, title="Versioned v2")
    assert updated.version == scheme.version + 1
    with pytest.raises(PreconditionFailed) as stale:
        trust.update_scheme(scheme.id, version=scheme.version, title="lost update")
    assert (
        stale.value.status == 412
        and "changed" in stale.value.problem["detail"]
        or "version" in str(stale.value)
    )
    with pytest.raises(ValidationFailed) as invalid:
        trust.create_scheme(
            system="QWV",
            organisation="R0A",
            title="x",
            category="roads",
            cost_profile={"2026/27": -1},
        )
    assert {"body.category", "body.cost_profile.2026/27"} <= {
        e["loc"] for e in invalid.value.errors
    }
    assert trust.submit_scheme(scheme.id).status == "submitted"
    assert trust.withdraw_scheme(scheme.id).status == "withdrawn"


def test_round_updates_carry_the_version_read(finance):
    round_ = finance.create_round(system="QWV", name="Versioned round", years=["2026/27"],
                                  envelope={"2026/27": 1000000})  # fmt: skip
    renamed = finance.update_round(round_.id, version=round_.version, name="Versioned round v2")
    assert renamed.name == "Versioned round v2" and renamed.version == round_.version + 1
    with pytest.raises(PreconditionFailed):
        finance.update_round(round_.id, version=round_.version, name="lost update")
    assert finance.get_round(round_.id).name == "Versioned round v2"


def test_errors_are_typed(live, trust):
    with pytest.raises(NotAuthenticated), CapitalClient(live.url, "cap_wrong") as client:
        client.list_systems()
    with pytest.raises(Forbidden):
        trust.create_round(system="QWV", name="x", years=["2026/27"], envelope={"2026/27": 1})
    with pytest.raises(NotFound):
        trust.get_scheme(99999999)


def test_server_down_is_one_error_after_retries():
    with (
        pytest.raises(ServerUnavailable),
        CapitalClient("http://127.0.0.1:9", "t", retries=1, backoff=0.01) as client,
    ):
        client.list_systems()


class FlakyTransport(httpx.BaseTransport):
    """Drops the first `failures` connections, then lets requests through to the real server."""

    def __init__(self, failures: int, error: type[httpx.TransportError]):
        self.failures, self.error, self.calls = failures, error, []
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.method)
        if self.failures:
            self.failures -= 1
            raise self.error("dropped", request=request)
        return self.real.handle_request(request)


def test_idempotent_calls_are_retried_but_writes_are_not_sent_twice(live):
    flaky = FlakyTransport(2, httpx.ReadError)
    with CapitalClient(live.url, live.tokens["viewer"], transport=flaky, backoff=0.01) as client:
        assert client.list_systems()[0].code == "QWV"
    assert flaky.calls == ["GET", "GET", "GET"]
    flaky = FlakyTransport(1, httpx.ReadError)  # the request may have reached the server
    with (
        CapitalClient(live.url, live.tokens["trust"], transport=flaky, backoff=0.01) as client,
        pytest.raises(ServerUnavailable),
    ):
        client.create_scheme(
            system="QWV",
            organisation="R0A",
            title="once",
            category="other",
            cost_profile={"2026/27": 1},
        )
    assert flaky.calls == ["POST"]
    flaky = FlakyTransport(1, httpx.ConnectError)  # never connected: safe to try again
    with CapitalClient(live.url, live.tokens["trust"], transport=flaky, backoff=0.01) as client:
        assert client.create_scheme(system="QWV", organisation="R0A", title="after a refused connection",
                                    category="other", cost_profile={"2026/27": 1}).status == "draft"  # fmt: skip
    assert flaky.calls == ["POST", "POST"]


def test_round_workflow_through_the_client(live, finance):
    round_ = finance.create_round(system="QWV", name="Client round", years=["2026/27", "2027/28", "2028/29"],
                                  envelope={"2026/27": 36000000, "2027/28": 34000000, "2028/29": 33000000},
                                  min_deliverability=2)  # fmt: skip
    base = finance.run_round(round_.id, label="base")
    what_if = finance.run_round(round_.id, label="less", envelope={"2026/27": 30000000})
    assert base.result["status"] == "optimal"
    assert [r.label for r in finance.list_runs(round_.id)] == ["base", "less"]
    comparison = finance.compare_runs(base.id, what_if.id)
    assert comparison["objective_difference"] <= 0
    snapshot = finance.run_snapshot(base.id)
    assert snapshot["years"] == ["2026/27", "2027/28", "2028/29"]
    assert finance.run_report(base.id, format="xlsx")[:2] == b"PK"
    assert finance.run_report(base.id, format="csv").startswith(b"\xef\xbb\xbfscheme_id,")
    assert finance.run_report(base.id, format="pdf", compare_with=what_if.id)[:5] == b"%PDF-"
    points = finance.frontier(round_.id, multipliers=[0.8, 1.2])["points"]
    assert [p["multiplier"] for p in points] == [Decimal("0.8"), Decimal("1.2")]
    assert finance.agree(round_.id, run_id=base.id).status == "agreed"
    with pytest.raises(Conflict):
        finance.run_round(round_.id)
    events = finance.audit(entity="round", entity_id=round_.id)
    assert [e.action for e in events] == ["create", "agree"]


def test_administration_through_the_client(live):
    with CapitalClient(live.url, live.tokens["admin"]) as admin:
        admin.create_system(code="QZZ", name="Client test system")
        created = admin.create_organisation(
            code="RZZ", name="Client test trust", kind="acute", systems=["QZZ", "QWV"]
        )
        assert created.systems == ["QWV", "QZZ"]
        assert admin.update_organisation("RZZ", name="Renamed").name == "Renamed"
        assert admin.update_system("QZZ", name="Renamed system").name == "Renamed system"
        assert "RZZ" in admin.get_system("QZZ").organisations
        assert admin.get_organisation("RZZ").kind == "acute"
    with CapitalClient(live.url, live.tokens["ics_finance"]) as finance, pytest.raises(Forbidden):
        finance.create_system(code="QYY", name="not allowed")


def test_assessment_through_the_client(live, trust):
    scheme = trust.create_scheme(system="QWV", organisation="R0A", title="To be scored",
                                 category="equipment", cost_profile={"2026/27": 50000})  # fmt: skip
    trust.submit_scheme(scheme.id)
    with CapitalClient(live.url, live.tokens["assessor"]) as assessor:
        scored = assessor.assess(scheme.id, rationale="Clear need", strategic_fit=4, safety_quality=5,
                                 value_for_money=3, deliverability=4)  # fmt: skip
        assert scored.scheme_id == scheme.id
        assert [a.rationale for a in assessor.list_assessments(scheme.id)] == ["Clear need"]
        with pytest.raises(ValidationFailed) as invalid:
            assessor.assess(
                scheme.id,
                rationale="x",
                strategic_fit=9,
                safety_quality=5,
                value_for_money=3,
                deliverability=4,
            )
        assert invalid.value.errors[0]["loc"] == "body.strategic_fit"
    assert trust.get_scheme(scheme.id).scores.strategic_fit == 4


def test_a_month_closed_through_the_client_by_name_closes_once(finance):
    month = finance.delivery_period("QWV")["next_period"]
    closed = finance.close_period("QWV", period=month)
    assert closed["reporting_period"] == month
    with pytest.raises(Conflict, match=f"{month} is not the next month to close"):
        finance.close_period("QWV", period=month)  # a retry: the month after stays open
    assert finance.delivery_period("QWV")["reporting_period"] == month
    with pytest.raises(ValidationFailed):
        finance.close_period("QWV", period="2026-13")
