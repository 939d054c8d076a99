"""CapitalClient: a typed Python client for the capital service's API (v1), over httpx."""

import json
import math
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from capital_client import models
from capital_client.errors import (
    BY_STATUS,
    ApiError,
    InvalidArgument,
    JobFailed,
    ServerUnavailable,
)

PAGE = 500  # the largest page the server gives
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Beyond this a float no longer holds every penny: such amounts go as decimal text (and are
# above the server's largest amount anyway, so it names the field in a 422).
_EXACT_FLOAT = Decimal(10) ** 13


def _segment(value: Any, name: str) -> str:
    """A path parameter as one URL path segment, escaped (`?`, `#`, `%`, spaces, non-ASCII), so
    it can never become a query or another endpoint. `/` is refused, not escaped: servers decode
    `%2F` before routing (`QWV%2Fperiod` reaches /systems/QWV/period), and no code or id has
    one. `.` and `..` are escaped too, or httpx would resolve them as dot segments."""
    text = str(value)
    if "/" in text:
        raise InvalidArgument(f"{name}: {text!r} cannot name a resource: it contains '/'")
    text = quote(text, safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def first_unprintable(token: str) -> int | None:
    """Where `token` first has a character a bearer token cannot: httpx sends header values
    as ASCII (UnicodeEncodeError otherwise), and a space or control character would split or
    break the header. None if it has none (the CLI's --token check uses this too)."""
    return next((i for i, char in enumerate(token) if not "!" <= char <= "~"), None)


def _check_token(token: str) -> None:
    index = first_unprintable(token)
    if index is not None:
        raise InvalidArgument(
            f"token: character {index + 1} (U+{ord(token[index]):04X}) is not printable ASCII; "
            "a bearer token has no spaces, accents or other scripts' letters"
        )


def _decimal(value: Decimal, where: str) -> float | str:
    """Money goes out as an exact decimal number, never through a binary float's rounding:
    whole pennies as a JSON number, anything else as decimal text for the server to judge."""
    if not value.is_finite():
        raise InvalidArgument(f"{where}: {value} is not a finite amount")
    sign, digits, exponent = value.as_tuple()
    # Whole pennies: no non-zero digit past the second decimal place (no quantize, which raises
    # InvalidOperation past 28 digits).
    beyond = -exponent - 2
    pennies = beyond <= 0 or not any(digits[max(len(digits) - beyond, 0) :])
    return float(value) if pennies and abs(value) < _EXACT_FLOAT else str(value)


def _sendable(value: Any, where: str) -> Any:
    """`value` as plain JSON data, or InvalidArgument naming the field (`cost_profile.2026/27`)
    that cannot be sent: NaN, an infinity, or a type JSON has no form for."""
    if isinstance(value, dict):
        return {k: _sendable(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sendable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Decimal):
        return _decimal(value, where or "body")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{where or 'body'}: {value} is not a finite number")
    if value is None or isinstance(value, str | int | float):
        return value
    raise InvalidArgument(f"{where or 'body'}: cannot send {type(value).__name__}")


class CapitalClient:
    """One server, one token. Money comes back as `Decimal`, exactly as the server holds it.

    Connection failures are retried (`retries` times, with backoff) for idempotent calls;
    for others only when the connection was never made, so a write is never sent twice.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        solve_timeout: float = 660.0,
        retries: int = 3,
        backoff: float = 0.3,
        transport: httpx.BaseTransport | None = None,
    ):
        _check_token(token)
        self.url = url.rstrip("/")
        self.solve_timeout = solve_timeout
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CapitalClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, json_body: Any = None, **kwargs
    ) -> httpx.Response:
        content = None
        headers = dict(kwargs.pop("headers", {}) or {})
        if json_body is not None:
            # Strict JSON: NaN or Infinity in a request is the caller's error, raised here
            # naming its field, before anything is sent.
            content = json.dumps(_sendable(json_body, ""), allow_nan=False)
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, content=content, headers=headers, **kwargs
                )
                break
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt >= self.retries or not (method in IDEMPOTENT or never_sent):
                    raise ServerUnavailable(f"cannot reach {self.url}: {exc}") from exc
                time.sleep(self.backoff * 2**attempt)
                attempt += 1
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> ApiError:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase, "detail": response.text[:500]}
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        kind = BY_STATUS.get(response.status_code, ApiError)
        return kind(
            f"{response.status_code} {detail}", status=response.status_code, problem=problem
        )

    def _json(self, method: str, path: str, **kwargs) -> Any:
        response = self._request(method, path, **kwargs)
        return json.loads(response.text, parse_float=Decimal)

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a list endpoint (`{items, total, limit, offset}`), page by page."""
        offset = 0
        while True:
            page = self._json(
                "GET", path, params={**(params or {}), "limit": PAGE, "offset": offset}
            )
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return

    # -- systems and organisations ------------------------------------------------------

    def list_systems(self) -> list[models.System]:
        return [models.System.model_validate(s) for s in self._pages("/systems")]

    def get_system(self, code: str) -> models.System:
        return models.System.model_validate(self._json("GET", f"/systems/{_segment(code, 'code')}"))

    def create_system(self, *, code: str, name: str) -> models.System:
        """Administrators only."""
        body = {"code": code, "name": name}
        return models.System.model_validate(self._json("POST", "/systems", json_body=body))

    def update_system(self, code: str, *, name: str) -> models.System:
        body = {"name": name}
        return models.System.model_validate(
            self._json("PATCH", f"/systems/{_segment(code, 'code')}", json_body=body)
        )

    def get_organisation(self, code: str) -> models.Organisation:
        return models.Organisation.model_validate(
            self._json("GET", f"/organisations/{_segment(code, 'code')}")
        )

    def create_organisation(
        self, *, code: str, name: str, kind: str, systems: list[str]
    ) -> models.Organisation:
        """Administrators only; an organisation may belong to several systems."""
        body = {"code": code, "name": name, "kind": kind, "systems": systems}
        return models.Organisation.model_validate(
            self._json("POST", "/organisations", json_body=body)
        )

    def update_organisation(self, code: str, **fields: Any) -> models.Organisation:
        path = f"/organisations/{_segment(code, 'code')}"
        return models.Organisation.model_validate(self._json("PATCH", path, json_body=fields))

    def list_organisations(self, *, system: str | None = None) -> list[models.Organisation]:
        params = {"system": system} if system else None
        return [
            models.Organisation.model_validate(o) for o in self._pages("/organisations", params)
        ]

    # -- schemes --------------------------------------------------------------------------

    def list_schemes(
        self,
        *,
        system: str | None = None,
        organisation: str | None = None,
        category: str | None = None,
        status: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> models.SchemePage:
        """One page of schemes you may read."""
        params = {k: v for k, v in {"system": system, "organisation": organisation, "category": category,
                                    "status": status, "limit": limit, "offset": offset}.items() if v is not None}  # fmt: skip
        return models.SchemePage.model_validate(self._json("GET", "/schemes", params=params))

    def iter_schemes(self, *, page_size: int = 500, **filters: Any) -> Iterator[models.Scheme]:
        """Every scheme matching the filters, page by page."""
        offset = 0
        while True:
            page = self.list_schemes(limit=page_size, offset=offset, **filters)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def get_scheme(self, scheme_id: int) -> models.Scheme:
        return models.Scheme.model_validate(
            self._json("GET", f"/schemes/{_segment(scheme_id, 'scheme_id')}")
        )

    def create_scheme(self, **fields: Any) -> models.Scheme:
        """Record a draft scheme (`system`, `organisation`, `title`, `category`, `cost_profile`, ...)."""
        return models.Scheme.model_validate(self._json("POST", "/schemes", json_body=fields))

    def update_scheme(self, scheme_id: int, *, version: int, **fields: Any) -> models.Scheme:
        """Change a scheme; `version` is the one you read (stale: PreconditionFailed)."""
        return models.Scheme.model_validate(
            self._json(
                "PATCH",
                f"/schemes/{_segment(scheme_id, 'scheme_id')}",
                json_body=fields,
                headers={"If-Match": str(version)},
            )
        )

    def submit_scheme(self, scheme_id: int) -> models.Scheme:
        return models.Scheme.model_validate(
            self._json("POST", f"/schemes/{_segment(scheme_id, 'scheme_id')}/submit")
        )

    def withdraw_scheme(self, scheme_id: int) -> models.Scheme:
        return models.Scheme.model_validate(
            self._json("POST", f"/schemes/{_segment(scheme_id, 'scheme_id')}/withdraw")
        )

    def import_schemes(
        self,
        *,
        system: str,
        schemes: list[dict[str, Any]],
        submit: bool = False,
        dry_run: bool = False,
    ) -> models.ImportResult:
        """Create many schemes in one transaction: all of them, or none (ValidationFailed)."""
        body = {"system": system, "schemes": schemes, "submit": submit, "dry_run": dry_run}
        return models.ImportResult.model_validate(
            self._json("POST", "/schemes/import", json_body=body, timeout=self.solve_timeout)
        )

    # -- assessments ----------------------------------------------------------------------

    def list_assessments(self, scheme_id: int) -> list[models.Assessment]:
        return [
            models.Assessment.model_validate(a)
            for a in self._pages(f"/schemes/{_segment(scheme_id, 'scheme_id')}/assessments")
        ]

    def assess(self, scheme_id: int, *, rationale: str, **scores: int) -> models.Assessment:
        """Create or replace your assessment: strategic_fit, safety_quality, value_for_money, deliverability."""
        body = {**scores, "rationale": rationale}
        return models.Assessment.model_validate(
            self._json(
                "POST", f"/schemes/{_segment(scheme_id, 'scheme_id')}/assessments", json_body=body
            )
        )

    # -- rounds and runs ------------------------------------------------------------------

    def list_rounds(self, *, system: str | None = None) -> list[models.Round]:
        params = {"system": system} if system else None
        return [models.Round.model_validate(r) for r in self._pages("/rounds", params)]

    def get_round(self, round_id: int) -> models.Round:
        return models.Round.model_validate(
            self._json("GET", f"/rounds/{_segment(round_id, 'round_id')}")
        )

    def create_round(self, **fields: Any) -> models.Round:
        return models.Round.model_validate(self._json("POST", "/rounds", json_body=fields))

    def update_round(self, round_id: int, *, version: int, **fields: Any) -> models.Round:
        """Change a draft or open round; `version` is the one you read (stale: PreconditionFailed)."""
        return models.Round.model_validate(
            self._json(
                "PATCH",
                f"/rounds/{_segment(round_id, 'round_id')}",
                json_body=fields,
                headers={"If-Match": str(version)},
            )
        )

    def run_round(self, round_id: int, **overrides: Any) -> models.Run:
        """Optimise a round; keyword arguments override round parameters for this run only,
        plus `label`, `solver`, `mip_gap` and `time_limit_s`."""
        return models.Run.model_validate(
            self._json(
                "POST",
                f"/rounds/{_segment(round_id, 'round_id')}/runs",
                json_body=overrides,
                timeout=self.solve_timeout,
            )
        )

    def list_runs(self, round_id: int) -> list[models.RunSummary]:
        return [
            models.RunSummary.model_validate(r)
            for r in self._pages(f"/rounds/{_segment(round_id, 'round_id')}/runs")
        ]

    def get_run(self, run_id: int) -> models.Run:
        return models.Run.model_validate(self._json("GET", f"/runs/{_segment(run_id, 'run_id')}"))

    def run_snapshot(self, run_id: int) -> dict[str, Any]:
        """The exact problem a run solved (solve it offline with `capital optimise`)."""
        return self._json("GET", f"/runs/{_segment(run_id, 'run_id')}/snapshot.json")

    def compare_runs(self, run_id: int, other_id: int) -> dict[str, Any]:
        """Run `other_id` against `run_id` (b minus a): schemes funded in only one of them or
        starting in another year (id, title, organisation, cost), spend by year and
        organisation, objective. Raises `Conflict` if either run has no portfolio (infeasible
        or out of time): there is nothing to compare."""
        return self._json(
            "GET", f"/runs/{_segment(run_id, 'run_id')}/compare", params={"with": other_id}
        )

    # -- jobs: frontiers, robustness studies and runs asked `async` -----------------------

    def _job(self, method: str, path: str, **kwargs) -> models.Job:
        return models.Job.model_validate(self._json(method, path, **kwargs))

    def start_frontier(
        self, round_id: int, *, multipliers: list[float] | None = None, **options: Any
    ) -> models.Job:
        """Queue the efficient frontier of a round (202): `multipliers`, or `points` with
        `low` and `high`, plus any round parameter overridden."""
        body = {**options, **({"multipliers": multipliers} if multipliers else {})}
        return self._job(
            "POST", f"/rounds/{_segment(round_id, 'round_id')}/frontier", json_body=body
        )

    def start_robustness(self, round_id: int, **study: Any) -> models.Job:
        """Queue a robustness study (202): `rank_order`, `bounds`, `samples`, `seed`, plus any
        round parameter overridden."""
        return self._job(
            "POST", f"/rounds/{_segment(round_id, 'round_id')}/robustness", json_body=study
        )

    def start_run(self, round_id: int, **overrides: Any) -> models.Job:
        """Queue a run (`"async": true`); the finished job's result names the run."""
        return self._job(
            "POST",
            f"/rounds/{_segment(round_id, 'round_id')}/runs",
            json_body={**overrides, "async": True},
        )

    def get_job(self, job_id: int) -> models.Job:
        return self._job("GET", f"/jobs/{_segment(job_id, 'job_id')}")

    def list_jobs(
        self, *, round_id: int | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        params = {"limit": limit, "offset": offset, **({"round": round_id} if round_id else {})}
        data = self._json("GET", "/jobs", params=params)
        return {
            "items": [models.Job.model_validate(j) for j in data["items"]],
            "total": data["total"],
        }

    def cancel_job(self, job_id: int) -> models.Job:
        return self._job("DELETE", f"/jobs/{_segment(job_id, 'job_id')}")

    def wait_job(
        self, job_id: int, *, poll: float = 0.5, timeout: float | None = None, on_progress=None
    ) -> models.Job:
        """Poll a job until it has finished (succeeded, failed or cancelled); `on_progress`
        is called with each job read. Raises TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout:g} s")
            time.sleep(poll)

    def frontier(
        self, round_id: int, *, multipliers: list[float] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """The frontier, waited for: its points and chart data (the job's result)."""
        job = self.wait_job(self.start_frontier(round_id, multipliers=multipliers, **overrides).id,
                            timeout=self.solve_timeout)  # fmt: skip
        if job.status != "succeeded":
            raise JobFailed(f"frontier job {job.id} {job.status}: {job.error}", job=job)
        return job.result

    def agree(self, round_id: int, *, run_id: int) -> models.Round:
        return models.Round.model_validate(
            self._json(
                "POST",
                f"/rounds/{_segment(round_id, 'round_id')}/agree",
                json_body={"run_id": run_id},
            )
        )

    def run_report(
        self, run_id: int, *, format: str = "xlsx", compare_with: int | None = None
    ) -> bytes:
        """The run's report as bytes: `xlsx` (the board workbook), `pdf` (the board pack;
        with `compare_with`, a comparison with that run) or `csv`."""
        if format not in ("xlsx", "csv", "pdf"):
            raise ValueError("format is xlsx, pdf or csv")
        params = {"with": compare_with} if compare_with is not None and format == "pdf" else None
        return self._request(
            "GET", f"/runs/{_segment(run_id, 'run_id')}/report.{format}", params=params
        ).content

    # -- spreadsheets ---------------------------------------------------------------------

    def scheme_template(self, *, system: str, first_year: str = "2026/27", years: int = 5) -> bytes:
        """The XLSX import template for a system (drop-downs of the organisations you may use)."""
        params = {"system": system, "first_year": first_year, "years": years}
        return self._request("GET", "/schemes/template.xlsx", params=params).content

    def upload_schemes(
        self,
        *,
        system: str,
        filename: str,
        content: bytes,
        dry_run: bool = False,
        submit: bool = False,
    ) -> models.ImportResult:
        """Import a filled template or an edited export (.xlsx or .csv): all rows or none.
        ValidationFailed's `errors` name each problem's `row`, `column` and `header`."""
        kind = "text/csv" if filename.lower().endswith(".csv") else (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
        response = self._request(
            "POST", "/schemes/import", files={"file": (filename, content, kind)},
            data={"system": system, "dry_run": str(dry_run).lower(), "submit": str(submit).lower()},
            timeout=self.solve_timeout,
        )  # fmt: skip
        return models.ImportResult.model_validate(json.loads(response.text))

    def export_schemes(self, *, format: str = "xlsx", **filters: Any) -> bytes:
        """Schemes matching the list's filters in the template's layout, with id and version."""
        if format not in ("xlsx", "csv"):
            raise ValueError("format is xlsx or csv")
        params = {k: v for k, v in filters.items() if v is not None}
        return self._request("GET", f"/schemes/export.{format}", params=params).content

    def reallocate(self, round_id: int, **overrides: Any) -> models.Run:
        """A re-allocation of an agreed round: its still-submitted schemes optimised within the
        headroom that approved schemes' current forecasts leave (agree it with `agree`)."""
        return models.Run.model_validate(
            self._json("POST", f"/rounds/{_segment(round_id, 'round_id')}/reallocations", json_body=overrides,
                       timeout=self.solve_timeout)
        )  # fmt: skip

    # -- in-year delivery -----------------------------------------------------------------

    def get_delivery(self, scheme_id: int) -> models.Delivery:
        return models.Delivery.model_validate(
            self._json("GET", f"/schemes/{_segment(scheme_id, 'scheme_id')}/delivery")
        )

    def update_delivery(self, scheme_id: int, *, version: int, **fields: Any) -> models.Delivery:
        """Any of plan, actual, forecast ({"2026-10": amount}), later_years ({"2027/28": amount}),
        rag and commentary; `version` is the one you read (412 if someone changed it since)."""
        return models.Delivery.model_validate(
            self._json("PATCH", f"/schemes/{_segment(scheme_id, 'scheme_id')}/delivery", json_body=fields,
                       headers={"If-Match": str(version)})
        )  # fmt: skip

    def delivery_period(self, system: str) -> dict[str, Any]:
        return self._json("GET", f"/systems/{_segment(system, 'system')}/period")

    def close_period(self, system: str, *, period: str | None = None) -> dict[str, Any]:
        """Close the system's next month (finance directors). Name it (`period="2026-10"`) and
        any other month raises `Conflict`: a retried close closes it once, never the next."""
        body = {"period": period} if period is not None else None
        return self._json(
            "POST", f"/systems/{_segment(system, 'system')}/close-period", json_body=body
        )

    def import_delivery(
        self, system: str, *, period: str, schemes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Many schemes' actuals and forecasts for one period: all applied, or none."""
        body = {"period": period, "schemes": schemes}
        return self._json(
            "POST", f"/systems/{_segment(system, 'system')}/delivery/import", json_body=body
        )

    def delivery_report(self, system: str, *, year: str) -> models.DeliveryReport:
        return models.DeliveryReport.model_validate(
            self._json(
                "GET", f"/systems/{_segment(system, 'system')}/delivery", params={"year": year}
            )
        )

    # -- audit ----------------------------------------------------------------------------

    def audit(
        self, *, entity: str | None = None, entity_id: str | int | None = None, limit: int = 100
    ) -> list[models.AuditEvent]:
        params = {
            k: v
            for k, v in {"entity": entity, "entity_id": entity_id, "limit": limit}.items()
            if v is not None
        }
        return [
            models.AuditEvent.model_validate(e)
            for e in self._json("GET", "/audit", params=params)["items"]
        ]
