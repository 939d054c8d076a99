"""The `capital` client commands driven as a user would, against the running app."""

import csv
import io
import json
from decimal import Decimal

import httpx
from openpyxl import load_workbook

from tests.clients.conftest import capital

ROWS = [
    ["R0A", "Boiler replacement, Vale General", "Two gas boilers past end of life", "estates_backlog",
     "obc", "high", "yes", "Boiler failed its statutory inspection", "", "", 0, 250000, 50000.5],
    ["R0A", "Network core switch refresh", "", "digital", "fbc", "", "no", "", "", "", 1, "", 180000],
    ["R0A", "Digital pathology scanners", "", "digital", "soc", "", "no", "", "row 3", "scanners", 2, 90000, 90000],
    ["R0A", "Digital pathology (lease)", "", "digital", "soc", "", "", "", "row 3", "scanners", 0, 60000, ""],
]  # fmt: skip


def fill(template, rows, path):
    book = load_workbook(template)
    sheet = book["Schemes"]
    for row in rows:
        sheet.append(row)
    book.save(path)


def count(live, **params):
    headers = {"Authorization": f"Bearer {live.tokens['trust']}"}
    return httpx.get(f"{live.url}/api/v1/schemes", params=params, headers=headers).json()["total"]


def test_template_fill_import_list_export_round_trip(live, tmp_path):
    env = live.env("trust")
    template = tmp_path / "template.xlsx"
    made = capital("schemes", "template", str(template), "--system", "QWV", "--years", "3", env=env)
    assert made.returncode == 0, made.stderr
    book = load_workbook(template)
    header = [c.value for c in book["Schemes"][1]]
    assert header == ["organisation", "title", "description", "category", "business_case_stage",
                      "backlog_risk", "mandatory", "mandatory_reason", "depends_on",
                      "alternative_group", "max_deferral_years", "2026/27", "2027/28", "2028/29"]  # fmt: skip
    lists = [
        v.formula1 for v in book["Schemes"].data_validations.dataValidation if v.type == "list"
    ]
    assert '"estates_backlog,estates_capacity,digital,equipment,other"' in lists
    assert any("R0A" in f for f in lists)
    assert [r[0].value for r in book["Notes"].iter_rows(min_row=2)][:3] == [
        "organisation",
        "title",
        "description",
    ]

    before = count(live, organisation="R0A")
    broken = [list(r) for r in ROWS]
    broken[1][3] = "roads"  # row 3: category
    broken[2][12] = "lots"  # row 4: 2028/29
    broken[3][0] = "R0B"  # row 5: another organisation (the server refuses it)
    bad_file = tmp_path / "bad.xlsx"
    fill(template, broken, bad_file)
    result = capital("schemes", "import", str(bad_file), "--system", "QWV", env=env)
    assert result.returncode == 2
    assert "row 3, column D (category): 'roads' is not one of" in result.stderr
    assert "row 4, column M (2027/28): 'lots' is not an amount in pounds" in result.stderr
    # in the same answer, not on the next upload once the cells are fixed
    assert "row 5, column A (organisation): trust users may only import" in result.stderr
    assert "nothing was imported" in result.stderr and "Traceback" not in result.stderr
    assert count(live, organisation="R0A") == before

    broken[1][3], broken[2][12] = "digital", 90000
    fill(template, broken, bad_file)
    result = capital("schemes", "import", str(bad_file), "--system", "QWV", env=env)
    assert result.returncode == 2
    assert (
        "row 5, column A (organisation): trust users may only import their own organisation's schemes"
        in result.stderr
    )
    assert count(live, organisation="R0A") == before

    good = tmp_path / "good.xlsx"
    fill(template, ROWS, good)
    dry = capital("schemes", "import", str(good), "--system", "QWV", "--dry-run", env=env)
    assert dry.returncode == 0 and "nothing written" in dry.stdout
    assert count(live, organisation="R0A") == before
    done = capital("schemes", "import", str(good), "--system", "QWV", env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 4 schemes" in done.stdout
    assert count(live, organisation="R0A") == before + 4

    listed = capital(
        "schemes", "list", "--organisation", "R0A", "--status", "draft", "--json", env=env
    )
    assert listed.returncode == 0, listed.stderr
    drafts = json.loads(listed.stdout)
    imported = {s["title"]: s for s in drafts}
    assert set(imported) >= {r[1] for r in ROWS}
    pathology = imported["Digital pathology scanners"]
    assert pathology["depends_on"] == [imported["Network core switch refresh"]["id"]]
    boiler = imported["Boiler replacement, Vale General"]["cost_profile"]
    assert {y: Decimal(a) for y, a in boiler.items()} == {
        "2026/27": Decimal("250000"),
        "2027/28": Decimal("50000.5"),
    }

    for suffix in ("xlsx", "csv"):
        exported = tmp_path / f"export.{suffix}"
        out = capital(
            "schemes",
            "export",
            str(exported),
            "--organisation",
            "R0A",
            "--status",
            "draft",
            env=env,
        )
        assert out.returncode == 0, out.stderr
        if suffix == "csv":
            rows = list(csv.DictReader(exported.open(encoding="utf-8-sig")))
        else:
            sheet = load_workbook(exported)["Schemes"]
            names = [c.value for c in sheet[1]]
            rows = [
                dict(zip(names, r, strict=True))
                for r in sheet.iter_rows(min_row=2, values_only=True)
            ]
        by_title = {r["title"]: r for r in rows}
        for original in ROWS:
            row = by_title[original[1]]
            assert row["organisation"] == original[0] and row["category"] == original[3]
            assert row["mandatory"] == ("yes" if original[6] == "yes" else "no")
            for year, amount in zip(("2026/27", "2027/28"), original[11:], strict=True):
                expected = Decimal(str(amount)) if amount != "" else None
                got = row[year]
                assert (Decimal(str(got)) if got not in ("", None) else None) == expected, (
                    original[1],
                    year,
                )
        # An export can be imported again as it is (id and status columns are ignored).
        again = capital("schemes", "import", str(exported), "--system", "QWV", "--dry-run", env=env)
        assert again.returncode == 0, again.stderr


def test_rounds_and_runs_commands(live, tmp_path):
    env = live.env("ics_finance")
    headers = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    round_id = httpx.get(
        f"{live.url}/api/v1/rounds", params={"system": "QWV"}, headers=headers
    ).json()["items"][0]["id"]
    ran = capital("rounds", "run", str(round_id), "--label", "from the CLI", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "Spend by year" in ran.stdout and "Fair shares" in ran.stdout and "funded" in ran.stdout
    runs = httpx.get(f"{live.url}/api/v1/rounds/{round_id}/runs", headers=headers).json()
    run_id = runs["items"][-1]["id"]
    shown = capital("runs", "show", str(run_id), env=env)
    assert shown.returncode == 0 and f"Run {run_id}" in shown.stdout
    report = tmp_path / "board.xlsx"
    exported = capital("runs", "export", str(run_id), str(report), env=env)
    assert exported.returncode == 0, exported.stderr
    assert load_workbook(report).sheetnames[0] == "Summary"
    pack = tmp_path / "board.pdf"
    exported = capital("runs", "export", str(run_id), str(pack), "--with", str(run_id), env=env)
    assert exported.returncode == 0 and pack.read_bytes().startswith(b"%PDF"), exported.stderr
    nowhere = capital(
        "runs", "export", str(run_id), str(tmp_path / "no" / "such" / "x.pdf"), env=env
    )
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr

    first = httpx.get(f"{live.url}/api/v1/rounds/{round_id}/runs", headers=headers).json()["items"][
        0
    ]["id"]
    compared = capital("runs", "compare", str(first), str(run_id), env=env)
    assert compared.returncode == 0, compared.stderr
    assert "Spend by year" in compared.stdout and f"Funded only in run {run_id}" in compared.stdout

    # On an 80-column terminal every table fits and no money figure is cut.
    from capital_cli import remote
    from capital_client import CapitalClient

    with CapitalClient(live.url, live.tokens["ics_finance"]) as client:
        run = client.get_run(run_id)
        titles, costs = remote._titles(client, run), remote._costs(client, run)
    screen = remote.plain_console(width=80, record=True, file=io.StringIO(), color_system=None)
    remote._show(run, titles, costs, out=screen)
    text = screen.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for year in run.result["by_year"]:
        assert remote._money(year["spend"]) in text and remote._money(year["envelope"]) in text
    for organisation in run.result["by_organisation"]:
        assert remote._money(organisation["allocated"]) in text
    for _organisation, cost in costs.values():
        assert remote._money(cost) in text
    assert "…" not in text


def test_user_mistakes_are_one_line_without_traceback(live, tmp_path):
    cases = [
        (capital("schemes", "list", env=live.env("trust", CAPITAL_TOKEN="cap_nope")), "401"),
        (
            capital("schemes", "list", env=live.env("trust", CAPITAL_URL="http://127.0.0.1:9")),
            "cannot reach",
        ),
        (capital("runs", "show", "999999", env=live.env("trust")), "404 No run with id 999999"),
        (capital("rounds", "run", "1", env=live.env("viewer")), "403"),
        (
            capital(
                "schemes",
                "import",
                str(tmp_path / "missing.xlsx"),
                "--system",
                "QWV",
                env=live.env("trust"),
            ),
            "no such file",
        ),
    ]
    (tmp_path / "notes.txt").write_text("hello")
    cases.append(
        (
            capital(
                "schemes",
                "import",
                str(tmp_path / "notes.txt"),
                "--system",
                "QWV",
                env=live.env("trust"),
            ),
            "use an .xlsx, .csv or .json file",
        )
    )
    for result, message in cases:
        assert result.returncode != 0, result.stdout
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1, (
            result.stderr
        )


def test_a_json_import_names_every_problem_by_its_path_at_once(live, tmp_path):
    """The JSON import named the rows' own field errors and, only once they were fixed, the
    import's checks (organisation, dependencies): now one answer names both."""

    def scheme(**fields):
        return {"organisation": "R0A", "title": "Ward refurbishment", "category": "estates_backlog",
                "cost_profile": {"2026/27": 1000.5}} | fields  # fmt: skip

    path = tmp_path / "schemes.json"
    path.write_text(json.dumps({"schemes": [
        scheme(), scheme(organisation="ZZ9"), scheme(category="roads"), scheme(cost_profile={"2026/27": "1e3"}),
        scheme(organisation="R0B"), scheme(depends_on=[987654]),
    ]}))  # fmt: skip
    before = count(live, organisation="R0A")
    result = capital("schemes", "import", str(path), "--system", "QWV", env=live.env("trust"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "schemes[1].organisation", "schemes[2].category", "schemes[3].cost_profile.2026/27",
        "schemes[4].organisation", "schemes[5].depends_on[0]",
    ]  # fmt: skip
    assert all(line.startswith(f"{path}: ") for line in lines[:-1])
    assert lines[-1] == "error: 5 problem(s) found; nothing was imported"
    assert count(live, organisation="R0A") == before
    # A bare list of schemes is a document too; fixed, it imports.
    path.write_text(json.dumps([scheme(), scheme(title="Lift replacement", depends_on_rows=[0])]))
    result = capital("schemes", "import", str(path), "--system", "QWV", env=live.env("trust"))
    assert result.returncode == 0, result.stderr
    assert "imported 2 schemes" in result.stdout
    assert count(live, organisation="R0A") == before + 2
    for content, message in [
        ("{", "not valid JSON (line 1, column 2"),
        (
            '{"system": "QWV", "schemes": [], "dry_run": true}',
            'unexpected "dry_run": use --dry-run on the command line',
        ),
        (
            '{"schemes": [], "colour": "red"}',
            'unexpected "colour": a JSON import has only "schemes" and "system"',
        ),
        ('{"system": "XYZ", "schemes": []}', "its system is XYZ, not QWV"),
        ('"schemes"', 'a JSON import is a list of schemes, or {"schemes": [...]}'),
    ]:
        path.write_text(content)
        result = capital("schemes", "import", str(path), "--system", "QWV", env=live.env("trust"))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
