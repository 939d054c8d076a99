"""Pages offer only what the service would do: no form, button or link for an action the
shared service refuses for this person's role, scope or the object's state (each control is
looked for where it is allowed, and is absent where it is refused)."""

import re
from datetime import date
from html import unescape

from sqlalchemy import select

from api.systems.models import Organisation
from api.users.models import User
from tests.conftest import scheme_body
from tests.web.test_pages import sign_in

API = "/api/v1"


def _scheme(client, world, who="trust_a1", organisation="RA1", submit=False, **body) -> int:
    created = client.post(f"{API}/schemes", json=scheme_body(organisation=organisation, **body),
                          headers=world.auth(who))  # fmt: skip
    assert created.status_code == 201, created.text
    scheme_id = created.json()["id"]
    if submit:
        submitted = client.post(f"{API}/schemes/{scheme_id}/submit", headers=world.auth(who))
        assert submitted.status_code == 200, submitted.text
    return scheme_id


def _controls(html: str, scheme_id: int) -> set[str]:
    """The scheme's change controls on a page: edit, submit, withdraw."""
    return set(re.findall(rf'/schemes/{scheme_id}/(edit|submit|withdraw)"', html))


def test_a_closed_organisations_draft_offers_no_submit(client, world, session):
    draft = _scheme(client, world)
    sign_in(client, world.tokens["trust_a1"])
    assert _controls(client.get(f"/schemes/{draft}").text, draft) == {"edit", "submit", "withdraw"}
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA1")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    page = client.get(f"/schemes/{draft}").text
    assert _controls(page, draft) == {"edit", "withdraw"}
    assert "RA1 closed on 2026-03-31; a closed organisation can submit no new schemes." in page
    refused = client.post(f"{API}/schemes/{draft}/submit", headers=world.auth("trust_a1"))
    assert refused.status_code == 409  # what the page no longer offers, the service refuses


def test_a_scheme_that_cannot_change_offers_no_edit_form(client, world):
    scheme = _scheme(client, world, submit=True)
    withdrawn = client.post(f"{API}/schemes/{scheme}/withdraw", headers=world.auth("trust_a1"))
    assert withdrawn.status_code == 200
    sign_in(client, world.tokens["trust_a1"])
    assert _controls(client.get(f"/schemes/{scheme}").text, scheme) == set()
    edit = client.get(f"/schemes/{scheme}/edit")
    assert edit.status_code == 409 and "A withdrawn scheme cannot be changed." in edit.text
    assert 'name="title"' not in edit.text
    live = _scheme(client, world)
    assert client.get(f"/schemes/{live}/edit").status_code == 200
    # Another organisation's submitted scheme: readable, with nothing to change.
    other = _scheme(client, world, who="trust_a2", organisation="RA2", submit=True)
    assert _controls(client.get(f"/schemes/{other}").text, other) == set()
    assert client.get(f"/schemes/{other}/edit").status_code == 403


def _score_button(html: str, scheme_id: int) -> bool:
    return f'href="/assess/{scheme_id}"' in html


def test_the_scoring_form_is_offered_only_for_a_scheme_the_assessor_may_score(client, world):
    theirs = _scheme(client, world, who="trust_a2", organisation="RA2", submit=True)
    other = _scheme(client, world, submit=True)
    withdrawn = _scheme(client, world, submit=True)
    client.post(f"{API}/schemes/{withdrawn}/withdraw", headers=world.auth("trust_a1"))
    sign_in(client, world.tokens["assessor_a"])  # an assessor from RA2
    # RA2's own scheme: readable, never scored by its own organisation's assessor.
    page = client.get(f"/schemes/{theirs}").text
    assert not _score_button(page, theirs)
    own = client.get(f"/assess/{theirs}")
    assert own.status_code == 403 and "own organisation" in own.text
    assert 'name="rationale"' not in own.text
    # A withdrawn scheme: no longer scored.
    assert not _score_button(client.get(f"/schemes/{withdrawn}").text, withdrawn)
    gone = client.get(f"/assess/{withdrawn}")
    assert gone.status_code == 409 and "Only submitted schemes are scored" in gone.text
    # Another organisation's submitted scheme is the one they may score.
    assert _score_button(client.get(f"/schemes/{other}").text, other)
    form = client.get(f"/assess/{other}")
    assert form.status_code == 200 and 'name="rationale"' in form.text
    # Other roles are offered no scoring.
    sign_in(client, world.tokens["finance_a"])
    assert not _score_button(client.get(f"/schemes/{other}").text, other)


def _round_with_runs(client, world) -> tuple[int, dict]:
    """A round of SYA with two submitted schemes (one mandatory), a run with a portfolio and
    one without (too little money for the mandatory one)."""
    _scheme(client, world, submit=True, mandatory=True, mandatory_reason="Fire safety")
    _scheme(client, world, who="trust_a2", organisation="RA2", submit=True)
    finance = world.auth("finance_a")
    years = ["2026/27", "2027/28"]
    created = client.post(f"{API}/rounds", json={
        "system": "SYA", "name": "Offered controls", "years": years,
        "envelope": dict.fromkeys(years, 5000000)}, headers=finance)  # fmt: skip
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    runs = {}
    for label, body in (("base", {}), ("none", {"envelope": dict.fromkeys(years, 1000)})):
        run = client.post(f"{API}/rounds/{round_id}/runs", json={"label": label, **body},
                          headers=finance)  # fmt: skip
        assert run.status_code == 201, run.text
        runs[label] = run.json()
    assert runs["base"]["result"]["status"] == "optimal"
    assert runs["none"]["result"]["status"] == "infeasible"
    return round_id, runs


def _agree_link(html: str, round_id: int, run_id: int) -> bool:
    return f'href="/rounds/{round_id}/agree?run={run_id}"' in html


def test_agreement_is_offered_only_where_the_service_would_agree(client, world):
    round_id, runs = _round_with_runs(client, world)
    base, none = runs["base"]["id"], runs["none"]["id"]
    for who in ("viewer_a", "assessor_a", "trust_a1"):
        sign_in(client, world.tokens[who])
        assert not _agree_link(client.get(f"/runs/{base}").text, round_id, base)
    sign_in(client, world.tokens["finance_a"])
    assert _agree_link(client.get(f"/runs/{base}").text, round_id, base)
    assert client.get(f"/rounds/{round_id}/agree?run={base}").status_code == 200
    assert not _agree_link(client.get(f"/runs/{none}").text, round_id, none)
    # A funded scheme changed since the run: the service would refuse, so the page says why.
    funded = next(s["id"] for s in runs["base"]["result"]["schemes"] if s["outcome"] == "funded")
    owner = client.get(f"{API}/schemes/{funded}", headers=world.auth("finance_a")).json()
    who = "trust_a1" if owner["organisation"] == "RA1" else "trust_a2"
    changed = client.patch(f"{API}/schemes/{funded}", json={"title": "Changed since the run"},
                           headers={**world.auth(who), "If-Match": str(owner["version"])})  # fmt: skip
    assert changed.status_code == 200, changed.text
    page = client.get(f"/runs/{base}").text
    assert not _agree_link(page, round_id, base)
    assert f"Scheme {funded} has changed since run {base}" in page
    stale = client.get(f"/rounds/{round_id}/agree?run={base}")
    assert stale.status_code == 409 and "Agree and approve" not in stale.text
    # Run again, agree it; then no run of the agreed round offers agreement, nor its page.
    again = client.post(f"{API}/rounds/{round_id}/runs", json={"label": "again"},
                        headers=world.auth("finance_a")).json()["id"]  # fmt: skip
    agreed = client.post(f"{API}/rounds/{round_id}/agree", json={"run_id": again},
                         headers=world.auth("finance_a"))  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    for run_id in (base, again):
        assert not _agree_link(client.get(f"/runs/{run_id}").text, round_id, run_id)
    other = client.get(f"/rounds/{round_id}/agree?run={base}")
    assert other.status_code == 409 and "Agree and approve" not in other.text
    assert f"Round {round_id} is already agreed (run {again})" in client.get(f"/runs/{base}").text


def _compare_options(html: str) -> set[int]:
    form = re.search(r'<form action="/runs/compare".*?</form>', html, re.S)
    return {int(i) for i in re.findall(r'<option value="(\d+)"', form[0])} if form else set()


def test_only_runs_with_a_portfolio_are_offered_for_comparison(client, world):
    round_id, runs = _round_with_runs(client, world)
    base, none = runs["base"]["id"], runs["none"]["id"]
    sign_in(client, world.tokens["finance_a"])
    # One run with a portfolio: nothing to compare it with (the infeasible one is refused).
    assert _compare_options(client.get(f"/rounds/{round_id}").text) == set()
    assert "/runs/compare?" not in client.get(f"/runs/{base}").text
    refused = client.get(f"/runs/compare?a={none}&b={base}")
    assert refused.status_code == 409 and "no portfolio" in refused.text
    again = client.post(f"{API}/rounds/{round_id}/runs", json={"label": "again"},
                        headers=world.auth("finance_a")).json()["id"]  # fmt: skip
    for who in ("finance_a", "viewer_a"):
        sign_in(client, world.tokens[who])
        assert _compare_options(client.get(f"/rounds/{round_id}").text) == {base, again}
    sign_in(client, world.tokens["finance_a"])
    page = client.get(f"/runs/{base}").text
    assert f"/runs/compare?a={again}&amp;b={base}" in page
    assert f"/runs/compare?a={none}" not in page
    assert "/runs/compare?" not in client.get(f"/runs/{none}").text


def _new_scheme_links(html: str) -> int:
    return html.count('href="/schemes/new"')


def test_a_closed_organisations_trust_is_not_offered_a_new_scheme(client, world, session):
    sign_in(client, world.tokens["trust_a1"])
    for page in ("/", "/schemes"):
        assert _new_scheme_links(client.get(page).text) >= 1, page
    assert client.get("/schemes/new").status_code == 200
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA1")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    for page in ("/", "/schemes"):
        assert _new_scheme_links(client.get(page).text) == 0, page
    form = client.get("/schemes/new")
    assert form.status_code == 422 and 'name="title"' not in form.text
    assert "RA1 closed on 2026-03-31; a closed organisation can submit no new schemes." in form.text
    refused = client.post(f"{API}/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    assert refused.status_code == 422  # what the pages no longer offer, the service refuses
    # Another organisation's trust still records schemes; other roles are never offered it.
    sign_in(client, world.tokens["trust_a2"])
    assert _new_scheme_links(client.get("/").text) >= 1
    for who in ("assessor_a", "finance_a", "viewer_a"):
        sign_in(client, world.tokens[who])
        assert _new_scheme_links(client.get("/").text) == 0, who


def _new_round_links(html: str) -> int:
    return html.count('href="/rounds/new"')


def test_a_finance_user_in_no_system_is_not_offered_a_new_round(client, world, session):
    # The role alone passed the pages' old check; create_round also needs a system in scope.
    # Users are created with one now, but the column allows none (a user from before).
    sign_in(client, world.tokens["finance_a"])
    for page in ("/", "/rounds"):
        assert _new_round_links(client.get(page).text) == 1, page
    assert client.get("/rounds/new").status_code == 200
    finance = session.scalars(select(User).where(User.name == "finance_a")).one()
    finance.system_id = None
    session.commit()
    for page in ("/", "/rounds"):
        assert _new_round_links(client.get(page).text) == 0, page
    form = client.get("/rounds/new")
    assert form.status_code == 403 and 'name="name"' not in form.text
    years = ["2026/27"]
    body = {"system": "SYA", "name": "Not theirs", "years": years,
            "envelope": dict.fromkeys(years, 5000000)}  # fmt: skip
    refused = client.post(f"{API}/rounds", json=body, headers=world.auth("finance_a"))
    assert refused.status_code == 403  # what the pages no longer offer, the service refuses
    # Other roles are never offered it; a finance user of another system still is.
    for who in ("admin", "trust_a1", "assessor_a", "viewer_a"):
        sign_in(client, world.tokens[who])
        for page in ("/", "/rounds"):
            assert _new_round_links(client.get(page).text) == 0, (who, page)
    sign_in(client, world.tokens["finance_b"])
    assert _new_round_links(client.get("/rounds").text) == 1


def _round_controls(html: str, round_id: int) -> set[str]:
    found = set()
    if f'href="/rounds/{round_id}/edit"' in html:
        found.add("change")
    if f'action="/rounds/{round_id}/runs"' in html:
        found.add("run")
    if f'action="/rounds/{round_id}/frontier"' in html:
        found.add("frontier")
    return found


def test_a_rounds_change_run_and_frontier_are_offered_as_the_service_allows(client, world):
    round_id, runs = _round_with_runs(client, world)
    base = runs["base"]["id"]
    pages = (f"/rounds/{round_id}", f"/rounds/{round_id}/frontier", f"/runs/{base}")
    sign_in(client, world.tokens["finance_a"])
    assert _round_controls(client.get(pages[0]).text, round_id) == {"change", "run"}
    for page in pages[1:]:
        assert _round_controls(client.get(page).text, round_id) == {"frontier"}, page
    for who in ("viewer_a", "assessor_a", "trust_a1"):
        sign_in(client, world.tokens[who])
        for page in pages:
            html = client.get(page).text
            assert _round_controls(html, round_id) == set(), (who, page)
        assert "A finance director of the system can compute it." in html
    agreed = client.post(f"{API}/rounds/{round_id}/agree", json={"run_id": base},
                         headers=world.auth("finance_a"))  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    sign_in(client, world.tokens["finance_a"])
    for page in pages:
        html = client.get(page).text
        assert _round_controls(html, round_id) == set(), page
        if page != pages[0]:  # the frontier's section: why it cannot be computed
            # A finance director is not told that a finance director can compute it.
            assert "A finance director of the system can compute it." not in html
            assert f"Round {round_id} is agreed; it accepts no more runs." in html
    assert client.get(f"/rounds/{round_id}/edit").status_code == 409


def test_a_schemes_delivery_is_linked_and_its_return_offered_as_the_service_allows(client, world):
    round_id, runs = _round_with_runs(client, world)
    base = runs["base"]
    agreed = client.post(f"{API}/rounds/{round_id}/agree", json={"run_id": base["id"]},
                         headers=world.auth("finance_a"))  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    funded = [s["id"] for s in base["result"]["schemes"] if s["outcome"] == "funded"]
    admin = world.auth("admin")
    organisations = {i: client.get(f"{API}/schemes/{i}", headers=admin).json()["organisation"]
                     for i in funded}  # fmt: skip
    scheme = next(i for i, code in organisations.items() if code == "RA1")
    link = f'href="/schemes/{scheme}/delivery"'
    form = f'action="/schemes/{scheme}/delivery"'
    sign_in(client, world.tokens["trust_a1"])
    assert "Monthly return: record actuals" in client.get(f"/schemes/{scheme}").text
    assert form in client.get(f"/schemes/{scheme}/delivery").text
    for who in ("finance_a", "viewer_a"):
        sign_in(client, world.tokens[who])
        page = client.get(f"/schemes/{scheme}").text
        assert link in page and "Monthly return" not in page, who
        assert form not in client.get(f"/schemes/{scheme}/delivery").text, who
    for who in ("trust_a2", "assessor_a"):  # another organisation's trust; a role without
        sign_in(client, world.tokens[who])
        assert link not in client.get(f"/schemes/{scheme}").text, who
        assert client.get(f"/schemes/{scheme}/delivery").status_code in (403, 404), who


def _delivery_controls(html: str) -> set[str]:
    found = set()
    if 'href="/delivery/close?system=SYA"' in html:
        found.add("close")
    if 'action="/delivery/reallocate"' in html:
        found.add("reallocate")
    return found


def test_the_delivery_dashboard_offers_close_and_reallocation_as_allowed(client, world):
    sign_in(client, world.tokens["finance_a"])
    assert _delivery_controls(client.get("/delivery").text) == set()  # nothing in delivery
    round_id, runs = _round_with_runs(client, world)
    agreed = client.post(f"{API}/rounds/{round_id}/agree", json={"run_id": runs["base"]["id"]},
                         headers=world.auth("finance_a"))  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    assert _delivery_controls(client.get("/delivery").text) == {"close", "reallocate"}
    for who in ("admin", "viewer_a", "trust_a1"):
        sign_in(client, world.tokens[who])
        page = client.get("/delivery?system=SYA")
        assert page.status_code == 200, who
        assert _delivery_controls(page.text) == set(), who
        assert client.get("/delivery/close?system=SYA").status_code == 403, who


def test_the_agree_page_says_what_the_limit_is(client, world):
    """Its 'Limit' column was not explained: not the envelope, though next to the spend."""
    round_id, runs = _round_with_runs(client, world)
    sign_in(client, world.tokens["finance_a"])
    page = client.get(f"/rounds/{round_id}/agree?run={runs['base']['id']}").text
    assert 'aria-describedby="limit-hint"' in page
    hint = re.search(r'<p class="[^"]*nhsuk-hint[^"]*" id="limit-hint">([^<]+)</p>', page)
    assert hint, page
    assert "the most the schemes may spend in that financial year" in unescape(hint.group(1))
    assert "envelope (CDEL), plus the overcommitment" in unescape(hint.group(1))
    assert "less the reserve" in unescape(hint.group(1))
