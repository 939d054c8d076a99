"""The API docs at /docs: Swagger UI served by the application itself, in a real browser."""

import pytest

from tests.web.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_the_api_docs_load_everything_from_the_application_itself(visitor):
    origins = []
    visitor.page.on("request", lambda r: origins.append(r.url))
    missing = []
    visitor.page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    response = visitor.goto("/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI renders the service's own OpenAPI: its title and an operation of each area.
    visitor.page.get_by_text("Capital prioritisation service").first.wait_for()
    for operation in ("/api/v1/schemes", "/api/v1/rounds/{round_id}/runs", "/api/v1/jobs/{job_id}"):
        assert visitor.page.locator(f"[data-path='{operation}']").count() >= 1, operation
    # Nothing came from a CDN, and the CSP blocked nothing (a violation is a console error).
    assert all(url.startswith(visitor.base) or url.startswith("data:") for url in origins), [
        url for url in origins if not url.startswith(visitor.base)
    ]
    assert missing == []
    assert visitor.console_errors == []
    assert visitor.server_errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visitor.page.screenshot(path=SCREENSHOTS / f"{visitor.backend}-api-docs.png")
