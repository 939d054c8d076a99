"""The command line a person can trust: strict JSON on stdout, exit 2 with a message (never a
traceback) for every mistaken number or path, and tables that fit an 80-column terminal."""

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from decimal import Decimal

import httpx
import pytest

from tests.servers import capital, refused

pytestmark = pytest.mark.slow  # each case starts the command in a fresh interpreter


def strict(text: str):
    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_optimise_prints_strict_json_for_an_empty_round(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"years": ["2026/27"], "envelope": {"2026/27": 1000}}))
    result = capital("optimise", str(path))
    assert result.returncode == 0, result.stderr
    document = strict(result.stdout)
    assert document["gap"] is None and document["bound"] == 0
    assert "-0.0" not in result.stdout


@pytest.mark.parametrize(
    "args, named",
    [
        (["--gap", "nan"], "--gap"),
        (["--time-limit", "nan"], "--time-limit"),
        (["--time-limit", "inf"], "--time-limit"),
    ],
)
def test_optimise_numbers_must_be_finite(tmp_path, args, named):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"years": ["2026/27"], "envelope": {"2026/27": 1000}}))
    refused(capital("optimise", str(path), *args), named)


@pytest.mark.parametrize(
    "args",
    [
        ["--envelope-scale", "1e308"],
        ["--envelope-scale", "inf"],
        ["--envelope-scale", "nan"],
        ["--envelope-scale", "-1"],
        ["--envelope-scale", "1e12"],  # finite, but no envelope can hold the result
        ["--gap", "nan"],
        ["--time-limit", "nan"],
    ],
)
def test_rounds_run_numbers_are_checked(live, args):
    finance = live.env("ics_finance")
    headers = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    round_id = httpx.get(f"{live.url}/api/v1/rounds", headers=headers).json()["items"][0]["id"]
    result = capital("rounds", "run", str(round_id), *args, env=finance)
    refused(result, args[0])


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "export", "1", "{missing}/x.xlsx"],
        ["runs", "export", "1", "{folder}"],
        ["schemes", "template", "{missing}/x.xlsx", "--system", "QWV"],
        ["schemes", "export", "{missing}/x.csv"],
        ["schemes", "export", "{folder}"],
    ],
)
def test_output_files_that_cannot_be_written_are_named(live, tmp_path, command):
    places = {"missing": str(tmp_path / "no" / "such" / "dir"), "folder": str(tmp_path)}
    args = [part.format(**places) for part in command]
    path = next(a for a in args if a.startswith(str(tmp_path)))
    result = capital(*args, env=live.env("ics_finance"))
    refused(result, path)
    assert not (tmp_path / "no").exists()


def _on_terminal(args: list[str], env: dict[str, str], columns: int = 80) -> list[str]:
    """Run a command with its output on a pseudo-terminal `columns` wide; the lines it shows."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**env, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "capital_cli.main", *args],
                               stdout=follower, stderr=follower, env=env)  # fmt: skip
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0, output.decode(errors="replace")[-2000:]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode())
    return text.replace("\r", "").splitlines()


def test_schemes_list_fits_80_columns_without_cutting_money(live):
    trust = {"Authorization": f"Bearer {live.tokens['trust']}"}
    huge = httpx.post(
        f"{live.url}/api/v1/schemes",
        json={"system": "QWV", "organisation": "R0A", "category": "estates_capacity",
              "title": "A new hospital with a very long title that has to wrap on a terminal",
              "cost_profile": {"2026/27": 1234567890.12}},
        headers=trust,
    )  # fmt: skip
    assert huge.status_code == 201, huge.text
    lines = _on_terminal(["schemes", "list", "--system", "QWV"], live.env("trust"))
    assert max(len(line) for line in lines) <= 80
    shown = "\n".join(lines)
    schemes = httpx.get(
        f"{live.url}/api/v1/schemes", params={"system": "QWV", "limit": 500}, headers=trust
    ).json()["items"]
    for scheme in schemes:
        # Every total is on one line, whole: £1,234,567,890.12, not £1,234,567,8… or wrapped.
        assert f"£{float(scheme['total_cost']):,.2f}" in shown, scheme
    assert "…" not in shown


@pytest.mark.parametrize(
    "args, named",
    [
        (["serve", "--port", "70000"], "--port"),
        (["users", "revoke", "--id", "99999999999"], "--id"),
        (["runs", "show", "0", "--url", "http://127.0.0.1:9", "--token", "x"], "RUN_ID"),
        (["rounds", "run", "99999999999", "--url", "http://127.0.0.1:9", "--token", "x"],
         "ROUND_ID"),
    ],
)  # fmt: skip
def test_out_of_range_integers_are_named(args, named):
    refused(capital(*args), named)


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("DATABASE_URL", "nonsense://x", "setting DATABASE_URL: use sqlite:///"),
        ("DATABASE_URL", "mysql://u@h/db", "setting DATABASE_URL: use sqlite:///"),
        ("MAX_BODY_BYTES", "lots", "setting MAX_BODY_BYTES: Input should be a valid integer"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["db", "upgrade"], ["demo"]])
def test_a_mistaken_setting_is_named_before_any_command_runs(
    tmp_path, setting, value, message, command
):
    # It was pydantic's or SQLAlchemy's traceback, from the server's own process for `serve`.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", setting: value}
    result = capital(*command, env=env, timeout=60)
    refused(result, message)
    assert not (tmp_path / "x.db").exists()


def _row(lines: list[str], first: int) -> str:
    """The first line of a table's row whose first cell is `first` (below the heading)."""
    body = lines[next(i for i, line in enumerate(lines) if "───" in line) + 1 :]
    return next(line for line in body if line.split()[:1] == [str(first)])


def test_rounds_and_their_runs_are_listed_to_find_their_ids(live):
    """`capital rounds run`, `runs show` and `runs export` take ids that the command line had
    no way to list: a finance director had to ask the API with curl."""
    finance = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    env = live.env("ics_finance")
    rounds = httpx.get(f"{live.url}/api/v1/rounds", headers=finance).json()["items"]
    listed = capital("rounds", "list", "--system", "QWV", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in strict(listed.stdout)] == [r["id"] for r in rounds]
    lines = _on_terminal(["rounds", "list"], env)
    assert max(len(line) for line in lines) <= 80 and "…" not in "\n".join(lines)
    agreed = next(r for r in rounds if r["status"] == "agreed")
    row = _row(lines, agreed["id"])
    total = sum(Decimal(a) for a in agreed["envelope"].values())
    assert f"£{total:,.0f}" in row and f"run {agreed['agreed_run_id']}" in row, row

    runs = httpx.get(f"{live.url}/api/v1/rounds/{agreed['id']}/runs", headers=finance).json()
    lines = _on_terminal(["runs", "list", str(agreed["id"])], env)
    shown = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80 and "…" not in shown
    assert f"{len(runs['items'])} run" in lines[0]
    for run in runs["items"]:  # each value whole, to the penny, on its run's line
        row = _row(lines, run["id"])
        assert f"£{Decimal(str(run['objective'])):,.2f}" in row, row
    json_runs = capital("runs", "list", str(agreed["id"]), "--json", env=env)
    assert [r["id"] for r in strict(json_runs.stdout)] == [r["id"] for r in runs["items"]]
    missing = capital("runs", "list", "999999", env=env)
    assert missing.returncode == 1 and "No round with id 999999" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_what_users_typed_is_printed_as_typed(live):
    """Rich read a scheme's title, a round's name or a run's label as markup and emoji codes:
    a title with "[/]" in it made `schemes list` a traceback (MarkupError) for everyone in the
    system, "[phase 2]" vanished and ":hospital:" became an emoji."""
    from capital_client import CapitalClient

    typed = "Theatre [/] [phase 2] :hospital: [bold]St Aldhelm"
    with CapitalClient(live.url, live.tokens["trust"]) as trust:
        scheme = trust.create_scheme(
            system="QWV", organisation="R0A", title=typed, description="Markup in a title.",
            category="estates_capacity", cost_profile={"2027/28": "1000.00"},
            business_case_stage="soc",
        )  # fmt: skip
    with CapitalClient(live.url, live.tokens["ics_finance"]) as finance:
        round_ = finance.create_round(
            system="QWV", name=typed, years=["2027/28"], envelope={"2027/28": "5000.00"}
        )
        finance.run_round(round_.id, label=typed)
    try:
        for args, role in (
            (["schemes", "list", "--system", "QWV"], "trust"),
            (["rounds", "list", "--system", "QWV"], "ics_finance"),
            (["runs", "list", str(round_.id)], "ics_finance"),
        ):
            listed = capital(*args, env=live.env(role))
            assert listed.returncode == 0, listed.stderr
            assert typed in listed.stdout, listed.stdout
        screen = _on_terminal(
            ["schemes", "list", "--system", "QWV"], live.env("trust"), columns=200
        )
        on_screen = "\n".join(screen)
        assert "[/]" in on_screen and "[phase 2]" in on_screen and ":hospital:" in on_screen
    finally:
        with CapitalClient(live.url, live.tokens["trust"]) as trust:
            trust.withdraw_scheme(scheme.id)
