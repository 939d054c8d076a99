"""Browser tests: Debian's chromium driven by Playwright against a real server (uvicorn in a
subprocess) on a fresh database of the session's backend with the demo loaded.

Every page a test visits is checked the same way: axe-core (from node_modules, injected
before any page script runs) finds no WCAG 2.2 AA violation, the console shows no error, no
response is a 5xx, and a screenshot is saved under artifacts/screenshots/.
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import demo_database, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CAPITAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# Three animation frames: the resize observer's event, the header's frame, and one to paint.
SETTLED = """() => new Promise(done => requestAnimationFrame(() =>
  requestAnimationFrame(() => requestAnimationFrame(done))))"""
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}"""


@dataclass
class WebServer:
    url: str
    tokens: dict[str, str]
    database_url: str


@pytest.fixture(scope="module")
def web_server(database_url, tmp_path_factory):
    url, env, tokens = demo_database(database_url, tmp_path_factory, "web")
    server, base = start_server(env)
    # PostgreSQL: a `capital worker` solves the jobs the pages start (the frontier); on SQLite
    # the server runs them itself.
    worker = None
    if not url.startswith("sqlite"):
        worker = subprocess.Popen([sys.executable, "-m", "capital_cli.main", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    yield WebServer(url=base, tokens=tokens, database_url=url)
    if worker is not None:
        worker.kill()
        worker.wait(timeout=10)
    stop_server(server)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` runs `npm ci` first")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Visitor:
    """One person's browser tab, checking every page it lands on."""

    page: object
    base: str
    backend: str
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def url(self, path: str) -> str:
        return self.base + path

    def goto(self, path: str, *, status: int = 200):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, (
            path,
            response and response.status,
        )
        return response

    def check(self, name: str, *, expected_status: int | None = None) -> None:
        """axe at WCAG 2.2 AA, no console error, no 5xx; then a screenshot."""
        self.page.wait_for_load_state("load")
        # nhsuk-frontend's header lays out its menu in an animation frame after a resize (a
        # test's change of viewport): check the page as it then stands, not halfway there.
        self.page.evaluate(SETTLED)
        violations = self.page.evaluate(AXE_RUN, WCAG)
        assert violations == [], f"{name}: accessibility violations {violations}"
        errors = self.console_errors
        if expected_status is not None:  # the browser logs the page's own 4xx status
            errors = [e for e in errors if f"status of {expected_status}" not in e]
        assert errors == [], f"{name}: console errors {errors}"
        self.console_errors.clear()
        assert self.server_errors == [], f"{name}: server errors {self.server_errors}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^a-z0-9-]+", "-", name.lower())
        self.page.screenshot(path=SCREENSHOTS / f"{self.backend}-{safe}.png", full_page=True)

    def sign_in(self, token: str) -> None:
        self.goto("/login")
        self.check("login")
        self.page.fill("#token", token)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_url(self.url("/"))

    def csrf(self) -> str:
        return self.page.locator("input[name=csrf_token]").first.get_attribute("value")


@pytest.fixture
def visitor(chromium, web_server, database_url):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    visit = Visitor(page=page, base=web_server.url, backend=backend)
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda e: visit.console_errors.append(str(e)))
    page.on(
        "response", lambda r: r.status >= 500 and visit.server_errors.append(f"{r.status} {r.url}")
    )
    yield visit
    context.close()


def has_chromium() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None
