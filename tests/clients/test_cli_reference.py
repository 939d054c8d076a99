"""`capital reference ods|eric`, run as an administrator runs them (a real process)."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from api.db import make_engine
from api.reference.models import OrganisationFact
from api.systems.models import Organisation, System
from tests.api.test_reference import DATA, etr_rows, to_csv
from tests.clients.test_cli_admin import capital

ETR = str(DATA / "etr.csv")
ICBS = str(DATA / "ICB_DEC_2024_NAMES_AND_CODES_EN.csv")
ERIC = str(DATA / "ERIC-201617-trust-data.csv")


@pytest.fixture
def migrated(scratch_database_url):
    result = capital(scratch_database_url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return scratch_database_url


def count(url: str, model) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        value = connection.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return value


def ods(url: str, *args: str) -> dict:
    result = capital(url, "reference", "ods", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_ods_then_eric_from_the_command_line(migrated, tmp_path):
    dry = ods(migrated, ETR, ICBS, "--dry-run")
    assert dry["organisations"]["created"] == 202 and count(migrated, System) == 0
    first = ods(migrated, ETR, ICBS)
    assert (first["systems"]["created"], first["organisations"]["created"]) == (42, 202)
    assert (count(migrated, System), count(migrated, Organisation)) == (42, 202)
    second = ods(migrated, ETR, ICBS)
    assert second["organisations"]["unchanged"] == 202 and second["changes"] == []

    rows = etr_rows()
    for row in rows:
        if row[0] == "RHA":
            row[1] = "NOTTINGHAMSHIRE HEALTHCARE AND WELLBEING NHS FOUNDATION TRUST"
        if row[0] == "RX9":
            row[11] = "20260930"
    new = list(rows[0])
    new[:4] = ["RZZ", "BASSETLAW COMMUNITY NHS TRUST", "Y60", "QT1"]
    new[10], new[11] = "20260401", ""
    changed = tmp_path / "etr-changed.csv"
    changed.write_bytes(to_csv([*rows, new]))
    text = capital(migrated, "reference", "ods", str(changed), ICBS)
    assert text.returncode == 0, text.stderr
    assert "rename  organisation RHA" in text.stdout and "close   organisation RX9" in text.stdout
    assert "organisations  1 created, 1 updated, 200 unchanged, 1 closed, 71 skipped" in text.stdout

    eric = capital(migrated, "reference", "eric", ERIC, "--year", "2016/17", "--json")
    assert eric.returncode == 0, eric.stderr
    report = json.loads(eric.stdout)
    assert (report["matched"], len(report["unmatched"])) == (197, 39)
    assert count(migrated, OrganisationFact) == 197 * 4
    again = capital(migrated, "reference", "eric", ERIC, "--year", "2016/17")
    assert again.returncode == 0 and "197 replaced" in again.stdout
    assert count(migrated, OrganisationFact) == 197 * 4


def test_a_malformed_file_exits_2_naming_the_row_and_writes_nothing(migrated, tmp_path):
    rows = etr_rows()
    rows[41][10] = "2017-04-01"
    bad = tmp_path / "etr.csv"
    bad.write_bytes(to_csv(rows))
    result = capital(migrated, "reference", "ods", str(bad), ICBS)
    assert result.returncode == 2
    assert "etr.csv: row 42, column 11 (open date): '2017-04-01' is not a date" in result.stderr
    assert "Traceback" not in result.stderr and count(migrated, System) == 0
    missing = capital(migrated, "reference", "ods", str(tmp_path / "nope.csv"), ICBS)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    year = capital(migrated, "reference", "eric", ERIC, "--year", "2016-17")
    assert year.returncode == 2 and "--year" in year.stderr
    out = io.StringIO()
    writer = csv.writer(out)
    reader = list(
        csv.reader(io.StringIO((DATA / "ERIC-201617-trust-data.csv").read_text("utf-8-sig")))
    )
    reader[3][68] = "-5"
    writer.writerows(reader)
    eric = tmp_path / "eric.csv"
    eric.write_text(out.getvalue())
    result = capital(migrated, "reference", "eric", str(eric), "--year", "2016/17")
    assert result.returncode == 2
    assert "row 4, column 69 (Cost to eradicate high risk backlog (£))" in result.stderr
    assert count(migrated, OrganisationFact) == 0
