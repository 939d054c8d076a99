"""api/cells.py: the one rule for user text in the spreadsheets the service writes."""

import pytest

from api.cells import csv_field, from_csv_field


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(1)", "\t=1+1", "\r=1+1", "'=1+1", "''-1"]
)
def test_formula_like_text_is_quoted_once_and_reads_back_exactly(text):
    assert csv_field(text) == "'" + text
    assert from_csv_field(csv_field(text)) == text


@pytest.mark.parametrize("text", ["Roof", "", "'", "'quoted", "a=1", " =1"])
def test_other_text_is_left_as_it_is(text):
    assert csv_field(text) == text and from_csv_field(text) == text


def test_numbers_are_never_quoted():
    assert [csv_field(v) for v in (-1, -1.5, 0, None)] == [-1, -1.5, 0, None]
