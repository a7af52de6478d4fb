"""CSV that opens cleanly in a spreadsheet: every export in the app is written here.

UTF-8 with a byte-order mark (so Excel reads accents), CRLF rows, and text cells that a
spreadsheet would run as a formula (= + - @, or a leading tab or return) shown as text with a
leading apostrophe. Numbers stay numbers: -3 is a value, not an attack.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def csv_bytes(header: Iterable[object], rows: Iterable[Iterable[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
