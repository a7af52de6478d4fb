"""Spreadsheet-safe CSV, used by every export."""

import csv
import io

import pytest

from volunteer_app.core.spreadsheet import csv_bytes, neutralise


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("\r=x", "'\r=x"),
        ("Ana", "Ana"),
        (None, ""),
        (3, 3),
        (-3, -3),
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_csv_has_a_bom_crlf_rows_and_neutralises_formulas():
    body = csv_bytes(["=a", "b"], [["=1+1", "+1", "-2", "@x", "\tx", 5, -3, None, "ok"]])
    assert body.startswith("\ufeff".encode())
    assert b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["'=a", "b"]
    assert rows[1] == ["'=1+1", "'+1", "'-2", "'@x", "'\tx", "5", "-3", "", "ok"]
