#!/usr/bin/env python3
"""Independent cross-check of the `outcomes` rates table.

Recomputes SPEC §4 (the seven measures) and §5 (disclosure control) from the
tool's own `cases.parquet` plus `manifest.json` (as_of, min_count,
success_outcomes) and compares every row with the tool's `rates.parquet`.

This file is deliberately written from the specification (SPEC.md) only: its author
did not read the tool's Rust sources or tests, so that a shared misreading of
the spec is the only way both can be wrong in the same way.

Usage:
    python3 scripts/crosscheck/rates.py OUTPUT_DIR [--as-of YYYY-MM-DD] [--min-count K]

Prints a summary, every mismatch, and the choices the tool made where the spec
is open. Exit status: 0 when everything that the spec fixes agrees, 1 on any
mismatch, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from statistics import NormalDist

import pyarrow.parquet as pq

# ---------------------------------------------------------------------------
# SPEC §2: canonical outcomes
# ---------------------------------------------------------------------------
NEUTRAL = {"transferred", "other"}
PLACEMENT = {"kinship_care", "foster_care", "residential_care", "institution", "adopted"}

MEASURES = [
    "prevention_closed",
    "reintegration_closed",
    "prevention_12m",
    "reintegration_12m",
    "reintegration_sustained_12m",
    "out_of_region_placement",
    "children_served",
]
COHORT_MEASURES = {"prevention_12m", "reintegration_12m", "reintegration_sustained_12m"}
NATIONAL = "BG"
WINDOW = 365
Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
TOL = 1e-9


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def wilson(x: int, n: int, z: float = Z95):
    """95% Wilson score interval for x successes out of n."""
    p = x / n
    z2 = z * z
    den = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def first_key(case, by="opened"):
    """SPEC §4 'first': earliest opened (or closed), then case pseudonym, then source and line."""
    return (
        case[by],
        case["case"] is None,  # spec silent on a missing case pseudonym; irrelevant after dedup
        case["case"] or "",
        case["source"] or "",
        case["source_line"] or 0,
    )


def days(a: date, b: date) -> int:
    return (b - a).days


# ---------------------------------------------------------------------------
# SPEC §4: measures.  Each returns {(region, year): (numerator, denominator)}
# with region NATIONAL included; children_served returns (count, None).
# ---------------------------------------------------------------------------
class Measures:
    def __init__(self, cases, success):
        self.cases = cases
        self.success = success  # {"prevention": set, "reintegration": set}
        self.by_child = defaultdict(list)
        for c in cases:
            self.by_child[c["child"]].append(c)

    @staticmethod
    def _both(c):
        """A case counts for its own region and for the nation."""
        return (c["region"], NATIONAL)

    def closed(self, case_type):
        out = defaultdict(lambda: [0, 0])
        for c in self.cases:
            if c["case_type"] != case_type or c["closed"] is None:
                continue
            if c["outcome"] in NEUTRAL:
                continue
            for r in self._both(c):
                cell = out[(r, c["closed"].year)]
                cell[1] += 1
                if c["outcome"] in self.success[case_type]:
                    cell[0] += 1
        return out

    def entry_cohort(self, case_type, is_success):
        """First case per (child, R, Y) by opened (BG: per (child, Y)); neutral first case leaves."""
        firsts = {}
        for c in self.cases:
            if c["case_type"] != case_type:
                continue
            for r in self._both(c):
                k = (c["child"], r, c["opened"].year)
                if k not in firsts or first_key(c) < first_key(firsts[k]):
                    firsts[k] = c
        out = defaultdict(lambda: [0, 0])
        for (child, r, y), c in firsts.items():
            if c["closed"] is not None and c["outcome"] in NEUTRAL:
                continue  # the child leaves the cohort
            cell = out[(r, y)]
            cell[1] += 1
            if c["closed"] is not None and is_success(c["outcome"]) and days(c["opened"], c["closed"]) <= WINDOW:
                cell[0] += 1
        return out

    def reentry_dates(self, child):
        ds = []
        for c in self.by_child[child]:
            if c["case_type"] == "reintegration":
                ds.append(c["opened"])
            elif c["case_type"] == "prevention" and c["closed"] is not None and c["outcome"] in PLACEMENT:
                ds.append(c["closed"])
        return ds

    def sustained(self):
        firsts = {}
        for c in self.cases:
            if c["case_type"] != "reintegration" or c["closed"] is None or c["outcome"] != "reunified":
                continue
            for r in self._both(c):
                k = (c["child"], r, c["closed"].year)
                if k not in firsts or first_key(c, "closed") < first_key(firsts[k], "closed"):
                    firsts[k] = c
        out = defaultdict(lambda: [0, 0])
        for (child, r, y), c in firsts.items():
            cell = out[(r, y)]
            cell[1] += 1
            reentered = any(1 <= days(c["closed"], d) <= WINDOW for d in self.reentry_dates(child))
            if not reentered:
                cell[0] += 1
        return out

    def out_of_region(self):
        out = defaultdict(lambda: [0, 0])
        for c in self.cases:
            if c["placement_region"] is None:
                continue
            if c["case_type"] == "prevention":
                if c["closed"] is None or c["outcome"] not in PLACEMENT:
                    continue
                y = c["closed"].year
            elif c["case_type"] == "reintegration":
                y = c["opened"].year
            else:
                continue
            away = c["placement_region"] != c["region"]  # BG: each case against its own region
            for r in self._both(c):
                cell = out[(r, y)]
                cell[1] += 1
                cell[0] += away
        return out

    def children_served(self, years):
        sets = defaultdict(set)
        for c in self.cases:
            last = c["closed"].year if c["closed"] is not None else max(years)
            for y in range(c["opened"].year, last + 1):
                for r in self._both(c):
                    sets[(r, y)].add(c["child"])
        return {k: [len(v), None] for k, v in sets.items()}

    def all(self, years):
        return {
            "prevention_closed": self.closed("prevention"),
            "reintegration_closed": self.closed("reintegration"),
            "prevention_12m": self.entry_cohort(
                "prevention", lambda o: o in self.success["prevention"]),
            # SPEC: "closed `reunified`" (literally, not the widened success set)
            "reintegration_12m": self.entry_cohort("reintegration", lambda o: o == "reunified"),
            "reintegration_sustained_12m": self.sustained(),
            "out_of_region_placement": self.out_of_region(),
            "children_served": self.children_served(years),
        }


# ---------------------------------------------------------------------------
# SPEC §4–5: rows, statuses, suppression
# ---------------------------------------------------------------------------
def expected_table(cases, as_of, k, success):
    years_seen = [c["opened"].year for c in cases] + [c["closed"].year for c in cases if c["closed"]]
    years = list(range(min(years_seen), max(years_seen) + 1))
    regions = [NATIONAL] + sorted({c["region"] for c in cases})
    counts = Measures(cases, success).all(years)

    rows = {}
    for m in MEASURES:
        for r in regions:
            for y in years:
                num, den = counts[m].get((r, y), (0, 0 if m != "children_served" else None))
                size = num if m == "children_served" else den
                incomplete = m in COHORT_MEASURES and as_of < date(y + 1, 12, 31)
                if incomplete:
                    status = "incomplete"
                elif size == 0:
                    status = "no_data"
                else:
                    small = lambda v: 1 <= v <= k - 1
                    if m == "children_served":
                        prim = small(num)
                    else:
                        prim = small(num) or small(den) or small(den - num)
                    status = "suppressed_primary" if prim else "ok"
                rows[(m, r, y)] = {"num": num, "den": den, "size": size,
                                   "status": status, "incomplete": incomplete}

    # Secondary suppression per (measure, year), region rows only.
    for m in MEASURES:
        for y in years:
            regional = [(r, rows[(m, r, y)]) for r in regions if r != NATIONAL]
            prim = [r for r, row in regional if row["status"] == "suppressed_primary"]
            if len(prim) != 1:
                continue
            oks = sorted((row["size"], r) for r, row in regional if row["status"] == "ok")
            if oks:
                rows[(m, oks[0][1], y)]["status"] = "suppressed_secondary"
    return rows, years, regions


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------
def feq(a, b):
    return a is not None and b is not None and abs(a - b) <= TOL


def compare(exp, got, k, names):
    mismatches = []
    choices = defaultdict(Counter)

    def bad(key, field, e, g, why):
        mismatches.append(f"{key[0]:<28} {key[1]:<3} {key[2]}  {field}: expected {e!r}, got {g!r}  ({why})")

    dup = [key for key, n in Counter(got.keys()).items() if n > 1]
    for key in dup:
        bad(key, "key", "unique", "duplicate", "§6 one row per (measure, region, year)")

    got_map = {key: row for key, row in got.items()}
    for key in sorted(set(exp) - set(got_map)):
        bad(key, "row", "present", "missing", "§4 row for every measure × region × year")
    for key in sorted(set(got_map) - set(exp)):
        bad(key, "row", "absent", "present", "not in measures × (BG + regions in cases) × year range")

    compared = 0
    for key in sorted(set(exp) & set(got_map)):
        e, g = exp[key], got_map[key]
        compared += 1
        m = key[0]
        gnum, gden, grate, glo, ghi, gst = (g["numerator"], g["denominator"], g["rate"],
                                            g["ci_low"], g["ci_high"], g["status"])
        if names is not None and key[1] != NATIONAL:
            nb, ne = names.get(key[1], (None, None))
            if (g.get("region_name_bg"), g.get("region_name_en")) != (nb, ne):
                bad(key, "region_name", (nb, ne), (g.get("region_name_bg"), g.get("region_name_en")),
                    "reference/oblasts.csv")
        if key[1] == NATIONAL:
            choices["national row names"][(g.get("region_name_bg"), g.get("region_name_en"))] += 1

        est = e["status"]
        # --- incomplete cohort years -------------------------------------
        if e["incomplete"]:
            if est != gst:
                if e["size"] == 0 and gst == "no_data":
                    choices["incomplete year with empty cohort -> status"]["no_data"] += 1
                else:
                    bad(key, "status", est, gst, "§4 cohort year incomplete: A < 31 Dec Y+1")
                    continue
            else:
                if e["size"] == 0:
                    choices["incomplete year with empty cohort -> status"]["incomplete"] += 1
            if grate is not None:
                bad(key, "rate", None, grate, "§4 incomplete rows have no rate")
            choices["incomplete rows: ci"]["null" if glo is None and ghi is None else "shown"] += 1
            shown = gnum is not None or gden is not None
            choices["incomplete rows: counts"]["shown" if shown else "null"] += 1
            if shown:
                if gnum != e["num"] or gden != e["den"]:
                    bad(key, "counts(incomplete)", (e["num"], e["den"]), (gnum, gden),
                        "counts shown on an incomplete row differ from the cohort so far")
                small = lambda v: v is not None and 1 <= v <= k - 1
                if small(e["num"]) or small(e["den"]) or (e["den"] is not None and small(e["den"] - e["num"])):
                    choices["incomplete rows: counts shown that §5 would suppress"]["rows"] += 1
            continue

        if est != gst:
            bad(key, "status", est, gst,
                f"num={e['num']} den={e['den']} k={k}")
            continue

        # --- suppressed rows: keys only ----------------------------------
        if est.startswith("suppressed"):
            for f, v in (("numerator", gnum), ("denominator", gden), ("rate", grate),
                         ("ci_low", glo), ("ci_high", ghi)):
                if v is not None:
                    bad(key, f, None, v, "§5 suppressed rows have no counts, rate or interval")
            continue

        # --- no_data -----------------------------------------------------
        if est == "no_data":
            choices["no_data rows: (numerator, denominator)"][(gnum, gden)] += 1
            if gnum not in (0, None):
                bad(key, "numerator", "0 or null", gnum, "no_data")
            if m != "children_served" and gden not in (0, None):
                bad(key, "denominator", "0 or null", gden, "no_data")
            for f, v in (("rate", grate), ("ci_low", glo), ("ci_high", ghi)):
                if v is not None:
                    bad(key, f, None, v, "no rate exists for a zero denominator")
            continue

        # --- ok rows -----------------------------------------------------
        if m == "children_served":
            if gnum != e["num"]:
                bad(key, "numerator", e["num"], gnum, "§4 distinct children with a case open in Y")
            choices["children_served ok rows: denominator"][
                "null" if gden is None else ("= count" if gden == gnum else "other")] += 1
            choices["children_served ok rows: rate/ci"][
                "null" if grate is None and glo is None and ghi is None else "shown"] += 1
            continue
        if gnum != e["num"]:
            bad(key, "numerator", e["num"], gnum, "")
        if gden != e["den"]:
            bad(key, "denominator", e["den"], gden, "")
        if gnum != e["num"] or gden != e["den"]:
            continue
        rate = e["num"] / e["den"]
        if not feq(grate, rate):
            bad(key, "rate", rate, grate, "num/den")
        lo, hi = wilson(e["num"], e["den"])
        if not (feq(glo, lo) and feq(ghi, hi)):
            lo96, hi96 = wilson(e["num"], e["den"], 1.96)
            hint = "matches z=1.96" if feq(glo, lo96) and feq(ghi, hi96) else "Wilson 95%, z=1.95996"
            bad(key, "ci", (lo, hi), (glo, ghi), hint)
    return mismatches, choices, compared


def load_names(script_dir):
    path = os.path.normpath(os.path.join(script_dir, "..", "..", "reference", "oblasts.csv"))
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return {r["code"]: (r["name_bg"], r["name_en"]) for r in csv.DictReader(f)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output_dir")
    ap.add_argument("--as-of", help="override the manifest's as_of")
    ap.add_argument("--min-count", type=int, help="override the manifest's min_count")
    a = ap.parse_args(argv)

    with open(os.path.join(a.output_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    as_of = date.fromisoformat(a.as_of or manifest["as_of"])
    k = a.min_count if a.min_count is not None else int(manifest["min_count"])
    so = manifest.get("success_outcomes") or {}
    success = {"prevention": set(so.get("prevention") or ["stayed_with_family"]),
               "reintegration": set(so.get("reintegration") or ["reunified"])}

    cases = pq.read_table(os.path.join(a.output_dir, "cases.parquet")).to_pylist()
    rates = pq.read_table(os.path.join(a.output_dir, "rates.parquet")).to_pylist()

    warnings = []
    if any(c["region"] is None for c in cases):
        warnings.append("cases with null region")
    late = sum(1 for c in cases if c["opened"] > as_of or (c["closed"] and c["closed"] > as_of))
    if late:
        warnings.append(f"{late} cases with a date after as_of {as_of}")
    neutral_open = sum(1 for c in cases if c["closed"] is None and c["outcome"] is not None)
    if neutral_open:
        warnings.append(f"{neutral_open} open cases carry an outcome (treated as open)")

    exp, years, regions = expected_table(cases, as_of, k, success)
    got = {}
    dups = []
    for r in rates:
        key = (r["measure"], r["region"], r["year"])
        if key in got:
            dups.append(key)
        got[key] = r
    mismatches, choices, compared = compare(exp, got, k, load_names(os.path.dirname(os.path.abspath(__file__))))
    for key in dups:
        mismatches.append(f"{key}: duplicate row in rates.parquet")

    # Row order (SPEC §6 asks only for a fixed order): report what it is.
    order = [(r["measure"], r["region"], r["year"]) for r in rates]
    mi = {m: i for i, m in enumerate(MEASURES)}
    ri = {r: i for i, r in enumerate(regions)}
    if order == sorted(order, key=lambda t: (mi.get(t[0], 99), ri.get(t[1], 999), t[2])):
        choices["row order"]["measure (spec order), BG then region code, year"] += 1
    else:
        choices["row order"]["other"] += 1

    st_exp = Counter(v["status"] for v in exp.values())
    st_got = Counter(r["status"] for r in rates)
    print(f"outcomes rates cross-check: {a.output_dir}")
    print(f"  cases: {len(cases)}   as_of: {as_of}   min_count: {k}   success: "
          f"{sorted(success['prevention'])} / {sorted(success['reintegration'])}")
    print(f"  years {years[0]}..{years[-1]} ({len(years)}), regions {len(regions)} incl. BG, "
          f"measures {len(MEASURES)}")
    print(f"  rows expected {len(exp)}, rows in rates.parquet {len(rates)}, compared {compared}")
    print(f"  statuses expected: {dict(sorted(st_exp.items()))}")
    print(f"  statuses tool:     {dict(sorted(st_got.items()))}")
    for w in warnings:
        print(f"  warning: {w}")
    print("  choices observed where the spec is open:")
    for what, c in choices.items():
        print(f"    - {what}: " + ", ".join(f"{v} x{n}" for v, n in c.most_common()))
    if mismatches:
        print(f"FAIL: {len(mismatches)} mismatches")
        for line in mismatches:
            print("  " + line)
        return 1
    print("PASS: every row agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
