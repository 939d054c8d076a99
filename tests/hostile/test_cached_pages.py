"""The scheme list served from memory (api/page_cache.py), through a real server: a page is
served again only while nothing has been committed, each user gets their own, and the token
is checked on every request. On SQLite there is no cache and the same answers must hold."""

import os
import time
import uuid

import httpx

from api import page_cache
from tests.servers import capital

SCORES = {"strategic_fit": 4, "safety_quality": 3, "value_for_money": 5, "deliverability": 2}


def _page(live, who: str, *, token: str | None = None, **params) -> httpx.Response:
    token = token or live.tokens[who]
    return httpx.get(f"{live.url}/api/v1/schemes", params=params,
                     headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip


def _cache_status(live, response: httpx.Response) -> str | None:
    status = response.headers.get("cache-status")
    if not live.database_url.startswith("postgresql"):
        assert status is None, "SQLite has no snapshot to key pages by, so no cache"
    return status


def _scheme(live, *, submit: bool) -> dict:
    body = {"system": "QWV", "organisation": "R0A", "title": f"Cache probe {uuid.uuid4().hex[:8]}",
            "category": "equipment", "cost_profile": {"2026/27": "125000.00"}}  # fmt: skip
    trust = {"Authorization": f"Bearer {live.tokens['trust']}"}
    created = httpx.post(f"{live.url}/api/v1/schemes", json=body, headers=trust, timeout=60)
    assert created.status_code == 201, created.text
    if submit:
        submitted = httpx.post(f"{live.url}/api/v1/schemes/{created.json()['id']}/submit",
                               headers=trust, timeout=60)  # fmt: skip
        assert submitted.status_code == 200, submitted.text
    return created.json()


def _titles(response: httpx.Response) -> set[str]:
    return {item["title"] for item in response.json()["items"]}


def test_a_page_is_served_again_only_while_nothing_has_been_committed(hostile):
    # A query no other test asks, so the first request builds the page.
    first = _page(hostile, "ics_finance", limit=97)
    second = _page(hostile, "ics_finance", limit=97)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    if _cache_status(hostile, first) is not None:
        assert first.headers["cache-status"] == "capital; fwd=miss"
        assert second.headers["cache-status"] == "capital; hit"
        assert second.headers["content-type"] == "application/json"

    # A new submitted scheme shows at once.
    scheme = _scheme(hostile, submit=True)
    third = _page(hostile, "ics_finance", limit=97)
    assert third.json()["total"] == first.json()["total"] + 1
    if _cache_status(hostile, third) is not None:
        assert third.headers["cache-status"] == "capital; fwd=miss"

    # So does a score, which changes no scheme row: the page holds the mean scores.
    page = _page(hostile, "ics_finance", limit=1, offset=third.json()["total"] - 1)
    item = next(i for i in page.json()["items"] if i["id"] == scheme["id"])
    assert item["scores"]["assessments"] == 0
    assessor = {"Authorization": f"Bearer {hostile.tokens['assessor']}"}
    scored = httpx.post(f"{hostile.url}/api/v1/schemes/{scheme['id']}/assessments",
                        json={**SCORES, "rationale": "cache"}, headers=assessor, timeout=60)  # fmt: skip
    assert scored.status_code in (200, 201), scored.text
    again = _page(hostile, "ics_finance", limit=1, offset=third.json()["total"] - 1)
    item = next(i for i in again.json()["items"] if i["id"] == scheme["id"])
    assert item["scores"]["assessments"] == 1
    assert item["scores"]["strategic_fit"] == 4


def test_each_user_is_served_their_own_page(hostile):
    draft = _scheme(hostile, submit=False)
    params = {"limit": 200, "organisation": "R0A"}
    for _ in range(2):  # the second round is served from memory on PostgreSQL
        trust, finance, viewer = (_page(hostile, who, **params)
                                  for who in ("trust", "ics_finance", "viewer"))  # fmt: skip
        assert draft["title"] in _titles(trust), "a trust sees its own drafts"
        assert draft["title"] not in _titles(finance)
        assert draft["title"] not in _titles(viewer)
        assert finance.content == viewer.content  # same scope, same data, separate pages
        assert trust.json()["total"] == finance.json()["total"] + 1


def test_the_token_is_checked_on_every_request_even_for_a_page_in_memory(hostile):
    env = {**os.environ, "DATABASE_URL": hostile.database_url}
    created = capital("users", "create", "--name", "Cache Auditor", "--role", "viewer",
                      "--system", "QWV", env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    user_id = created.stdout.split("created user ", 1)[1].split()[0]
    assert _page(hostile, "", token=token, limit=3).status_code == 200
    held = _page(hostile, "", token=token, limit=3)
    assert held.status_code == 200
    if _cache_status(hostile, held) is not None:
        assert held.headers["cache-status"] == "capital; hit"

    revoked = capital("users", "revoke", "--id", user_id, env=env)
    assert revoked.returncode == 0, revoked.stderr
    refused = _page(hostile, "", token=token, limit=3)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_bad_requests_are_answered_as_always_when_a_page_is_in_memory(hostile):
    assert _page(hostile, "ics_finance", limit=5).status_code == 200
    assert _page(hostile, "ics_finance", limit=5).status_code == 200
    for params in ({"limit": "five"}, {"limit": 5, "offset": -1}, {"limit": 5, "status": "x"}):
        refused = _page(hostile, "ics_finance", **params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert _page(hostile, "", token="cap_not-a-real-token", limit=5).status_code == 401
    anonymous = httpx.get(f"{hostile.url}/api/v1/schemes", params={"limit": 5}, timeout=60)
    assert anonymous.status_code == 401


def test_a_lost_database_connection_costs_the_cache_not_the_request(hostile):
    """The middleware's own connection dropped (a database restart, a network blip): the
    request is answered by the app as always, and after a short stand-aside pages are served
    from memory again."""
    if not hostile.database_url.startswith("postgresql"):
        return  # SQLite: no cache, no connection of its own
    from sqlalchemy import create_engine, text

    assert _page(hostile, "ics_finance", limit=11).status_code == 200
    assert _page(hostile, "ics_finance", limit=11).headers["cache-status"] == "capital; hit"
    engine = create_engine(hostile.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        ended = connection.execute(text(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where application_name = :name and datname = current_database()"
        ), {"name": page_cache.APPLICATION_NAME}).scalar_one()  # fmt: skip
    engine.dispose()
    assert ended == 1
    answered = _page(hostile, "ics_finance", limit=11)
    assert answered.status_code == 200
    assert answered.headers.get("cache-status") is None  # straight to the app
    time.sleep(page_cache._TokenCheck.STAND_ASIDE_S + 0.5)
    _page(hostile, "ics_finance", limit=11)
    again = _page(hostile, "ics_finance", limit=11)
    assert again.status_code == 200
    assert again.headers["cache-status"] == "capital; hit"
    assert again.content == answered.content


def test_the_cache_is_bounded_by_size_and_forgets_the_least_recently_used():
    cache = page_cache.PageCache(max_bytes=800)
    for n in range(10):
        cache.put(("snapshot", n), bytes(100))
    assert cache.size == 800
    assert cache.get(("snapshot", 0)) is None and cache.get(("snapshot", 1)) is None
    assert cache.get(("snapshot", 2)) == bytes(100)  # now the most recently used
    cache.put(("snapshot", 10), bytes(100))
    assert cache.get(("snapshot", 2)) is not None and cache.get(("snapshot", 3)) is None
    cache.put(("snapshot", 10), bytes(50))  # replacing a page counts only the new one
    assert cache.size == 750
    cache.put(("huge", 0), bytes(101))  # over an eighth of the bound: not kept
    assert cache.get(("huge", 0)) is None and cache.size == 750
