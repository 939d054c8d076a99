"""A user's mistake against a live server: exit 2 and one line naming the option, file, row and
column or field at fault, never a traceback (the client raises its own error, naming it)."""

from decimal import Decimal

import pytest
from capital_client import CapitalClient, CapitalError, InvalidArgument, NotFound, ValidationFailed
from openpyxl import load_workbook

from tests.servers import capital, refused


def test_a_month_or_year_in_other_digits_is_refused_naming_the_option(live, tmp_path):
    env, path = live.env("trust"), str(tmp_path / "return.xlsx")
    for period in ("２０２６-10", "2026-1０", "2026-10\n"):
        result = capital("delivery", "template", path, "--system", "QWV", "--period", period, env=env)  # fmt: skip
        refused(result, "--period", "is not a month like 2026-10")
    report = capital("delivery", "report", "--system", "QWV", "--year", "２０２６/27", env=env)
    refused(report, "--year", "is not a financial year like 2026/27")
    template = capital("schemes", "template", path, "--system", "QWV", "--first-year", "２０２６/27", env=env)  # fmt: skip
    refused(template, "--first-year", "is not a financial year like 2026/27")


def test_a_file_to_write_in_a_missing_folder_is_refused_naming_the_path(live, tmp_path):
    env, missing = live.env("ics_finance"), tmp_path / "no" / "such"
    for args in (
        ("delivery", "template", str(missing / "return.xlsx"), "--system", "QWV", "--period", "2026-10"),
        ("schemes", "template", str(missing / "template.xlsx"), "--system", "QWV"),
        ("schemes", "export", str(missing / "schemes.csv"), "--system", "QWV"),
        ("runs", "export", "1", str(missing / "report.pdf")),
    ):  # fmt: skip
        refused(capital(*args, env=env), f"the folder {missing} does not exist")
    folder = capital("delivery", "template", str(tmp_path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    refused(folder, f"{tmp_path} is a folder, not a file")
    assert not missing.parent.exists()


def test_a_token_outside_printable_ascii_is_refused_naming_where_it_came_from(live):
    environment = capital("schemes", "list", env=live.env(CAPITAL_TOKEN="tokén"))
    refused(environment, "the token in $CAPITAL_TOKEN: character 4 (U+00E9) is not printable ASCII")
    option = capital("schemes", "list", "--token", "tok en", env=live.env())
    refused(option, "the token given with --token: character 4 (U+0020)")
    assert "tokén" not in environment.stderr  # a secret, even a mistyped one, is not echoed
    with pytest.raises(InvalidArgument, match=r"^token: character 4 \(U\+00E9\)") as raised:
        CapitalClient(live.url, "tokén")
    assert isinstance(raised.value, CapitalError) and isinstance(raised.value, ValueError)


def test_the_client_escapes_path_parameters(live):
    with CapitalClient(live.url, live.tokens["ics_finance"]) as client:
        assert client.get_system("QWV").code == "QWV"
        # Unescaped, `?` began a query and `#` a fragment: both read system QWV.
        for code in ("QWV?limit=1", "QWV#x", "QWV x", "..", "%2E%2E"):
            with pytest.raises((NotFound, ValidationFailed)):
                client.get_system(code)
        # Servers decode %2F before routing, so a `/` is refused, never sent.
        with pytest.raises(InvalidArgument, match=r"^code: 'QWV/period' cannot name a resource"):
            client.get_system("QWV/period")
        with pytest.raises(InvalidArgument, match=r"^system: "):
            client.delivery_report("QWV/period", year="2026/27")
    result = capital("delivery", "report", "--system", "QWV/period", "--year", "2026/27", env=live.env("ics_finance"))  # fmt: skip
    refused(result, "system: 'QWV/period'")


def test_the_client_names_an_amount_it_cannot_send(live):
    scheme = {"system": "QWV", "organisation": "R0A", "title": "Not finite", "category": "digital"}
    with CapitalClient(live.url, live.tokens["trust"]) as client:
        for bad in (Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("sNaN"),
                    float("nan"), float("inf")):  # fmt: skip
            with pytest.raises(
                InvalidArgument, match=r"^cost_profile\.2027/28: .* is not a finite"
            ):
                client.create_scheme(**scheme, cost_profile={"2026/27": 5, "2027/28": bad})
        with pytest.raises(InvalidArgument, match=r"^multipliers\[1\]: nan is not a finite"):
            client.start_frontier(1, multipliers=[1.0, float("nan")])
        # Too large for Decimal's 28-digit quantize: sent, and the server names the field.
        with pytest.raises(ValidationFailed) as refused:
            client.create_scheme(**scheme, cost_profile={"2026/27": Decimal("1E+30")})
        assert [e["loc"] for e in refused.value.errors] == ["body.cost_profile.2026/27"]
        made = client.create_scheme(**scheme, cost_profile={"2026/27": Decimal("100.000")})
        assert made.cost_profile == {"2026/27": Decimal(100)}


def test_a_return_with_an_amount_in_exponent_notation_names_its_cell(live, tmp_path):
    env, path = live.env("trust"), tmp_path / "return.xlsx"
    made = capital("delivery", "template", str(path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    book = load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("actual 2026-10") + 1, value="1e30")
    sheet.cell(row=2, column=header.index("forecast 2026-11") + 1, value=1e30)
    sheet.cell(row=2, column=header.index("forecast 2026-12") + 1, value="Infinity")
    sheet.cell(row=2, column=header.index("forecast 2027-01") + 1, value="١٢٣")
    book.save(path)
    result = capital("delivery", "import", str(path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    refused(result, "nothing was imported",
             "row 2, column E (actual 2026-10): '1e30' is not an amount in pounds",
             "row 2, column F (forecast 2026-11): 1e+30 is more than the largest amount",
             "row 2, column G (forecast 2026-12): 'Infinity' is not an amount in pounds",
             "row 2, column H (forecast 2027-01): '١٢٣' is not an amount in pounds")  # fmt: skip


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.csv", b"", "the first row must be the header"),
        ("latin.csv", b"organisation,title\nR0A,Caf\xe9\n", "not UTF-8 text"),
        ("notes.xlsx", b"not a workbook", "not a spreadsheet that can be read"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_read_is_named_once(live, tmp_path, name, content, reason):
    """The server's words about the file named it, and the command put its path before them:
    "empty.csv: empty.csv: the first row must be the header"."""
    path = tmp_path / name
    path.write_bytes(content)
    result = capital("schemes", "import", str(path), "--system", "QWV", env=live.env("trust"))
    message = refused(result, reason, one_line=True)
    assert message.startswith(f"{path}: {reason}") and message.count(name) == 1, message


def test_a_system_or_organisation_the_user_cannot_see_is_named_by_its_option(live, tmp_path):
    """`--system QVW` for QWV listed "0 schemes" and exported an empty file, exit 0; the
    template and the delivery report said "404 No system QVW.", exit 1."""
    env, path = live.env("trust"), tmp_path / "schemes.csv"
    for args in (
        ("schemes", "list"), ("schemes", "export", str(path)), ("rounds", "list"),
        ("schemes", "template", str(tmp_path / "t.xlsx")),
        ("delivery", "template", str(tmp_path / "r.xlsx"), "--period", "2026-10"),
        ("delivery", "report", "--year", "2026/27"),
    ):  # fmt: skip
        refused(capital(*args, "--system", "QVW", env=env),
                "error: --system: no system QVW that you can see", one_line=True)  # fmt: skip
    both = capital("schemes", "list", "--system", "QVW", "--organisation", "R0Z", env=env)
    refused(both, "error: --system: no system QVW that you can see; "
            "--organisation: no organisation R0Z that you can see", one_line=True)  # fmt: skip
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_path_is_named_as_typed_in_an_error(live, tmp_path):
    """The server commands printed their errors through rich, whose emoji codes turned a file
    called `plan:x:.csv` into `plan❌.csv` in the message."""
    env, path = live.env("trust"), tmp_path / "plan:x:.csv"
    result = capital("schemes", "import", str(path), "--system", "QWV", env=env)
    assert refused(result, one_line=True) == f"error: {path}: no such file\n"
