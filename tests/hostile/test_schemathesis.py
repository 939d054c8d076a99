"""schemathesis over the whole OpenAPI, as three roles, against a real server on each backend:
every default check, the coverage, fuzzing and stateful phases, bounded examples; any failure
of any check fails the test.

What the schema cannot express is configured, not hidden: `positive_data_acceptance` also
accepts 412 (a stale If-Match), 422 (a rule across fields or against stored data: an unknown
system code, weights that do not sum to 1, more than 2 dp of money) and 428 (If-Match is
required, and its absence is answered 428 as RFC 6585 says); `missing_required_header` also
accepts 428 for the same reason.
"""

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

ROLES = ("admin", "ics_finance", "trust")
MAX_EXAMPLES = 3


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261130,
            "project": [
                {
                    "title": "Capital prioritisation service",
                    "headers": {"Authorization": f"Bearer {token}"},
                    "request-timeout": 120,
                    "workers": 1,
                    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
                    "phases": {
                        "examples": {"enabled": False},
                        "coverage": {"enabled": True},
                        "fuzzing": {"enabled": True},
                        "stateful": {"enabled": True, "max-steps": 6},
                    },
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "412",
                                                  "422", "428"],
                        },
                        "missing_required_header": {
                            "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"],
                        },
                    },
                }
            ],
        }
    )  # fmt: skip


def _failures(recorder) -> list[str]:
    found = []
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                found.append(
                    f"{recorder.label} {check.name}: {failure.title}\n{failure.message[:500]}\n"
                    f"{check.failure_info.code_sample[:1500]}"
                )
    return found


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(hostile, role):
    schema = schemathesis.openapi.from_url(
        f"{hostile.url}/openapi.json", config=_config(hostile.tokens[role])
    )
    problems: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            if event.status in (Status.FAILURE, Status.ERROR):
                problems += _failures(event.recorder) or [f"{event.status}: {event.recorder.label}"]
        elif isinstance(event, events.NonFatalError):
            problems.append(f"error in {event.label}: {event.info.format()[:2000]}")
        elif isinstance(event, events.FatalError):
            problems.append(f"fatal: {event.exception!r}")
    assert not problems, "\n".join(dict.fromkeys(problems))
