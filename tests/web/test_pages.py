"""The web layer without a browser: sessions, CSRF, roles and scope through the pages (fast;
runs on every backend inside the test transaction)."""

import io
import re
from html import unescape

from openpyxl import load_workbook
from sqlalchemy import event

from tests.conftest import scheme_body


def _csrf(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def sign_in(client, token: str) -> str:
    page = client.get("/login")
    signed = client.post("/login", data={"csrf_token": _csrf(page), "token": token},
                         follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    return _csrf(client.get("/"))


def test_pages_need_a_session_and_send_the_security_headers(client):
    response = client.get("/schemes", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/schemes"
    login = client.get("/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["x-frame-options"] == "DENY"
    assert "httponly" in login.headers["set-cookie"].lower()


def test_a_wrong_token_and_a_missing_csrf_token_are_refused(client, world):
    page = client.get("/login")
    wrong = client.post("/login", data={"csrf_token": _csrf(page), "token": "cap_wrong"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    no_csrf = client.post("/login", data={"token": world.tokens["trust_a1"]})
    assert no_csrf.status_code == 403 and "This form has expired" in no_csrf.text
    bad_next = client.post("/login", data={"csrf_token": _csrf(page), "token": world.tokens["trust_a1"],
                                           "next": "//evil.example/"}, follow_redirects=False)  # fmt: skip
    assert bad_next.headers["location"] == "/"


def test_a_trust_records_a_scheme_through_the_page_and_it_is_audited(client, world):
    csrf = sign_in(client, world.tokens["trust_a1"])
    created = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA1", "title": "Lift",
        "category": "estates_backlog", "cost-2026-27": "1,000.50"}, follow_redirects=False)  # fmt: skip
    assert created.status_code == 303
    scheme_id = int(re.search(r"/schemes/(\d+)", created.headers["location"]).group(1))
    api = client.get(f"/api/v1/schemes/{scheme_id}", headers=world.auth("trust_a1")).json()
    assert str(api["cost_profile"]["2026/27"]) in ("1000.50", "1000.5")
    audit = client.get(
        f"/api/v1/audit?entity=scheme&entity_id={scheme_id}", headers=world.auth("admin")
    )
    assert "create" in audit.text
    other = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA2", "title": "Not mine",
        "category": "other", "cost-2026-27": "10"})  # fmt: skip
    assert other.status_code == 403  # another organisation's scheme: the service refuses


def test_scope_and_role_hold_on_every_page(client, world):
    created = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    scheme_id = created.json()["id"]
    csrf = sign_in(client, world.tokens["trust_b1"])
    assert (
        client.get(f"/schemes/{scheme_id}").status_code == 404
    )  # another system's draft: as if missing
    assert client.get("/rounds/new").status_code == 403
    csrf = sign_in(client, world.tokens["viewer_a"])
    assert client.get("/schemes/new").status_code == 403
    forged = client.post(f"/schemes/{scheme_id}/withdraw", data={"csrf_token": csrf})
    assert forged.status_code == 404  # refused: a viewer cannot even see another org's draft
    assert (
        client.get("/api/v1/schemes/" + str(scheme_id), headers=world.auth("trust_a1")).json()[
            "status"
        ]
        == "draft"
    )


def test_the_scheme_list_drops_an_organisation_filter_it_does_not_offer(client, world):
    """The API names a filter the caller cannot see (422); the page, whose filter is a list of
    the caller's organisations, drops one it does not offer, as it does a wrong status."""
    created = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    client.post(f"/api/v1/schemes/{created.json()['id']}/submit", headers=world.auth("trust_a1"))
    sign_in(client, world.tokens["finance_a"])
    for code in ("RZ9", "RB1"):  # missing; another system's
        page = client.get("/schemes", params={"organisation": code, "status": "lost"})
        assert page.status_code == 200 and scheme_body()["title"] in page.text, code
    assert scheme_body()["title"] not in client.get("/schemes?organisation=RA2").text


def test_signing_out_ends_the_session(client, world):
    csrf = sign_in(client, world.tokens["finance_a"])
    assert client.get("/rounds").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/rounds", follow_redirects=False).status_code == 303


def test_a_trust_withdraws_and_an_assessor_cannot_score_their_own(client, world):
    created = client.post(
        "/api/v1/schemes", json=scheme_body(organisation="RA2"), headers=world.auth("trust_a2")
    )
    scheme_id = created.json()["id"]
    client.post(f"/api/v1/schemes/{scheme_id}/submit", headers=world.auth("trust_a2"))
    csrf = sign_in(client, world.tokens["assessor_a"])  # an assessor from RA2
    assert str(scheme_id) not in re.findall(r'href="/assess/(\d+)"', client.get("/assess").text)
    own = client.post(f"/assess/{scheme_id}", data={"csrf_token": csrf, "strategic_fit": "5",
        "safety_quality": "5", "value_for_money": "5", "deliverability": "5", "rationale": "mine"})  # fmt: skip
    assert own.status_code == 403 and "own organisation" in own.text
    csrf = sign_in(client, world.tokens["trust_a2"])
    version = client.get(f"/api/v1/schemes/{scheme_id}", headers=world.auth("trust_a2")).json()[
        "version"
    ]
    withdrawn = client.post(
        f"/schemes/{scheme_id}/withdraw", data={"csrf_token": csrf, "version": str(version)}
    )
    assert withdrawn.status_code == 200 and "it is now withdrawn" in withdrawn.text
    stale = client.post(
        f"/schemes/{scheme_id}/submit", data={"csrf_token": csrf, "version": str(version)}
    )
    assert stale.status_code == 412  # someone (here: we) changed it since that version


def test_an_administrator_adds_a_system_an_organisation_and_a_user(client, world):
    csrf = sign_in(client, world.tokens["admin"])
    assert (
        client.post(
            "/admin/systems", data={"csrf_token": csrf, "code": "QZZ", "name": "Test ICS"}
        ).status_code
        == 200
    )
    duplicate = client.post(
        "/admin/systems", data={"csrf_token": csrf, "code": "QZZ", "name": "Again"}
    )
    assert duplicate.status_code == 422 and "already exists" in duplicate.text
    organisation = client.post("/admin/organisations", data={
        "csrf_token": csrf, "code": "RZ1", "name": "Test Trust", "kind": "acute", "systems": "QZZ"})  # fmt: skip
    assert organisation.status_code == 200 and "RZ1" in organisation.text
    user = client.post("/admin/users", data={"csrf_token": csrf, "name": "Test Lead", "role": "trust",
                                            "organisation": "RZ1"})  # fmt: skip
    token = re.search(r'<code class="app-token">([^<]+)</code>', user.text).group(1)
    assert (
        client.get("/api/v1/systems", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    missing = client.post(
        "/admin/users", data={"csrf_token": csrf, "name": "No scope", "role": "assessor"}
    )
    assert missing.status_code == 422 and "Choose the system an assessor works in" in missing.text


def test_amounts_in_exponent_notation_or_beyond_the_register_are_a_clear_error(client, world):
    """ "1e400" was finite to Decimal and then broke its precision (a 500); it is refused as
    money like any other non-amount, and a 17-digit amount is named as too large."""
    csrf = sign_in(client, world.tokens["trust_a1"])
    refused = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA1", "title": "Lift",
        "category": "estates_backlog", "cost-2026-27": "1e400",
        "cost-2027-28": "12,345,678,901,234,567"})  # fmt: skip
    assert refused.status_code == 422
    assert "Enter the 2026/27 cost in pounds, like 450000 or 450,000.00" in refused.text
    assert (
        "The 2027/28 cost is more than £9,999,999,999,999.99, the largest amount the register holds"
        in refused.text
    )


def test_ids_beyond_the_integer_range_are_page_not_found(client, world):
    """SQLite cannot bind an integer over 2^63 (an OverflowError, a 500): the pages' ids are
    checked like the API's, and any id that cannot exist is "Page not found"."""
    sign_in(client, world.tokens["finance_a"])
    for big in (2**31, 2**64, 10**30):
        for path in (
            f"/schemes/{big}", f"/schemes/{big}/edit", f"/schemes/{big}/delivery",
            f"/assess/{big}", f"/rounds/{big}", f"/rounds/{big}/edit", f"/rounds/{big}/frontier",
            f"/rounds/{big}/agree?run=1", f"/rounds/1/agree?run={big}", f"/runs/{big}",
            f"/runs/{big}/report.xlsx", f"/runs/compare?a={big}&b=1",
        ):  # fmt: skip
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "Page not found" in response.text, path


def _summary(response) -> tuple[str, list[str]]:
    box = response.text.split("nhsuk-error-summary", 1)[1].split("</ul>")[0]
    text = re.sub(r"\s+", " ", unescape(re.sub("<[^>]+>", " ", box)))
    return text, re.findall(r'href="#([^"]+)"', box)


def test_the_round_form_says_what_is_wrong_in_its_own_words(client, world):
    """The model's messages named its fields ("Shares must sum to 1, not 1.1", "Fair_share_mode
    'band' needs fair_shares", "give inputs, from_facts or both") and linked to no field."""
    csrf = sign_in(client, world.tokens["finance_a"])
    form = {"csrf_token": csrf, "name": "R", "first": "2026/27", "count": "2",
            "envelope-2026-27": "1000000", "envelope-2027-28": "1000000",
            "overcommitment_pct": "0", "tolerance_pct": "10", "min_deliverability": "0",
            "weight-strategic_fit": "0.4", "weight-safety_quality": "0.25",
            "weight-value_for_money": "0.25", "weight-deliverability": "0.2",
            "fair_share_mode": "band", "shares_from": "direct", "share-RA1": "60", "share-RA2": "50"}  # fmt: skip
    refused = client.post("/rounds/new", data=form)
    assert refused.status_code == 422
    text, links = _summary(refused)
    assert "The weights of the criteria: they add up to 1.1; they must add up to 1" in text
    assert "The fair shares: they add up to 110%; they must add up to 100%" in text
    assert links == ["weight-strategic_fit", "shares_from"]
    form["weight-strategic_fit"], form["share-RA1"], form["share-RA2"] = "0.3", "", ""
    text, links = _summary(client.post("/rounds/new", data=form))
    assert "The fair shares: binding them (Band) needs each organisation's share" in text
    assert links == ["shares_from"] and 'id="shares_from"' in client.get("/rounds/new").text
    form |= {"shares_from": "formula", "fw-depreciation": "0.5",
             "fw-backlog_high_significant": "0.3", "fw-population": "0.2"}  # fmt: skip
    text, links = _summary(client.post("/rounds/new", data=form))
    assert "The funding formula: enter each organisation's figures, or take them from" in text
    assert links == ["fw-depreciation"]
    for raw in ("must sum to 1", "fair_share", "from_facts", "Value error"):
        assert raw not in text


def test_the_scoring_form_names_each_criterion_it_needs(client, world):
    """Four identical "Choose a score from 0 to 5" lines did not say which criterion each was."""
    trust = world.auth("trust_a1")
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=trust).json()
    assert client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=trust).status_code == 200
    csrf = sign_in(client, world.tokens["assessor_a_plain"])
    refused = client.post(f"/assess/{scheme['id']}", data={
        "csrf_token": csrf, "strategic_fit": "4", "value_for_money": "9",
        "rationale": "Good\x01 case"})  # fmt: skip
    assert refused.status_code == 422
    text, links = _summary(refused)
    assert "Choose a score from 0 to 5 for patient and staff safety, quality and experience" in text
    assert "Choose a score from 0 to 5 for value for money" in text
    assert "Choose a score from 0 to 5 for deliverability" in text
    assert "Your rationale has a control character that cannot be stored" in text
    assert links == ["safety_quality", "value_for_money", "deliverability", "rationale"]
    # '²' passes str.isdigit() and then int() refuses it: that was a 500.
    superscript = client.post(f"/assess/{scheme['id']}", data={
        "csrf_token": csrf, "strategic_fit": "²", "safety_quality": "1", "value_for_money": "1",
        "deliverability": "1", "rationale": "Fine"})  # fmt: skip
    assert superscript.status_code == 422
    assert _summary(superscript)[1] == ["strategic_fit"]


def test_the_upload_page_links_a_template_the_session_can_download(client, world):
    """The page told a trust to GET an API address, which needs a bearer token it does not
    have in a browser; the link now downloads the template with the page's session."""
    sign_in(client, world.tokens["trust_a1"])
    page = client.get("/schemes/upload")
    assert 'href="/schemes/template.xlsx?system=SYA"' in page.text
    response = client.get("/schemes/template.xlsx?system=SYA")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    lists = [v.formula1 for v in book["Schemes"].data_validations.dataValidation if v.type == "list"]  # fmt: skip
    assert '"RA1"' in lists  # the trust's own organisation
    assert client.get("/schemes/template.xlsx?system=SYB").status_code == 404
    sign_in(client, world.tokens["viewer_a"])
    assert client.get("/schemes/template.xlsx?system=SYA").status_code == 403


MISSING = 999999


def _alike(hidden_id: int, ask) -> None:
    """The page about something the user cannot read is the page about a missing id."""
    hidden, absent = ask(hidden_id), ask(MISSING)
    assert hidden.status_code == absent.status_code and hidden.status_code in (404, 422)
    assert hidden.text == absent.text.replace(str(MISSING), str(hidden_id))


def test_another_organisations_draft_is_refused_as_a_dependency_like_a_missing_one(client, world):
    draft = client.post(
        "/api/v1/schemes", json=scheme_body(organisation="RA2"), headers=world.auth("trust_a2")
    ).json()["id"]
    own = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    csrf = sign_in(client, world.tokens["trust_a1"])
    form = {"csrf_token": csrf, "system": "SYA", "organisation": "RA1", "title": "Lift",
            "category": "estates_backlog", "cost-2026-27": "1000"}  # fmt: skip
    _alike(draft, lambda i: client.post("/schemes/new", data=form | {"depends_on": str(i)}))
    edit = form | {"version": "1"}
    _alike(draft, lambda i: client.post(f"/schemes/{own.json()['id']}/edit",
                                        data=edit | {"depends_on": str(i)}))  # fmt: skip


def test_the_delivery_page_of_a_draft_reads_like_a_missing_one(client, world):
    draft = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    for who in ("finance_a", "trust_a2"):  # neither may read RA1's draft
        sign_in(client, world.tokens[who])
        _alike(draft.json()["id"], lambda i: client.get(f"/schemes/{i}/delivery"))


def test_a_run_page_of_another_system_reads_like_a_missing_one(client, world):
    finance = world.auth("finance_a")
    round_ = client.post("/api/v1/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27"], "envelope": {"2026/27": 1000000}})  # fmt: skip
    run = client.post(f"/api/v1/rounds/{round_.json()['id']}/runs", json={}, headers=finance)
    sign_in(client, world.tokens["finance_b"])
    for tail in ("", "/report.csv", "/report.xlsx", "/report.pdf"):
        _alike(run.json()["id"], lambda i, tail=tail: client.get(f"/runs/{i}{tail}"))


def test_a_refused_edit_saves_nothing(client, world):
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    scheme_id = scheme.json()["id"]
    csrf = sign_in(client, world.tokens["trust_a1"])
    refused = client.post(f"/schemes/{scheme_id}/edit", data={
        "csrf_token": csrf, "version": "1", "title": "Changed", "category": "estates_backlog",
        "cost-2026-27": "1000", "depends_on": "999999"})  # fmt: skip
    assert refused.status_code == 422 and "no scheme with id 999999" in refused.text
    after = client.get(f"/api/v1/schemes/{scheme_id}", headers=world.auth("trust_a1")).json()
    assert (after["title"], after["version"]) == (scheme.json()["title"], 1)


def test_a_what_if_with_a_mistake_opens_where_the_mistake_is(client, world):
    """The error summary linked to a field inside the closed what-if <details>."""
    finance = world.auth("finance_a")
    round_ = client.post("/api/v1/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27"], "envelope": {"2026/27": 1000000}}).json()  # fmt: skip
    csrf = sign_in(client, world.tokens["finance_a"])
    page = client.get(f"/rounds/{round_['id']}")
    assert re.search(
        r'<details class="nhsuk-details">\s*<summary[^>]*>\s*<span[^>]*>What-if', page.text
    )
    refused = client.post(f"/rounds/{round_['id']}/runs", data={"csrf_token": csrf, "envelope_pct": "ninety"})  # fmt: skip
    assert refused.status_code == 422
    assert _summary(refused)[1] == ["envelope_pct"]
    assert re.search(
        r'<details class="nhsuk-details" open>\s*<summary[^>]*>\s*<span[^>]*>What-if', refused.text
    )


def test_a_stale_scheme_edit_keeps_what_was_typed(client, world):
    """Someone else saved first: the page was a bare 412 error and the edit was gone. Then it
    kept the edit but said only "it is now version 2" and linked to the whole form: which
    fields to check against what is saved now, and what that is, it did not say."""
    trust = world.auth("trust_a1")
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=trust).json()
    other = client.patch(f"/api/v1/schemes/{scheme['id']}", json={"description": "Theirs"},
                         headers={**trust, "If-Match": "1"})  # fmt: skip
    assert other.status_code == 200, other.text
    csrf = sign_in(client, world.tokens["trust_a1"])
    mine = {"csrf_token": csrf, "version": "1", "title": "Mine", "category": "estates_backlog",
            "backlog_risk": "high", "cost-2026-27": "1,200,000", "cost-2027-28": "350000.50",
            "organisation": "RA1", "system": "SYA"}  # fmt: skip
    stale = client.post(f"/schemes/{scheme['id']}/edit", data=mine)
    assert stale.status_code == 412
    text, links = _summary(stale)
    assert "Someone else saved this scheme while you were editing it" in text
    assert "Title: the saved scheme has “Roof replacement”" in text
    assert "Description: the saved scheme has “Theirs”" in text
    assert "2027/28 cost: the saved scheme has £300,000" in text
    assert "version" not in text
    assert links == ["title", "description", "cost-2027-28"]
    assert 'id="description-error"' in stale.text and 'value="Mine"' in stale.text
    assert re.search(r'name="version" value="2"', stale.text)
    assert client.get(f"/api/v1/schemes/{scheme['id']}", headers=trust).json()["title"] != "Mine"
    saved = client.post(f"/schemes/{scheme['id']}/edit", data={**mine, "version": "2"},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    assert client.get(f"/api/v1/schemes/{scheme['id']}", headers=trust).json()["title"] == "Mine"
    # Saved again by someone else with nothing on the form changed (here: submitted).
    assert client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=trust).status_code == 200
    again = client.post(f"/schemes/{scheme['id']}/edit", data={**mine, "version": "3",
                                                                "title": "Mine again"})  # fmt: skip
    text, links = _summary(again)
    assert again.status_code == 412 and links == ["title"]
    assert "Title: the saved scheme has “Mine”" in text
    same = client.post(f"/schemes/{scheme['id']}/edit", data={**mine, "version": "3"})
    text, links = _summary(same)
    assert same.status_code == 412 and links == ["save"] and 'id="save"' in same.text
    assert "Nothing on this form differs from what is saved now" in text


def test_adding_a_user_has_no_role_until_one_is_chosen(client, world):
    """The role list started at "admin": a hurried administrator could issue an admin token."""
    csrf = sign_in(client, world.tokens["admin"])
    page = client.get("/admin").text
    select = page.split('id="user-role"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]*)"', select)[0] == ""
    assert " selected" not in select
    # Roles in the words refusals use: the list read "ics finance", the header "(ics finance)".
    assert re.findall(r"<option [^>]*>([^<]*)<", select)[1:] == [
        "administrator", "trust user", "assessor", "ICS finance user", "viewer"
    ]  # fmt: skip
    assert "(administrator)</li>" in page
    refused = client.post("/admin/users", data={"csrf_token": csrf, "name": "No role"})
    assert refused.status_code == 422
    text, links = _summary(refused)
    assert links == ["user-role"] and "role" in text.lower()


def test_chart_ticks_say_the_amount_they_mark():
    """A £5m axis has ticks at £1.25m and £3.75m, which read £1.2m and £3.8m."""
    from web import charts

    svg = str(charts.spend_by_year([{"year": "2026/27", "spend": 4_600_000, "limit": 5_000_000}]))
    ticks = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["£0m", "£1.25m", "£2.5m", "£3.75m", "£5m"]


def test_the_scheme_form_says_what_is_wrong_in_words(client, world):
    """Pydantic's own messages ("String should have at most 200 characters", "Value error, must
    not contain NUL ...") reached the error summary."""
    csrf = sign_in(client, world.tokens["trust_a1"])
    refused = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA1", "title": "x" * 201,
        "description": "Bell\x07", "category": "estates_backlog", "cost-2026-27": "10"})  # fmt: skip
    assert refused.status_code == 422
    text, links = _summary(refused)
    assert "The title must be 200 characters or fewer" in text
    assert "The description has a control character that cannot be stored: remove it" in text
    assert "String should" not in text and "Value error" not in text
    assert links == ["title", "description"]


def test_a_run_without_a_title_runs(client, world):
    """The title field is optional, but left blank it was sent to the model as null, which
    refused it: "Input should be a valid string", and no run."""
    finance = world.auth("finance_a")
    round_ = client.post("/api/v1/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27"], "envelope": {"2026/27": 1000000}}).json()  # fmt: skip
    csrf = sign_in(client, world.tokens["finance_a"])
    ran = client.post(f"/rounds/{round_['id']}/runs", data={"csrf_token": csrf, "label": "  "},
                      follow_redirects=False)  # fmt: skip
    assert ran.status_code == 303, _summary(ran)[0]
    assert re.fullmatch(r"/runs/\d+", ran.headers["location"])


def test_what_cannot_change_is_named_in_english(client, world):
    """ "A approved scheme cannot be changed." and "A agreed round cannot be changed.": the
    article was "a" whatever the word."""
    trust, finance = world.auth("trust_a1"), world.auth("finance_a")
    scheme = client.post("/api/v1/schemes", json=scheme_body(cost_profile={"2026/27": 1000}),
                         headers=trust).json()  # fmt: skip
    client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=trust)
    client.post(f"/api/v1/schemes/{scheme['id']}/assessments", headers=world.auth("assessor_a_plain"),
                json={"strategic_fit": 5, "safety_quality": 5, "value_for_money": 5,
                      "deliverability": 5, "rationale": "Good"})  # fmt: skip
    round_ = client.post("/api/v1/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27"], "envelope": {"2026/27": 1000000}}).json()  # fmt: skip
    run = client.post(f"/api/v1/rounds/{round_['id']}/runs", json={}, headers=finance).json()
    agreed = client.post(f"/api/v1/rounds/{round_['id']}/agree", json={"run_id": run["id"]},
                         headers=finance)  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    version = client.get(f"/api/v1/schemes/{scheme['id']}", headers=trust).json()["version"]
    csrf = sign_in(client, world.tokens["trust_a1"])
    edit = client.post(f"/schemes/{scheme['id']}/edit", data={
        "csrf_token": csrf, "version": str(version), "title": "Roof", "category": "other",
        "cost-2026-27": "1000"})  # fmt: skip
    assert edit.status_code == 409 and "An approved scheme cannot be changed." in edit.text
    withdraw = client.post(f"/schemes/{scheme['id']}/withdraw", data={"csrf_token": csrf})
    assert (
        withdraw.status_code == 409 and "An approved scheme cannot be withdrawn." in withdraw.text
    )
    sign_in(client, world.tokens["finance_a"])
    agreed_round = client.get(f"/rounds/{round_['id']}/edit")
    assert agreed_round.status_code == 409
    assert "An agreed round cannot be changed." in agreed_round.text


def test_the_administration_forms_link_each_mistake_to_its_field(client, world):
    """A lower-case code showed the regular expression it failed; a code taken already, and
    every refusal of a new user, linked to the whole form instead of the field, lower-case
    ("a assessor user needs a system")."""
    csrf = sign_in(client, world.tokens["admin"])

    def refused(path, form):
        response = client.post(path, data={"csrf_token": csrf, **form})
        assert response.status_code == 422
        return _summary(response)

    text, links = refused("/admin/systems", {"code": "qzz", "name": "Test ICS"})
    assert "Enter the code in capital letters and digits, like QWV" in text and "^[" not in text
    assert links == ["system-code"]
    text, links = refused("/admin/systems", {"code": "Q", "name": "Test ICS"})
    assert "The code must be 2 characters or more" in text and links == ["system-code"]
    text, links = refused("/admin/systems", {"code": "SYA", "name": "Again"})
    assert "A system with code SYA already exists" in text and links == ["system-code"]
    text, links = refused("/admin/organisations", {"code": "RA1", "name": "Again", "kind": "acute",
                                                   "systems": "SYA"})  # fmt: skip
    assert "An organisation with code RA1 already exists" in text
    assert links == ["organisation-code"]
    user = {"name": "Jo", "role": "assessor"}
    text, links = refused("/admin/users", user)
    assert "Choose the system an assessor works in" in text and links == ["user-system"]
    text, links = refused("/admin/users", user | {"role": "trust"})
    assert "Choose the organisation a trust user works for" in text
    assert links == ["user-organisation"]
    text, links = refused("/admin/users", user | {"role": "assessor", "system": "SYB",
                                                  "organisation": "RA1"})  # fmt: skip
    assert "RA1 is not in system SYB" in text and links == ["user-organisation"]
    text, links = refused("/admin/users", user | {"name": "Jo\tBloggs", "system": "SYA"})
    assert "The name must be 200 characters or fewer, on one line" in text
    assert links == ["user-name"]


def test_the_upload_says_what_is_wrong_with_the_file_at_the_file_field(client, world):
    """With no file, or a file that is no spreadsheet, the summary said "Fix each one in the
    spreadsheet" and linked to a table of rows and columns, not to the file field; an .xlsx that
    was not a workbook was "cannot be read as a spreadsheet (BadZipFile)"."""
    csrf = sign_in(client, world.tokens["trust_a1"])

    def upload(files=None):
        response = client.post("/schemes/upload", data={"csrf_token": csrf, "action": "check"},
                               files=files or {"file": ("", b"", "application/octet-stream")})  # fmt: skip
        assert response.status_code == 422
        return response

    for files, message in (
        (None, "Choose a spreadsheet to upload"),
        ({"file": ("schemes.xlsx", b"not a workbook", "application/octet-stream")},
         "Not a spreadsheet that can be read: save it from Excel"),
        ({"file": ("schemes.pdf", b"%PDF", "application/pdf")}, "Choose an .xlsx or .csv file"),
    ):  # fmt: skip
        response = upload(files)
        text, links = _summary(response)
        assert message in text and links == ["file"], text
        assert "BadZipFile" not in response.text and "row and column" not in response.text
        group = response.text.split('id="file-error"', 1)[0].rsplit("nhsuk-form-group", 1)[1]
        assert group.startswith("--error"), group
        assert 'aria-describedby="file-error"' in response.text


def _upload_problems(html: str) -> list[str]:
    """The upload page's problems table, a line of text per row (the responsive table's
    per-cell headings left out)."""
    rows = re.findall(r'<tr class="nhsuk-table__row"[^>]*>(.*?)</tr>', html, re.S)
    rows = [re.sub(r'<span class="nhsuk-table__heading"[^>]*>[^<]*</span>', "", r) for r in rows]
    return [re.sub(r"\s+", " ", unescape(re.sub("<[^>]+>", " ", r))).strip() for r in rows[1:]]


def test_an_amount_that_is_not_money_is_one_problem(client, world):
    """A cost typed wrong ('45O,000') was also "no cost in any year: fill at least one
    financial-year column", though the row had one."""
    csrf = sign_in(client, world.tokens["trust_a1"])
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,"
    header += "mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,2027/28"
    content = f'{header}\nRA1,Boiler,,estates_backlog,,,,,,,,"45O,000",\nRA1,Lift,,other,,,,,,,,,\n'
    response = client.post("/schemes/upload", data={"csrf_token": csrf, "action": "check"},
                           files={"file": ("schemes.csv", content.encode(), "text/csv")})  # fmt: skip
    assert response.status_code == 422
    problems = _upload_problems(response.text)
    assert len(problems) == 2, problems
    assert "'45O,000' is not an amount in pounds" in problems[0] and problems[0].startswith("2 ")
    assert "no cost in any year" in problems[1] and problems[1].startswith("3 ")


def test_the_upload_page_speaks_to_a_trust_not_a_programmer(client, world):
    """It gave an HTTP request and a command line for the template a link already downloads."""
    sign_in(client, world.tokens["trust_a1"])
    page = client.get("/schemes/upload").text
    assert "GET /api" not in page and "capital schemes template" not in page


def test_one_upload_lists_every_problem_of_the_file(client, world):
    """A wrong cost in row 3 was all the page said; a title too long in row 5 came only once
    the cost was fixed and the file uploaded again, another organisation's row after that."""
    csrf = sign_in(client, world.tokens["trust_a1"])
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,"
    header += "mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,2027/28"
    content = "\n".join([header, "RA1,Boiler,,estates_backlog,,,,,,,,1000,,stray",
                         "RA1,Lift,,other,,,,,,,,lots,", "RA2,Switch,,digital,,,,,,,,100,",
                         f"RA1,{'x' * 201},,digital,,,,,,,,100,"])  # fmt: skip
    total = lambda: client.get("/api/v1/schemes", headers=world.auth("trust_a1")).json()["total"]  # noqa: E731
    before = total()
    response = client.post("/schemes/upload", data={"csrf_token": csrf, "action": "import"},
                           files={"file": ("schemes.csv", content.encode(), "text/csv")})  # fmt: skip
    assert response.status_code == 422
    problems = _upload_problems(response.text)
    assert [p.split(" ")[:2] for p in problems] == [["2", "N"], ["3", "L"], ["4", "A"], ["5", "B"]], problems  # fmt: skip
    assert "'stray' is in a column without a header" in problems[0]
    assert "'lots' is not an amount in pounds" in problems[1]
    assert "own organisation" in problems[2] and "200" in problems[3]
    assert total() == before


def test_an_administrator_is_not_given_a_system_or_organisation(client, world):
    """An admin with a system and organisation was created and listed with them as its scope,
    though an administrator always sees every system."""
    csrf = sign_in(client, world.tokens["admin"])
    before = client.get("/admin").text.count("Scoped admin")
    for form, fields in (({"system": "SYA"}, ["user-system"]),
                         ({"system": "SYA", "organisation": "RA1"}, ["user-system", "user-organisation"]),
                         ({"organisation": "RA1"}, ["user-organisation"])):  # fmt: skip
        response = client.post("/admin/users", data={"csrf_token": csrf, "name": "Scoped admin",
                                                     "role": "admin", **form})  # fmt: skip
        assert response.status_code == 422
        text, links = _summary(response)
        assert "An administrator sees every system: leave the" in text and links == fields, text
    assert client.get("/admin").text.count("Scoped admin") == before
    created = client.post("/admin/users", data={"csrf_token": csrf, "name": "Plain admin", "role": "admin"})  # fmt: skip
    assert created.status_code == 200 and 'class="app-token"' in created.text


def test_each_role_is_given_only_the_scope_it_uses(client, world):
    """A trust user given a system, or a finance or viewer user given an organisation, was
    created with a scope that was shown but not what applied: a trust user works in its
    organisation's systems; the organisation gave a finance or viewer user its drafts."""
    csrf = sign_in(client, world.tokens["admin"])
    for role, form, field, words in (
        ("trust", {"system": "SYA", "organisation": "RA1"}, "user-system",
         "A trust user works in its organisation's systems: leave the system empty"),
        ("ics_finance", {"system": "SYA", "organisation": "RA1"}, "user-organisation",
         "An ICS finance user acts for the whole system: leave the organisation empty"),
        ("viewer", {"system": "SYA", "organisation": "RA1"}, "user-organisation",
         "A viewer acts for the whole system: leave the organisation empty"),
    ):  # fmt: skip
        response = client.post("/admin/users", data={"csrf_token": csrf, "name": "Overscoped",
                                                     "role": role, **form})  # fmt: skip
        assert response.status_code == 422, role
        text, links = _summary(response)
        assert words in text and links == [field], text
    assert "Overscoped" not in client.get("/admin").text
    # The scope each role uses is still accepted, an assessor's organisation included.
    for role, form in (("trust", {"organisation": "RA1"}), ("ics_finance", {"system": "SYA"}),
                       ("viewer", {"system": "SYA"}),
                       ("assessor", {"system": "SYA", "organisation": "RA1"})):  # fmt: skip
        created = client.post("/admin/users", data={"csrf_token": csrf, "name": f"Scoped {role}",
                                                    "role": role, **form})  # fmt: skip
        assert created.status_code == 200 and 'class="app-token"' in created.text, role


def _heading(response) -> str:
    return unescape(re.search(r"<h1[^>]*>(.*?)</h1>", response.text, re.S).group(1)).strip()


def test_error_pages_say_what_happened_in_plain_words(client, world, session):
    """Error pages were headed with the API's problem titles ("Validation failed",
    "Conflict") and ended "Error 422.": jargon to finance and estates staff."""
    from datetime import date

    from sqlalchemy import select

    from api.systems.models import Organisation

    sign_in(client, world.tokens["trust_a1"])
    scheme = client.post(
        "/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1")
    ).json()
    client.post(f"/api/v1/schemes/{scheme['id']}/withdraw", headers=world.auth("trust_a1"))
    pages = {
        "/admin": (403, "You do not have permission to do this"),
        "/schemes/99999999": (404, "Page not found"),
        "/no-such-page": (404, "Page not found"),
        f"/schemes/{scheme['id']}/edit": (409, "This cannot be done now"),
        f"/schemes/{scheme['id']}/submit": (405, "Sorry, there is a problem"),  # a form's address
    }
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA1")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    pages["/schemes/new"] = (422, "There is a problem")  # a closed organisation's trust
    for path, (status, title) in pages.items():
        page = client.get(path)
        assert (page.status_code, _heading(page)) == (status, title), path
        assert f"<title>{title} – " in unescape(page.text), path
        assert f"Error {status}" not in page.text, path
    assert "cannot be opened as a page" in client.get(f"/schemes/{scheme['id']}/submit").text
    closed = client.get("/schemes/new").text
    assert "RA1 closed on 2026-03-31; a closed organisation can submit no new schemes." in closed
    for jargon in ("Validation failed", "Conflict", "Forbidden", "Unprocessable"):
        assert jargon not in closed
    # The API's problems keep their titles.
    refused = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    assert refused.status_code == 422 and refused.json()["title"] == "Validation failed"


def test_a_refusal_names_roles_in_words_not_codes(client, world):
    """A refusal read "This page is for the role admin; you are ics_finance": the database's
    codes, not what the people reading it call themselves."""
    sign_in(client, world.tokens["finance_a"])
    page = client.get("/admin")
    assert page.status_code == 403
    assert "This page is for an administrator; you are an ICS finance user." in unescape(page.text)
    refused = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("viewer_a"))
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == "Only a trust user or an administrator may do this; you are a viewer."
    )


def test_the_home_page_reads_the_callers_systems_once(client, world, engine):
    # It listed them for the page, then again to learn whether to offer the round form.
    sign_in(client, world.tokens["finance_a"])
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        home = client.get("/")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert home.status_code == 200 and 'href="/rounds/new"' in home.text
    reads = [s for s in statements if re.search(r"FROM systems\b", s) and "count(" not in s]
    assert len(reads) == 1, reads
