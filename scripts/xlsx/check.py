#!/usr/bin/env python3
"""rates.xlsx (SPEC §12) as openpyxl sees it, against rates.parquet and programmes.parquet.

For each OUTPUT_DIR: opens OUTPUT_DIR/rates.xlsx with openpyxl (a reader other than the
one the Rust tests use) and checks, cell by cell:

- one sheet per measure (SPEC §4's order), one per programme (the manifest's order), then
  the notes; every sheet name valid for Excel (at most 31 characters, none of []:*?/\\);
- every row of rates.parquet in its measure sheet (row: its region code in column A,
  Bulgaria first, then by code; columns: its year's group): an `ok` row's rate, interval
  ends and denominator (children_served: the count) as numbers equal to the Parquet values,
  with the number formats `0.0%` and `#,##0`; a suppressed row `◆` with a note and no number
  in its group; an incomplete row `…`; a no-data row `—` (and its denominator 0);
- every row of programmes.parquet on its programme's sheet, one line per programme row,
  the comparison, difference and difference in differences beside it (differences formatted
  `+0.0%;-0.0%;0.0%`);
- fixed document properties: created at the manifest's as-of date, author `outcomes`.

Usage:
    python3 scripts/xlsx/check.py OUTPUT_DIR [OUTPUT_DIR ...]

Needs openpyxl and pyarrow. Exit status: 0 when every cell agrees, 1 on any mismatch,
2 on usage errors or a missing file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq

MEASURES = [
    "prevention_closed",
    "reintegration_closed",
    "prevention_12m",
    "reintegration_12m",
    "reintegration_sustained_12m",
    "out_of_region_placement",
    "children_served",
]
MARKERS = {
    "suppressed_primary": "◆",
    "suppressed_secondary": "◆",
    "incomplete": "…",
    "no_data": "—",
}
RATE, COUNT, DIFFERENCE = "0.0%", "#,##0", "+0.0%;-0.0%;0.0%"
# Layout (1-based, as openpyxl counts): a measure sheet's year row and first region row; a
# programme sheet's first line and each group's first column, width and value format.
YEAR_ROW, FIRST_REGION_ROW = 4, 6
FIRST_LINE_ROW = 13
PROGRAMME_GROUPS = [
    ("programme", 3, 4),
    ("comparison", 7, 4),
    ("difference", 11, 3),
    ("difference_in_differences", 14, 3),
]


class Checker:
    def __init__(self, out: Path):
        self.out = out
        self.problems: list[str] = []
        self.cells = 0

    def fail(self, message: str) -> None:
        if len(self.problems) < 50:
            print(f"MISMATCH {self.out.name}: {message}")
        self.problems.append(message)

    def group(self, ws, row, col, expected, formats, status, place):
        """A group of cells from (row, col): `expected` values with `formats`, or the marker."""
        marker = MARKERS.get(status)
        if status != "ok" and marker is None:
            self.fail(f"{place}: unknown status {status}")
            return
        for offset, (want, fmt) in enumerate(zip(expected, formats)):
            c = ws.cell(row=row, column=col + offset)
            self.cells += 1
            if marker is not None and offset == 0:
                if c.value != marker:
                    self.fail(f"{place}: {status} shows {c.value!r}, not {marker}")
                if status.startswith("suppressed") and (c.comment is None or not c.comment.text.strip()):
                    self.fail(f"{place}: a suppressed cell without a note")
                continue
            if marker is not None and status != "no_data":
                if c.value is not None:
                    self.fail(f"{place}: withheld ({status}) but cell {offset} holds {c.value!r}")
                continue
            if want is None:
                if c.value is not None:
                    self.fail(f"{place}: cell {offset} should be empty, holds {c.value!r}")
                continue
            if isinstance(c.value, bool) or not isinstance(c.value, (int, float)):
                self.fail(f"{place}: cell {offset} is {c.value!r}, not the number {want}")
                continue
            if not math.isclose(float(c.value), float(want), rel_tol=0, abs_tol=0):
                self.fail(f"{place}: cell {offset} is {c.value!r}, the Parquet file says {want!r}")
            if c.number_format != fmt:
                self.fail(f"{place}: cell {offset} has the format {c.number_format!r}, not {fmt!r}")


def rows_of(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def check_measures(ck: Checker, wb) -> None:
    rates = rows_of(ck.out / "rates.parquet")
    for index, code in enumerate(MEASURES):
        ws = wb.worksheets[index]
        count = code == "children_served"
        width = 1 if count else 4
        lines = []
        while isinstance(ws.cell(row=FIRST_REGION_ROW + len(lines), column=1).value, str):
            lines.append(ws.cell(row=FIRST_REGION_ROW + len(lines), column=1).value)
        if not lines or lines[0] != "BG" or lines[1:] != sorted(lines[1:]):
            ck.fail(f"{code}: regions are not Bulgaria then by code: {lines[:5]}…")
        years = {}
        col = 3
        while isinstance(ws.cell(row=YEAR_ROW, column=col).value, (int, float)):
            years[int(ws.cell(row=YEAR_ROW, column=col).value)] = col
            col += width
        for r in (r for r in rates if r["measure"] == code):
            place = f"{ws.title} {r['region']} {r['year']}"
            if r["region"] not in lines or r["year"] not in years:
                ck.fail(f"{place}: no cell for the row")
                continue
            row = FIRST_REGION_ROW + lines.index(r["region"])
            if count:
                expected, formats = [r["numerator"]], [COUNT]
            else:
                expected = [r["rate"], r["ci_low"], r["ci_high"], r["denominator"]]
                formats = [RATE, RATE, RATE, COUNT]
            ck.group(ws, row, years[r["year"]], expected, formats, r["status"], place)
        if len(lines) != len({r["region"] for r in rates if r["measure"] == code}):
            ck.fail(f"{code}: {len(lines)} lines for the regions of the table")


def check_programmes(ck: Checker, wb, described: list[dict]) -> None:
    path = ck.out / "programmes.parquet"
    if not described:
        return
    rows = rows_of(path)
    for index, programme in enumerate(described):
        ws = wb.worksheets[len(MEASURES) + index]
        if ws.cell(row=2, column=2).value != programme["name"]:
            ck.fail(f"sheet {ws.title}: names {ws.cell(row=2, column=2).value!r}, not {programme['name']}")
        if ws.cell(row=1, column=1).value != programme["title"]:
            ck.fail(f"sheet {ws.title}: the title is not the programme's")
        start = ws.cell(row=7, column=2).value
        if not isinstance(start, datetime) or start.date().isoformat() != programme["start"]:
            ck.fail(f"sheet {ws.title}: start {start!r}, not {programme['start']}")
        own = [r for r in rows if r["programme"] == programme["name"]]
        key = lambda r: (r["measure"], r["year"], r["period"])
        by_key = {(r["group"],) + key(r): r for r in own}
        lines = [r for r in own if r["group"] == "programme"]
        for n, line in enumerate(lines):
            row = FIRST_LINE_ROW + n
            shown = ws.cell(row=row, column=2).value
            if line["year"] is not None and shown != line["year"]:
                ck.fail(f"{ws.title} line {n}: year {shown!r}, not {line['year']}")
            if line["period"] is not None and not isinstance(shown, str):
                ck.fail(f"{ws.title} line {n}: {shown!r} is not a period")
            for group, col, width in PROGRAMME_GROUPS:
                place = f"{ws.title} {group} {key(line)}"
                r = by_key.get((group,) + key(line))
                if r is None:
                    for c in range(col, col + width):
                        if ws.cell(row=row, column=c).value is not None:
                            ck.fail(f"{place}: no such row, but the cells hold numbers")
                    continue
                if width == 3:
                    expected, formats = [r["rate"], r["ci_low"], r["ci_high"]], [DIFFERENCE] * 3
                elif r["measure"] == "children_served":
                    expected, formats = [r["numerator"], None, None, None], [COUNT, RATE, RATE, COUNT]
                else:
                    expected = [r["rate"], r["ci_low"], r["ci_high"], r["denominator"]]
                    formats = [RATE, RATE, RATE, COUNT]
                ck.group(ws, row, col, expected, formats, r["status"], place)
        placed = sum(1 for line in lines for g, _, _ in PROGRAMME_GROUPS if (g,) + key(line) in by_key)
        if placed != len(own):
            ck.fail(f"{ws.title}: {len(own) - placed} programme rows have no line")


def check(out: Path) -> Checker:
    ck = Checker(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(out / "rates.xlsx")
    described = manifest.get("programmes", [])
    reconciliation = list(csv.reader(io.StringIO((out / "reconciliation.csv").read_text(encoding="utf-8-sig"))))[1:]
    extra = 1 if reconciliation else 0
    if len(wb.worksheets) != len(MEASURES) + len(described) + extra + 1:
        ck.fail(f"{len(wb.worksheets)} sheets: {wb.sheetnames}")
        return ck
    for name in wb.sheetnames:
        if len(name) > 31 or any(ch in name for ch in "[]:*?/\\"):
            ck.fail(f"sheet name {name!r} is not valid in Excel")
    props = wb.properties
    as_of = date.fromisoformat(manifest["as_of"])
    if props.created is None or props.created.date() != as_of or props.creator != "outcomes":
        ck.fail(f"document properties: created {props.created}, author {props.creator!r}")
    check_measures(ck, wb)
    check_programmes(ck, wb, described)
    if reconciliation:
        check_reconciliation(ck, wb.worksheets[len(MEASURES) + len(described)], reconciliation)
    return ck


def check_reconciliation(ck, ws, rows):
    """The Reconciliation sheet: reconciliation.csv's rows from row 5, numbers as numbers, a
    withheld count as the marker without a number."""
    for i, (year, _quantity, published, computed, coverage, status) in enumerate(rows):
        r = 5 + i
        got = [ws.cell(row=r, column=c).value for c in (1, 3, 4, 5)]
        if got[0] != int(year) or got[1] != int(published):
            ck.fail(f"{ws.title} row {r}: {got[:2]} against {year}, {published}")
        if status == "ok":
            if got[2] != int(computed) or (coverage and abs(got[3] - float(coverage)) > 5e-5):
                ck.fail(f"{ws.title} row {r}: {got[2:]} against {computed}, {coverage}")
        elif got[2] != "◆" or got[3] != "◆":
            ck.fail(f"{ws.title} row {r}: a withheld count shows {got[2:]}")


def main(argv: list[str]) -> int:
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__)
        return 2
    failed = False
    for arg in argv:
        out = Path(arg)
        if not (out / "rates.xlsx").is_file() or not (out / "rates.parquet").is_file():
            print(f"{out}: no rates.xlsx or rates.parquet", file=sys.stderr)
            return 2
        ck = check(out)
        if ck.problems:
            failed = True
            print(f"rates.xlsx in {out}: {len(ck.problems)} mismatches in {ck.cells} cells")
        else:
            print(f"rates.xlsx in {out}: {ck.cells} cells agree with the Parquet files (openpyxl)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
