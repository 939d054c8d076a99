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
