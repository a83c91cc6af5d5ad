#!/usr/bin/env python3
"""Independent cross-check of `outcomes`' reconciliation.csv (SPEC §11).

Recomputes the reconciliation with the published national figures from the
program's cases.parquet, manifest.json (as_of, min_count, success_outcomes,
the published table when it names one), the published table and
rates.parquet, and compares it row by row with OUTPUT_DIR/reconciliation.csv
(UTF-8 with a BOM; columns year, quantity, published, computed, coverage,
status).

Written from SPEC.md alone, like rates.py: its author did not read the
program's src/, tests/ or fuzz/.

Usage:
    reconciliation.py OUTPUT_DIR [--published FILE] [--dump FILE.csv] [--dump-raw]
                      [--reintegration-success set] [--others published]
    reconciliation.py --self-test

The published table: --published, else the file the manifest names (a key
`published`, a string or an object with a `path`), else the program's copy,
reference/asp_national.csv.

Exit status: 0 when every row agrees, 1 on any mismatch (or when there is no
reconciliation.csv to compare with; --dump still writes the computed rows), 2
on usage errors.

Readings chosen where SPEC §11 is ambiguous (the developers should compare
their choices; [switch] marks the ones that can be flipped to test the other
reading):
 1. Rows: for every year of the rates table (earliest to latest year of
    opened/closed in the accepted cases) with A >= 31 December of the year,
    and every non-empty cell of that year in the published table, in the
    published table's column order; years of the published table outside
    the rates table give no row; a published year row missing for a year of
    the rates table gives none either.
 2. Counts are of accepted, deduplicated cases (not children): new = opened
    in the year; closed = closed in the year with any outcome, neutral
    included; prevention successful = closed in the year with an outcome of
    the pipeline's (possibly widened) prevention success set;
    reintegration_successful = closed in the year with `reunified` only,
    whatever the widened set [switch --reintegration-success set: the
    pipeline's reintegration success set].
 3. coverage = computed / published as a float; published = 0 -> no
    coverage (null).  Coverage printed with d decimals is accepted within
    half a unit of its last place.
 4. Suppression (suppressed_primary, computed and coverage empty): the count
    c is in 1..k-1, or |c - D| is in 1..k-1 for some other count D of the
    same case type and year, where D ranges over
      - the computed counts of the other quantities of that case type that
        have a row in this table for that year, whether or not those rows are
        suppressed themselves (a suppressed row's count is still known to
        the program; the rule stays free of circularity) [switch
        --others published: only those rows that are not suppressed for their
        own size];
      - the numerator and the denominator of the national (BG) rows of the
        rates table with status ok of the same year for the measures of that
        case type: prevention_closed and prevention_12m for prevention;
        reintegration_closed, reintegration_12m and
        reintegration_sustained_12m for reintegration (out_of_region_placement
        mixes both case types and children_served has none, so neither is
        used).  Denominator - numerator of a rates row is not taken as a
        published count of its own.
    The agency's own published values are not taken as "published national
    counts" here (their difference from ours is coverage, not a group of our
    children).  The difference is taken in absolute value.
    Otherwise status `ok`.
 5. The file: UTF-8 with BOM, header exactly year,quantity,published,
    computed,coverage,status; empty fields for the missing values.  Row order
    is reported, not judged.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xc_common import (  # noqa: E402
    NATIONAL, REPO, Check, Items, SelfTest, load_manifest, manifest_settings, mkcase, rates_table,
    read_parquet, small, table_years, year_ended,
)

QUANTITIES = {
    # quantity: (case type, kind)
    "prevention_new_cases": ("prevention", "new"),
    "prevention_closed_cases": ("prevention", "closed"),
    "prevention_closed_successfully": ("prevention", "successful"),
    "reintegration_new_cases": ("reintegration", "new"),
    "reintegration_successful": ("reintegration", "successful"),
}
RATES_OF_TYPE = {
    "prevention": ("prevention_closed", "prevention_12m"),
    "reintegration": ("reintegration_closed", "reintegration_12m", "reintegration_sustained_12m"),
}
COLUMNS = ["year", "quantity", "published", "computed", "coverage", "status"]


class UsageError(Exception):
    pass


def read_published(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][0].strip() != "year":
        raise UsageError(f"{path}: the first column must be `year`")
    head = [h.strip() for h in rows[0]]
    unknown = [h for h in head[1:] if h not in QUANTITIES]
    if unknown:
        raise UsageError(f"{path}: unknown columns {unknown}")
    out = []
    for line in rows[1:]:
        if not any(x.strip() for x in line):
            continue
        y = int(line[0])
        for h, v in zip(head[1:], line[1:]):
            if v.strip() != "":
                out.append((y, h, int(v)))
    return out, head[1:]


def computed_counts(cases, success, reint="reunified"):
    """{(quantity, year): count} for every year that has any."""
    out = {}

    def add(q, y):
        out[(q, y)] = out.get((q, y), 0) + 1

    for c in cases:
        t = c["case_type"]
        if t == "prevention":
            add("prevention_new_cases", c["opened"].year)
            if c["closed"] is not None:
                add("prevention_closed_cases", c["closed"].year)
                if c["outcome"] in success["prevention"]:
                    add("prevention_closed_successfully", c["closed"].year)
        elif t == "reintegration":
            add("reintegration_new_cases", c["opened"].year)
            if c["closed"] is not None:
                ok = c["outcome"] == "reunified" if reint == "reunified" else c["outcome"] in success["reintegration"]
                if ok:
                    add("reintegration_successful", c["closed"].year)
    return out


def compute(published, counts, years, as_of, k, rates_bg, others="all"):
    """published: [(year, quantity, value)]; rates_bg: {(measure, year): (status, num, den)}.
    Returns [{year, quantity, published, computed, coverage, status, why}] in table order."""
    yrs = {y for y in years if year_ended(y, as_of)}
    cells = [(y, q, v) for (y, q, v) in published if y in yrs]
    present = {(y, q) for y, q, _ in cells}
    rows = []
    for y, q, v in cells:
        ctype = QUANTITIES[q][0]
        c = counts.get((q, y), 0)
        why = ""
        if small(c, k):
            why = f"count in 1..{k - 1} [{c}]"
        else:
            for q2, (t2, _) in QUANTITIES.items():
                if q2 == q or t2 != ctype or (y, q2) not in present:
                    continue
                d = counts.get((q2, y), 0)
                if others == "published" and small(d, k):
                    continue
                if small(abs(c - d), k):
                    why = f"difference from {q2} in 1..{k - 1} [|{c} - {d}|]"
                    break
            if not why:
                for m in RATES_OF_TYPE[ctype]:
                    st, num, den = rates_bg.get((m, y), (None, None, None))
                    if st != "ok":
                        continue
                    for what, d in (("numerator", num), ("denominator", den)):
                        if d is not None and small(abs(c - d), k):
                            why = f"difference from the rates table's {m} {what} in 1..{k - 1} [|{c} - {d}|]"
                            break
                    if why:
                        break
        if why:
            rows.append(dict(year=y, quantity=q, published=v, computed=None, coverage=None,
                             status="suppressed_primary", why=why))
        else:
            rows.append(dict(year=y, quantity=q, published=v, computed=c,
                             coverage=(c / v if v != 0 else None), status="ok", why=""))
    return rows


def parse_tool_csv(path, chk):
    raw = open(path, "rb").read()
    if not raw.startswith(b"\xef\xbb\xbf"):
        chk.bad("reconciliation.csv", "encoding", "UTF-8 with a BOM", "no BOM", "§11")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        chk.bad("reconciliation.csv", "header", COLUMNS, "empty file")
        return []
    if rows[0] != COLUMNS:
        chk.bad("reconciliation.csv", "header", COLUMNS, rows[0], "§11 columns")
    idx = {h: i for i, h in enumerate(rows[0])}
    out = []
    for r in rows[1:]:
        if not any(r):
            continue
        out.append({h: (r[idx[h]] if h in idx and idx[h] < len(r) else "") for h in COLUMNS})
    if "\r\n" in text:
        chk.choice("line ends", "CRLF")
    else:
        chk.choice("line ends", "LF")
    return out


def compare(exp, got, chk):
    g = {}
    order = []
    for r in got:
        try:
            key = (int(r["year"]), r["quantity"])
        except ValueError:
            chk.bad(r, "year", "an integer", r["year"])
            continue
        if key in g:
            chk.bad(key, "row", "unique", "duplicate")
        g[key] = r
        order.append(key)
    e = {(r["year"], r["quantity"]): r for r in exp}
    for key in sorted(set(e) - set(g)):
        chk.bad(key, "row", "present", "missing", "every ended year x non-empty published cell")
    for key in sorted(set(g) - set(e)):
        chk.bad(key, "row", "absent", "present", "not an ended year of the rates table with a published cell")
    exp_order = [(r["year"], r["quantity"]) for r in exp if (r["year"], r["quantity"]) in g]
    chk.choice("row order", "year, then published column order" if order == exp_order else "other")
    for key in sorted(set(e) & set(g)):
        x, y = e[key], g[key]
        if y["status"] != x["status"]:
            chk.bad(key, "status", x["status"], y["status"], x["why"] or f"computed {x['computed']}")
        if y["published"].strip() == "" or int(y["published"]) != x["published"]:
            chk.bad(key, "published", x["published"], y["published"])
        if x["status"] != "ok" or y["status"] != x["status"]:
            if y["status"] != "ok":
                for f in ("computed", "coverage"):
                    if y[f].strip() != "":
                        chk.bad(key, f, "", y[f], "suppressed rows carry no computed value or coverage")
            continue
        if y["computed"].strip() == "" or int(y["computed"]) != x["computed"]:
            chk.bad(key, "computed", x["computed"], y["computed"])
        cov = y["coverage"].strip()
        if x["coverage"] is None:
            if cov != "":
                chk.bad(key, "coverage", "", cov, "published 0: no coverage")
            continue
        if cov == "":
            chk.bad(key, "coverage", x["coverage"], "")
            continue
        try:
            v = float(cov)
        except ValueError:
            chk.bad(key, "coverage", x["coverage"], cov, "not a number")
            continue
        dec = len(cov.split(".", 1)[1]) if "." in cov and "e" not in cov.lower() else None
        chk.choice("coverage decimals", dec if dec is not None and dec < 12 else "full precision")
        tol = max(1e-9, 0.5 * 10 ** -dec + 1e-12) if dec is not None and dec < 12 else 1e-9
        if abs(v - x["coverage"]) > tol:
            chk.bad(key, "coverage", x["coverage"], cov, f"computed/published, tolerance {tol:g}")


def published_from_manifest(manifest):
    p = manifest.get("published")
    if isinstance(p, dict):
        p = p.get("path") or p.get("file")
    if isinstance(p, str) and p:
        return p
    for i in manifest.get("inputs", []) if isinstance(manifest.get("inputs"), list) else []:
        if isinstance(i, dict) and i.get("role") == "published" and i.get("path"):
            return i["path"]
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output_dir", nargs="?")
    ap.add_argument("--published")
    ap.add_argument("--as-of")
    ap.add_argument("--min-count", type=int)
    ap.add_argument("--dump", help="write the computed rows to this CSV")
    ap.add_argument("--dump-raw", action="store_true", help="keep the counts in the dump's reasons (not publishable)")
    ap.add_argument("--reintegration-success", choices=["reunified", "set"], default="reunified")
    ap.add_argument("--others", choices=["all", "published"], default="all")
    ap.add_argument("--self-test", action="store_true")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    if a.self_test:
        return self_test()
    if not a.output_dir:
        ap.print_usage(sys.stderr)
        return 2
    chk = Check()
    try:
        manifest = load_manifest(a.output_dir)
        as_of, k, success = manifest_settings(manifest, a.as_of, a.min_count)
        src = a.published or published_from_manifest(manifest) or os.path.join(REPO, "reference", "asp_national.csv")
        published, cols = read_published(src)
    except (OSError, KeyError, ValueError, UsageError) as e:
        print(f"reconciliation.py: {e}", file=sys.stderr)
        return 2
    chk.notes.append(f"published table: {src}")
    try:
        cases = read_parquet(os.path.join(a.output_dir, "cases.parquet"))
    except OSError as e:
        print(f"reconciliation.py: {e}", file=sys.stderr)
        return 2
    years = table_years(cases)
    rates_path = os.path.join(a.output_dir, "rates.parquet")
    if os.path.exists(rates_path):
        rates = read_parquet(rates_path)
        rates_bg = {(r["measure"], r["year"]): (r["status"], r["numerator"], r["denominator"])
                    for r in rates if r["region"] == NATIONAL}
        ry = sorted({r["year"] for r in rates})
        if ry and ry != years:
            chk.notes.append(f"warning: rates.parquet years {ry[0]}..{ry[-1]} differ from the cases' "
                             f"{years[0]}..{years[-1]}; using the rates table's")
            years = ry
    else:
        chk.notes.append("warning: no rates.parquet; the rates table is recomputed here")
        rt = rates_table(Items(cases, success), as_of, k)
        rates_bg = {(m, y): v for (m, r, y), v in rt.items() if r == NATIONAL}
    counts = computed_counts(cases, success, a.reintegration_success)
    exp = compute(published, counts, years, as_of, k, rates_bg, a.others)
    if a.dump:
        with open(a.dump, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS + ["reason"])
            for r in exp:
                w.writerow([r["year"], r["quantity"], r["published"], "" if r["computed"] is None else r["computed"],
                            "" if r["coverage"] is None else repr(r["coverage"]), r["status"],
                            r["why"] if a.dump_raw else re.sub(r" ?\[[^\]]*\]", "", r["why"])])
    print(f"outcomes reconciliation cross-check: {a.output_dir}")
    print(f"  cases: {len(cases)}   as_of: {as_of}   min_count: {k}   rows expected: {len(exp)} "
          f"({sum(r['status'] == 'ok' for r in exp)} ok)")
    path = os.path.join(a.output_dir, "reconciliation.csv")
    if not os.path.exists(path):
        chk.report("  (reconciliation.csv not found: nothing to compare)", compared=False)
        print("NOT COMPARED: OUTPUT_DIR has no reconciliation.csv" + (f"; rows written to {a.dump}" if a.dump else ""))
        return 1
    compare(exp, parse_tool_csv(path, chk), chk)
    return chk.report("comparison with reconciliation.csv:")


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------
def self_test():
    t = SelfTest()
    mkcase.n = 0
    k = 5
    as_of = date(2025, 6, 30)
    success = {"prevention": {"stayed_with_family"}, "reintegration": {"reunified", "kinship_care"}}
    cases = []

    def prev(n, year, outcome=None, closed_year=None, tag="p"):
        for i in range(n):
            cy = closed_year if closed_year is not None else year
            cases.append(mkcase(f"{tag}{year}-{outcome}-{cy}-{i}", "VAR", "prevention", f"{year}-02-01",
                                f"{cy}-06-01" if outcome else None, outcome))

    def reint(n, year, outcome=None, tag="r"):
        for i in range(n):
            cases.append(mkcase(f"{tag}{year}-{outcome}-{i}", "DOB", "reintegration", f"{year}-02-01",
                                f"{year}-06-01" if outcome else None, outcome))

    # 2020 prevention: 30 opened; 20 of them closed in 2020: 10 stayed_with_family, 10 foster_care.
    prev(10, 2020, "stayed_with_family"); prev(10, 2020, "foster_care"); prev(10, 2020)
    # 2021 prevention: 8 opened and closed in 2021: 6 stayed, 1 other (neutral), 1 foster_care.
    prev(6, 2021, "stayed_with_family"); prev(1, 2021, "other"); prev(1, 2021, "foster_care")
    # 2022 prevention: 40 opened and closed: 20 stayed, 17 foster_care, 3 transferred (neutral).
    prev(20, 2022, "stayed_with_family"); prev(17, 2022, "foster_care"); prev(3, 2022, "transferred")
    # 2022 reintegration: 15 opened and closed: 9 reunified, 1 kinship_care, 5 remained_in_care.
    reint(9, 2022, "reunified"); reint(1, 2022, "kinship_care"); reint(5, 2022, "remained_in_care")
    # 2025 (not ended by the as-of date): 7 prevention cases opened.
    prev(7, 2025)
    counts = computed_counts(cases, success)
    # Hand counts:
    want = {("prevention_new_cases", 2020): 30, ("prevention_closed_cases", 2020): 20,
            ("prevention_closed_successfully", 2020): 10,
            ("prevention_new_cases", 2021): 8, ("prevention_closed_cases", 2021): 8,
            ("prevention_closed_successfully", 2021): 6,
            ("prevention_new_cases", 2022): 40, ("prevention_closed_cases", 2022): 40,
            ("prevention_closed_successfully", 2022): 20,
            ("reintegration_new_cases", 2022): 15, ("reintegration_successful", 2022): 9,
            ("prevention_new_cases", 2025): 7}
    for key, v in want.items():
        t.eq(f"count {key}", counts.get(key, 0), v)
    t.eq("reintegration_successful with the widened set", computed_counts(cases, success, "set")
         [("reintegration_successful", 2022)], 10)

    years = table_years(cases)
    t.eq("table years", years, [2020, 2021, 2022, 2023, 2024, 2025])
    rt = rates_table(Items(cases, success), as_of, k)
    rates_bg = {(m, y): v for (m, r, y), v in rt.items() if r == NATIONAL}
    # The national rates rows used (by hand):
    #   prevention_closed 2020 10/20 ok; 2021 6/7 suppressed (den-num 1); 2022 20/37 ok
    #   prevention_12m    2020 10/30 ok; 2021 6/7 suppressed; 2022 20/37 ok
    #   reintegration_closed 2022 10/15 ok (widened set); reintegration_12m 2022 9/15 ok;
    #   reintegration_sustained_12m 2022 9/9 ok
    for key, v in {("prevention_closed", 2020): ("ok", 10, 20), ("prevention_closed", 2021): ("suppressed_primary", 6, 7),
                   ("prevention_closed", 2022): ("ok", 20, 37), ("prevention_12m", 2020): ("ok", 10, 30),
                   ("prevention_12m", 2022): ("ok", 20, 37), ("reintegration_closed", 2022): ("ok", 10, 15),
                   ("reintegration_12m", 2022): ("ok", 9, 15),
                   ("reintegration_sustained_12m", 2022): ("ok", 9, 9)}.items():
        t.eq(f"rates {key}", rates_bg[key], v)
    published = [
        (2019, "prevention_new_cases", 100),            # not a year of the rates table -> no row
        (2020, "prevention_new_cases", 3000), (2020, "prevention_closed_cases", 40),
        (2020, "prevention_closed_successfully", 10),
        (2021, "prevention_new_cases", 800), (2021, "prevention_closed_successfully", 600),
        (2022, "prevention_closed_cases", 80), (2022, "prevention_closed_successfully", 25),
        (2022, "reintegration_new_cases", 30), (2022, "reintegration_successful", 0),
        (2025, "prevention_new_cases", 70),             # 2025 has not ended -> no row
    ]
    rows = compute(published, counts, years, as_of, k, rates_bg)
    got = {(r["year"], r["quantity"]): r for r in rows}
    t.eq("row keys", sorted(got), sorted([(2020, "prevention_new_cases"), (2020, "prevention_closed_cases"),
                                         (2020, "prevention_closed_successfully"), (2021, "prevention_new_cases"),
                                         (2021, "prevention_closed_successfully"), (2022, "prevention_closed_cases"),
                                         (2022, "prevention_closed_successfully"),
                                         (2022, "reintegration_new_cases"), (2022, "reintegration_successful")]))
    expect = {
        # 2020: 30 / 20 / 10; differences 10, 20, 10; vs rates 10, 20, 30: nothing in 1..4 -> ok
        (2020, "prevention_new_cases"): ("ok", 30, 0.01),
        (2020, "prevention_closed_cases"): ("ok", 20, 0.5),
        (2020, "prevention_closed_successfully"): ("ok", 10, 1.0),
        # 2021: new 8 vs successfully 6: difference 2 -> both suppressed (the two unsuccessful or
        # neutral cases would show); prevention_closed_cases has no row, so it is not a 'D'; the
        # rates rows of 2021 are suppressed, so they are not either.
        (2021, "prevention_new_cases"): ("suppressed_primary", None, None),
        (2021, "prevention_closed_successfully"): ("suppressed_primary", None, None),
        # 2022: closed 40 vs prevention_closed's denominator 37: 3 neutral closures -> suppressed;
        # successfully 20 = the numerator 20 (difference 0), vs closed 40: 20 -> ok.
        (2022, "prevention_closed_cases"): ("suppressed_primary", None, None),
        (2022, "prevention_closed_successfully"): ("ok", 20, 0.8),
        # reintegration 2022: new 15 (vs 9: 6; vs 10, 15, 9, 15, 9, 9: 5, 0, 6 ...) -> ok, coverage .5;
        # successful 9 vs reintegration_closed's numerator 10 (widened set): 1 -> suppressed.
        (2022, "reintegration_new_cases"): ("ok", 15, 0.5),
        (2022, "reintegration_successful"): ("suppressed_primary", None, None),
    }
    for key, (st, c, cov) in expect.items():
        r = got[key]
        t.eq(f"{key} status", r["status"], st)
        t.eq(f"{key} computed", r["computed"], c)
        t.eq(f"{key} coverage", r["coverage"], cov)
    # With the default success set, reintegration_closed's numerator is 9 = the count: ok.
    s2 = {"prevention": {"stayed_with_family"}, "reintegration": {"reunified"}}
    rt2 = rates_table(Items(cases, s2), as_of, k)
    rows2 = compute(published, computed_counts(cases, s2), years, as_of, k,
                    {(m, y): v for (m, r, y), v in rt2.items() if r == NATIONAL})
    r = {(x["year"], x["quantity"]): x for x in rows2}[(2022, "reintegration_successful")]
    t.eq("default set: reintegration_successful ok", r["status"], "ok")
    t.eq("published 0 -> no coverage", r["coverage"], None)

    # The CSV comparison itself: a hand-written file with one wrong row and a rounded coverage.
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "reconciliation.csv")
        lines = ["year,quantity,published,computed,coverage,status"]
        for r in rows:
            lines.append(f"{r['year']},{r['quantity']},{r['published']},"
                         f"{'' if r['computed'] is None else r['computed']},"
                         f"{'' if r['coverage'] is None else format(r['coverage'], '.4f')},{r['status']}")
        with open(p, "wb") as f:
            f.write(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode())
        chk = Check()
        compare(rows, parse_tool_csv(p, chk), chk)
        t.eq("own rows written to CSV agree", chk.mismatches, [])
        lines[1] = lines[1].replace(",30,", ",31,")
        with open(p, "wb") as f:
            f.write(("\n".join(lines) + "\n").encode())
        chk = Check()
        compare(rows, parse_tool_csv(p, chk), chk)
        t.eq("a wrong count and a missing BOM are found", len(chk.mismatches), 2)
    end_to_end(t, cases, success, as_of, k, published, rows)
    return t.done("reconciliation")


def end_to_end(t, cases, success, as_of, k, published, rows):
    """main() on a fake OUTPUT_DIR whose reconciliation.csv holds this script's own rows
    (coverage printed with 6 decimals): exit 0; one wrong status: exit 1; a published
    table with an unknown column: exit 2."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        print("  (pyarrow not installed: end-to-end comparison not exercised)")
        return
    import contextlib
    import tempfile
    from xc_common import write_fake_output
    with tempfile.TemporaryDirectory() as d:
        write_fake_output(d, cases, as_of, k, success)
        pub = os.path.join(d, "published.csv")
        cols = list(QUANTITIES)
        by = {}
        for y, q, v in published:
            by.setdefault(y, {})[q] = v
        with open(pub, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["year"] + cols)
            for y in sorted(by):
                w.writerow([y] + [by[y].get(q, "") for q in cols])

        def write(rs):
            with open(os.path.join(d, "reconciliation.csv"), "w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(COLUMNS)
                for r in rs:
                    w.writerow([r["year"], r["quantity"], r["published"],
                                "" if r["computed"] is None else r["computed"],
                                "" if r["coverage"] is None else f"{r['coverage']:.6f}", r["status"]])

        # the rows in published-column order, as compute() gives them for this file
        exp = compute(read_published(pub)[0], computed_counts(cases, success), table_years(cases), as_of, k,
                      {(m, y): v for (m, r, y), v in rates_table(Items(cases, success), as_of, k).items()
                       if r == NATIONAL})
        t.eq("end to end: same rows as the self-test", sorted((r["year"], r["quantity"], r["status"]) for r in exp),
             sorted((r["year"], r["quantity"], r["status"]) for r in rows))
        write(exp)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = main([d, "--published", pub])
        t.eq("end to end: own rows agree (exit 0)", rc, 0)
        if rc:
            print(out.getvalue())
        bad = [dict(r) for r in exp]
        i = next(j for j, r in enumerate(bad) if r["status"] == "ok")
        bad[i]["status"] = "suppressed_primary"
        write(bad)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = main([d, "--published", pub])
        t.eq("end to end: a wrong status (exit 1)", rc, 1)
        with open(pub, "a", encoding="utf-8") as f:
            f.write("")
        with open(os.path.join(d, "odd.csv"), "w", encoding="utf-8") as f:
            f.write("year,prevention_new_cases,foster_days\n2020,1,2\n")
        with contextlib.redirect_stderr(io.StringIO()):
            t.eq("end to end: an unknown published column (exit 2)",
                 main([d, "--published", os.path.join(d, "odd.csv")]), 2)


if __name__ == "__main__":
    sys.exit(main())
