"""`capital robustness SNAPSHOT.json` offline, and `capital rounds frontier` / `jobs wait`
against a live server."""

import json

import pytest

from tests.clients.conftest import capital
from tests.optimiser.test_robustness import small_snapshot

RANK = "safety_quality,strategic_fit,value_for_money,deliverability"


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_robustness_offline_prints_the_study_as_strict_json(tmp_path):
    path = tmp_path / "round.json"
    path.write_text(small_snapshot().model_dump_json())
    args = ("robustness", str(path), "--rank-order", RANK, "--bounds", '{"deliverability": {"max": 0.1}}',
            "--samples", "6", "--seed", "4")  # fmt: skip
    result = capital(*args)
    assert result.returncode == 0, result.stderr
    study = _strict(result.stdout)
    assert study["samples"] == 6 and study["seed"] == 4
    assert study["weight_set"]["rank_order"] == RANK.split(",")
    classes = {s["id"]: s["class"] for s in study["schemes"]}
    assert classes["mandatory"] == "core" and classes["huge"] == "exterior"
    assert capital(*args).stdout == result.stdout  # the same seed, the same study


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--rank-order", "safety_quality,speed"], "--rank-order: rank_order[1]: 'speed' is not one of"),
        (["--bounds", "{"], "--bounds: not valid JSON"),
        (["--bounds", '{"strategic_fit": {"min": 0.9}, "safety_quality": {"min": 0.9}}'],
         "--bounds: bounds: the minimum weights add up to 1.8, more than 1"),
    ],
)  # fmt: skip
def test_robustness_mistakes_exit_2_naming_the_flag(tmp_path, flags, message):
    path = tmp_path / "round.json"
    path.write_text(small_snapshot().model_dump_json())
    result = capital("robustness", str(path), *flags)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    missing = capital("robustness", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.slow
def test_rounds_frontier_starts_the_job_and_waits(live):
    env = live.env("ics_finance", COLUMNS="80")
    result = capital(
        "rounds", "frontier", "1", "--points", "3", "--low", "0.9", "--high", "1.1", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Frontier of round 1" in result.stdout and "£" in result.stdout
    assert "succeeded 3/3" in result.stderr  # progress, as plain lines when not a terminal
    job_id = result.stdout.split("(job ")[1].split(")")[0]
    waited = capital("jobs", "wait", job_id, env=env)
    assert waited.returncode == 0, waited.stderr
    job = _strict(waited.stdout)
    assert job["status"] == "succeeded" and [p["multiplier"] for p in job["result"]["points"]] == [
        0.9,
        1.0,
        1.1,
    ]
    missing = capital("jobs", "wait", "2147483647", env=env)
    assert missing.returncode == 1 and "404" in missing.stderr
