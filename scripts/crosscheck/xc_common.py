"""Shared helpers for the independent cross-checks of SPEC §10 (programmes.py),
§11 (reconciliation.py) and the §6/§7 funnel column (funnel.py).

Written from SPEC.md alone (never from the program's src/, tests/ or fuzz/), in
the manner of rates.py, whose definitions of §4 it mirrors (first_key, the
measures, the Wilson interval, the as-of rules).  rates.py aggregates counts
per (region, year); the programme rules need to know *which case decides*
each counted item, so the measures are recomputed here item by item:

    item = (deciding case index, success flag)   for the rate measures
    item = (deciding case index, None)           for children_served

grouped per national cell (measure, year) and per regional cell
(measure, region, year).  A region's rates-table row counts the items of its
regional cell; the national row those of the national cell.  Summing items
gives exactly rates.py's counts (checked in the self-tests when rates.py can
be imported, i.e. when pyarrow is installed).

pyarrow is imported lazily, so every --self-test runs on the standard library.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import defaultdict
from datetime import date
from statistics import NormalDist

# ---------------------------------------------------------------------------
# SPEC §2 / §4 constants (same values as rates.py)
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
RATE_MEASURES = [m for m in MEASURES if m != "children_served"]
COHORT_MEASURES = {"prevention_12m", "reintegration_12m", "reintegration_sustained_12m"}
NATIONAL = "BG"
WINDOW = 365
Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
TOL = 1e-9
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SUPPRESSED = ("suppressed_primary", "suppressed_secondary")


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
def wilson(x: int, n: int, z: float = Z95):
    """95% Wilson score interval (no continuity correction), as in rates.py."""
    p = x / n
    z2 = z * z
    den = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_diff(x1, n1, x2, n2, z: float = Z95):
    """Newcombe (1998) method 10: hybrid score interval for p1 - p2 from the two
    Wilson intervals (l_i, u_i):
        L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)
    """
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def wald_did(a, b, c, d, z: float = Z95):
    """Difference in differences (pa - ca) - (pb - cb) from four (x, n) pairs:
    a = programme in the period, b = comparison in the period,
    c = programme before, d = comparison before.  Wald: estimate
    +- z * sqrt(sum p(1-p)/n), not clipped."""
    ps = [x / n for x, n in (a, b, c, d)]
    est = (ps[0] - ps[1]) - (ps[2] - ps[3])
    var = sum(p * (1 - p) / n for p, (_, n) in zip(ps, (a, b, c, d)))
    se = math.sqrt(var)
    return est, est - z * se, est + z * se


def small(v, k):
    return v is not None and 1 <= v <= k - 1


def primary(num, den, k, count_only=False):
    """SPEC §5 primary rule; count_only for children_served (den is None)."""
    if count_only:
        return small(num, k)
    return small(num, k) or small(den, k) or small(den - num, k)


# ---------------------------------------------------------------------------
# As-of rules
# ---------------------------------------------------------------------------
def cohort_complete(y: int, as_of: date) -> bool:
    """§4: a cohort year is complete only when A >= 31 December of Y+1."""
    return as_of >= date(y + 1, 12, 31)


def year_ended(y: int, as_of: date) -> bool:
    """'years that ended by the as-of date': A >= 31 December of Y (the last
    day of Y counts as ended, in the same sense as §4's A >= 31 Dec Y+1)."""
    return as_of >= date(y, 12, 31)


def complete_for(measure: str, y: int, as_of: date) -> bool:
    return cohort_complete(y, as_of) if measure in COHORT_MEASURES else year_ended(y, as_of)


# ---------------------------------------------------------------------------
# §4 measures, item by item
# ---------------------------------------------------------------------------
def first_key(case, by="opened"):
    """SPEC §4 'first': earliest opened (or closed), then case pseudonym, then source and line."""
    return (
        case[by],
        case["case"] is None,
        case["case"] or "",
        case["source"] or "",
        case["source_line"] or 0,
    )


class Items:
    """nat[m][y] -> list of (idx, success); reg[m][(region, y)] -> list of (idx, success)."""

    def __init__(self, cases, success, years=None):
        self.cases = cases
        self.success = success
        if years is None:
            years = table_years(cases)
        self.years = years
        self.nat = {m: defaultdict(list) for m in MEASURES}
        self.reg = {m: defaultdict(list) for m in MEASURES}
        self.by_child = defaultdict(list)
        for i, c in enumerate(cases):
            self.by_child[c["child"]].append(i)
        self._closed("prevention_closed", "prevention")
        self._closed("reintegration_closed", "reintegration")
        self._cohort("prevention_12m", "prevention", lambda o: o in success["prevention"])
        # SPEC §4: "that case closed `reunified`" -- literally, not the widened set (as rates.py)
        self._cohort("reintegration_12m", "reintegration", lambda o: o == "reunified")
        self._sustained()
        self._out_of_region()
        self._served()

    def _add(self, m, y, region, idx, succ):
        self.nat[m][y].append((idx, succ))
        self.reg[m][(region, y)].append((idx, succ))

    def _closed(self, m, ctype):
        for i, c in enumerate(self.cases):
            if c["case_type"] != ctype or c["closed"] is None or c["outcome"] in NEUTRAL:
                continue
            self._add(m, c["closed"].year, c["region"], i, c["outcome"] in self.success[ctype])

    def _firsts(self, pred, by):
        """first case per (child, year) nationally and per (child, region, year)."""
        fn, fr = {}, {}
        for i, c in enumerate(self.cases):
            if not pred(c):
                continue
            y = c[by].year
            for d, key in ((fn, (c["child"], y)), (fr, (c["child"], c["region"], y))):
                if key not in d or first_key(c, by) < first_key(self.cases[d[key]], by):
                    d[key] = i
        return fn, fr

    def _cohort(self, m, ctype, is_success):
        fn, fr = self._firsts(lambda c: c["case_type"] == ctype, "opened")

        def judge(i):
            c = self.cases[i]
            if c["closed"] is not None and c["outcome"] in NEUTRAL:
                return None  # the child leaves the cohort
            return (c["closed"] is not None and is_success(c["outcome"])
                    and (c["closed"] - c["opened"]).days <= WINDOW)

        for (child, y), i in fn.items():
            s = judge(i)
            if s is not None:
                self.nat[m][y].append((i, s))
        for (child, r, y), i in fr.items():
            s = judge(i)
            if s is not None:
                self.reg[m][(r, y)].append((i, s))

    def reentered(self, i):
        c = self.cases[i]
        for j in self.by_child[c["child"]]:
            o = self.cases[j]
            if o["case_type"] == "reintegration":
                d = o["opened"]
            elif o["case_type"] == "prevention" and o["closed"] is not None and o["outcome"] in PLACEMENT:
                d = o["closed"]
            else:
                continue
            if 1 <= (d - c["closed"]).days <= WINDOW:
                return True
        return False

    def _sustained(self):
        m = "reintegration_sustained_12m"
        fn, fr = self._firsts(lambda c: c["case_type"] == "reintegration" and c["closed"] is not None
                              and c["outcome"] == "reunified", "closed")
        for (child, y), i in fn.items():
            self.nat[m][y].append((i, not self.reentered(i)))
        for (child, r, y), i in fr.items():
            self.reg[m][(r, y)].append((i, not self.reentered(i)))

    def _out_of_region(self):
        m = "out_of_region_placement"
        for i, c in enumerate(self.cases):
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
            self._add(m, y, c["region"], i, c["placement_region"] != c["region"])

    def _served(self):
        """per (child, Y): the earliest-opened case open in Y decides (ties as §4)."""
        m = "children_served"
        last_year = max(self.years)
        fn, fr = {}, {}
        for i, c in enumerate(self.cases):
            last = c["closed"].year if c["closed"] is not None else last_year
            for y in range(c["opened"].year, last + 1):
                for d, key in ((fn, (c["child"], y)), (fr, (c["child"], c["region"], y))):
                    if key not in d or first_key(c) < first_key(self.cases[d[key]]):
                        d[key] = i
        for (child, y), i in fn.items():
            self.nat[m][y].append((i, None))
        for (child, r, y), i in fr.items():
            self.reg[m][(r, y)].append((i, None))


def count(items, measure):
    """(numerator, denominator) of a list of items; children_served: (count, None)."""
    if measure == "children_served":
        return len(items), None
    return sum(1 for _, s in items if s), len(items)


def size_of(num, den, measure):
    return num if measure == "children_served" else den


def table_years(cases):
    ys = [c["opened"].year for c in cases] + [c["closed"].year for c in cases if c["closed"] is not None]
    return list(range(min(ys), max(ys) + 1))


def rates_table(items: Items, as_of: date, k: int):
    """§4–§5 rates table {(measure, region, year): (status, num, den)} for BG and
    every region of the cases (the same rules as rates.py, recomputed here so
    the self-tests need no pyarrow)."""
    regions = sorted({c["region"] for c in items.cases})
    out = {}
    for m in MEASURES:
        for y in items.years:
            for r in [NATIONAL] + regions:
                its = items.nat[m].get(y, []) if r == NATIONAL else items.reg[m].get((r, y), [])
                num, den = count(its, m)
                if m in COHORT_MEASURES and not cohort_complete(y, as_of):
                    st = "incomplete"
                elif size_of(num, den, m) == 0:
                    st = "no_data"
                elif primary(num, den, k, m == "children_served"):
                    st = "suppressed_primary"
                else:
                    st = "ok"
                out[(m, r, y)] = (st, num, den)
            prim = [r for r in regions if out[(m, r, y)][0] == "suppressed_primary"]
            if len(prim) == 1:
                oks = sorted((size_of(out[(m, r, y)][1], out[(m, r, y)][2], m), r)
                             for r in regions if out[(m, r, y)][0] == "ok")
                if oks:
                    st, num, den = out[(m, oks[0][1], y)]
                    out[(m, oks[0][1], y)] = ("suppressed_secondary", num, den)
    return out


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
def read_parquet(path):
    import pyarrow.parquet as pq  # lazy: self-tests need no pyarrow
    return pq.read_table(path).to_pylist()


def load_manifest(output_dir):
    with open(os.path.join(output_dir, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def manifest_settings(manifest, as_of=None, min_count=None):
    as_of = date.fromisoformat(str(as_of or manifest["as_of"])[:10])
    k = int(min_count if min_count is not None else manifest.get("min_count", 5))
    so = manifest.get("success_outcomes") or {}
    success = {"prevention": set(so.get("prevention") or ["stayed_with_family"]),
               "reintegration": set(so.get("reintegration") or ["reunified"])}
    return as_of, k, success


def load_reference_csv(name):
    """reference/<name> of the repository (the spec's reference data)."""
    for base in (os.path.join(REPO, "reference"),
                 os.path.normpath(os.path.join(REPO, "..", "shared", "reference"))):
        p = os.path.join(base, name)
        if os.path.exists(p):
            with open(p, encoding="utf-8-sig") as f:
                return list(csv.DictReader(f))
    return None


def feq(a, b, tol=TOL):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


class Check:
    """Accumulates mismatches and 'choices' (what the program did where the spec is open)."""

    def __init__(self):
        self.mismatches = []
        self.choices = defaultdict(lambda: defaultdict(int))
        self.notes = []

    def bad(self, key, field, expected, got, why=""):
        self.mismatches.append(f"{key}  {field}: expected {expected!r}, got {got!r}" + (f"  ({why})" if why else ""))

    def choice(self, what, value):
        self.choices[what][value] += 1

    def report(self, title, compared=True):
        print(title)
        for n in self.notes:
            print(f"  {n}")
        if self.choices:
            print("  choices observed where the spec is open:")
            for what, c in self.choices.items():
                print(f"    - {what}: " + ", ".join(f"{v} x{n}" for v, n in sorted(c.items(), key=lambda t: -t[1])))
        if not compared:
            return 1
        if self.mismatches:
            print(f"FAIL: {len(self.mismatches)} mismatches")
            for line in self.mismatches[:2000]:
                print("  " + line)
            if len(self.mismatches) > 2000:
                print(f"  ... and {len(self.mismatches) - 2000} more")
            return 1
        print("PASS: every row agrees")
        return 0


class SelfTest:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def eq(self, what, got, want, tol=None):
        ok = (abs(got - want) <= tol) if tol is not None else got == want
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"  FAIL {what}: got {got!r}, want {want!r}")

    def true(self, what, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"  FAIL {what} {detail}")

    def done(self, name):
        print(f"{name}: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def mkcase(child, region, ctype, opened, closed=None, outcome=None, office=None, source="src/a.csv",
           line=None, municipality=None, placement_region=None, case=None):
    """A cases.parquet-shaped record for hand-built fixtures."""
    mkcase.n += 1
    return {
        "child": child, "family": None, "case": case or f"{mkcase.n:032x}", "region": region,
        "municipality": municipality, "office": office if office is not None else source.split("/")[0],
        "case_type": ctype, "opened": date.fromisoformat(opened),
        "closed": date.fromisoformat(closed) if closed else None, "outcome": outcome,
        "placement_type": None, "placement_region": placement_region, "birth_year": None, "sex": None,
        "source": source, "source_line": line if line is not None else mkcase.n,
    }


mkcase.n = 0


def write_fake_output(d, cases, as_of, k, success, funnel=None, extra_manifest=None):
    """A fake OUTPUT_DIR for end-to-end self-tests (needs pyarrow): cases.parquet,
    manifest.json and a rates.parquet from rates_table(); `funnel`, a function
    (measure, region, year, status, num, den) -> class or None, adds that column."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rt = rates_table(Items(cases, success), as_of, k)
    pq.write_table(pa.Table.from_pylist(cases), os.path.join(d, "cases.parquet"))
    man = {"as_of": as_of.isoformat(), "min_count": k,
           "success_outcomes": {t: sorted(v) for t, v in success.items()}}
    man.update(extra_manifest or {})
    with open(os.path.join(d, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(man, f)
    rows = []
    for (m, r, y), (st, num, den) in rt.items():
        pub = st in ("ok", "no_data")
        rate = num / den if st == "ok" and m != "children_served" else None
        lo, hi = wilson(num, den) if rate is not None else (None, None)
        row = dict(measure=m, region=r, year=y, numerator=num if pub else None,
                   denominator=(den if pub else None) if m != "children_served" else None,
                   rate=rate, ci_low=lo, ci_high=hi, status=st)
        if funnel is not None:
            row["funnel"] = funnel(m, r, y, st, num, den)
        rows.append(row)
    schema = pa.schema([("measure", pa.string()), ("region", pa.string()), ("year", pa.int32()),
                        ("numerator", pa.int64()), ("denominator", pa.int64()), ("rate", pa.float64()),
                        ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("status", pa.string())]
                       + ([("funnel", pa.string())] if funnel is not None else []))
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), os.path.join(d, "rates.parquet"))
    return rt
