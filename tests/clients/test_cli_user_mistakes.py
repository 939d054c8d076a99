"""A user's mistake against a live server: exit 2 and one line naming the option, file, row and
column or field at fault, never a traceback (the client raises its own error, naming it)."""

from tests.clients.conftest import capital


def _refused(result, *names: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for name in names:
        assert name in result.stderr, (name, result.stderr)


def test_a_month_or_year_in_other_digits_is_refused_naming_the_option(live, tmp_path):
    env, path = live.env("trust"), str(tmp_path / "return.xlsx")
    for period in ("２０２６-10", "2026-1０", "2026-10\n"):
        result = capital("delivery", "template", path, "--system", "QWV", "--period", period, env=env)  # fmt: skip
        _refused(result, "--period", "is not a month like 2026-10")
    report = capital("delivery", "report", "--system", "QWV", "--year", "２０２６/27", env=env)
    _refused(report, "--year", "is not a financial year like 2026/27")
    template = capital("schemes", "template", path, "--system", "QWV", "--first-year", "２０２６/27", env=env)  # fmt: skip
    _refused(template, "--first-year", "is not a financial year like 2026/27")


def test_a_file_to_write_in_a_missing_folder_is_refused_naming_the_path(live, tmp_path):
    env, missing = live.env("ics_finance"), tmp_path / "no" / "such"
    for args in (
        ("delivery", "template", str(missing / "return.xlsx"), "--system", "QWV", "--period", "2026-10"),
        ("schemes", "template", str(missing / "template.xlsx"), "--system", "QWV"),
        ("schemes", "export", str(missing / "schemes.csv"), "--system", "QWV"),
        ("runs", "export", "1", str(missing / "report.pdf")),
    ):  # fmt: skip
        _refused(capital(*args, env=env), f"the folder {missing} does not exist")
    folder = capital("delivery", "template", str(tmp_path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    _refused(folder, f"{tmp_path} is a folder, not a file")
    assert not missing.parent.exists()
