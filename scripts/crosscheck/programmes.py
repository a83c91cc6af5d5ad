#!/usr/bin/env python3
"""Independent cross-check of `outcomes`' programmes table (SPEC §10).

Recomputes programmes.parquet from the program's own cases.parquet,
manifest.json (as_of, min_count, success_outcomes), the pipeline file's
[[programmes]] entries and rates.parquet (whose region rows' statuses feed the
differencing rule), then compares it row by row with OUTPUT_DIR/programmes.parquet
(keys: programme, group, measure, year, period; fields: status, numerator,
denominator, rate, ci_low, ci_high, floats to 1e-9).

Written from SPEC.md alone, like rates.py: its author did not read the
program's src/, tests/ or fuzz/, so a shared misreading of the spec is the
only way both can be wrong in the same way.

Usage:
    programmes.py OUTPUT_DIR PIPELINE_TOML [--as-of D] [--min-count K]
                  [--dump FILE.csv] [--dump-raw] [--overlap-share row]
                  [--rates-clause-years inside]
    programmes.py --self-test

Exit status: 0 when every row agrees, 1 on any mismatch, 2 on usage or
configuration errors.  Without OUTPUT_DIR/programmes.parquet (the program does
not write it yet) the rows are computed, summarised and --dump'ed, and the
exit status is 1 ("nothing to compare").

--dump writes the computed rows (publishable columns plus a `reason` column
naming the rule that suppressed each row, without counts); --dump-raw adds
the unsuppressed counts (raw_numerator, raw_denominator, and the counts of
the group that triggered each rule in `reason`): NOT publishable, analysts
only.  The console output of mismatches does show counts (like rates.py's):
it is for whoever may read cases.parquet.

Readings chosen where SPEC §10 is ambiguous (the developers should compare
their choices with these; the two marked [switch] can be flipped on the
command line to test the other reading):

 1. Deciding case.  A programme/comparison row counts exactly the items of the
    national (BG) row whose deciding case is a member: cohort measures the
    child's first case of the national cohort (per child and year, over all
    regions), sustained the first reunification of the year, children_served
    the earliest-opened case open in the year, case-based measures each
    case.  So programme + comparison("rest") = national for every measure and
    year (asserted).  A child whose national deciding case is outside the
    programme does not count in the programme's row even if a later case of
    the same cohort year is inside.
 2. Membership is timeless: start/end only split years into periods; a member
    office's cases before the start are the programme's `before` rows.  Only
    the start/end *years* matter (the start year is wholly `during`, the end
    year wholly `during`).  `during` runs to the end year, or without `end` to
    the latest year of the rates table; years of the rates table only.
 3. Office matching: trim + lowercase on both sides (labels); an office value
    missing in cases.parquet falls back to the source name (§2 default).
    Sources match the part of `source` before the first '/', exactly.  Region
    codes are matched case-insensitively.  Municipalities: a code (VAR01), an
    EKATTE number, a unique name, or a name qualified by its oblast for the
    one duplicated name (Бяла): "Бяла (VAR)", "Бяла, VAR", "VAR/Бяла",
    "VAR:Бяла", "Бяла/VAR" (oblast as code or Bulgarian/English name).  The
    spec does not say how a qualified name is written.
 4. Year rows exist for every measure and every year of the rates table (the
    earliest to the latest year in opened/closed), for both groups, with §4's
    statuses: cohort years not complete are `incomplete` (no counts, no rate,
    no interval, never suppressed); denominator 0 (children_served: count 0)
    is `no_data` (counts 0 or null both accepted); then primary; else ok.
 5. Period rows (rate measures only): a period's years are those of the
    rates table in it; pooled over its complete years (cohort measures: A >=
    31 Dec Y+1; others: A >= 31 Dec Y); no complete year -> no row; pooled
    denominator 0 -> `no_data`.
 6. children_served rows: numerator = the count, denominator/rate/interval
    as the program's rates.parquet has them for children_served (observed
    and reported, not judged); no period rows, no difference rows.
 7. Difference rows exist per rate measure and period (not per year), iff
    the period has rows; year null.  DiD rows for `during` and `after` iff
    that period and `before` have rows.  Newcombe interval from the Wilson
    95% intervals (z = 1.959963984540054), DiD Wald interval not clipped to
    [-2, 2]; rate = the difference.  Status: ok if all source rows ok, else
    suppressed_secondary if any is suppressed, else no_data (so one
    `no_data` and one suppressed -> suppressed_secondary).
 8. Pair rule applies to every programme/comparison pair, also when the
    comparison is a list of regions (the spec states it generally).
 9. Differencing rule: "regions in which the programme has cases counted in
    that row" = regions (the case's `region`) of the row's deciding cases
    (denominator items; children_served: counted children).  inside = those
    items; outside = the items of that region's rates-table row that are not
    items of the programme's row, compared *by deciding case* (so outside =
    region row - inside, count by count; a child counted in the programme
    through a case in another region still counts as outside here when its
    case in this region decides the region's row).  Groups of 0 never trigger
    (0 is not in 1..k-1).  "that region's row in the rates table is
    suppressed": status suppressed_primary or suppressed_secondary in the
    program's rates.parquet (for a period row: in any year the period row
    pools [switch --rates-clause-years inside: only the pooled years in which
    the programme has items in that region]).  It applies to programme rows,
    and to comparison rows only when the comparison is a list of regions.
10. Overlap rule: two programmes "share cases" when some case of
    cases.parquet is a member of both [switch --overlap-share row: when their
    two rows have at least one deciding case in common].  For every measure
    and year/period, each direction (A minus B and B minus A: the items
    counted in one's row that are not counted in the other's row) is tested
    with the primary rule; a hit suppresses both programme rows (the pair
    rule then carries it to the comparisons).  Comparison rows are not
    tested against each other.  Period rows are paired by period name
    ("same ... period"), even though two programmes' `during` rows may pool
    different years (then A minus B also holds A's years that B's row does
    not pool).
11. Period rule: S = the pooled years whose year row (same programme, group,
    measure) ended suppressed (primary or secondary) after the year rows
    settled; if S is not empty, the sums over S of the counts (and per region
    of inside and outside) form a row that is tested with the primary rule
    and (where it applies to the group) the differencing rule, including its
    rates-table clause over the years of S.
12. Fixed point: primary first; then year rows (pair, differencing, overlap)
    repeated until nothing changes; then period rows (pair, differencing,
    overlap, period rule) repeated until nothing changes.  Only `ok` rows
    become suppressed_secondary.  The order within a phase cannot change the
    result (every rule only adds suppressions, and the period rule reads
    settled year rows).
13. reintegration_12m and reintegration_sustained_12m count `reunified` only
    even when the success set is widened, as rates.py reads §4.
14. The differencing rule's rates-table clause reads the statuses of the
    program's own rates.parquet (a warning is printed if they differ from
    §4–5 recomputed here; rates.py is the check for that table).  §5's
    secondary rule (one primary region -> the smallest ok region) is not
    applied to programme rows: §10's rules replace it.
15. Programme validation (exit 2 here, as the program checks it up front):
    name [a-z0-9-]+ and unique, at least one member list, listed sources
    among the pipeline's [[sources]] names, region and comparison codes among
    the 28 oblasts, municipalities resolvable, start a date, end >= start.
    A programme that matches no case or a listed office no case has is only
    a warning here (the program's run would fail or warn).
16. Not judged: row order (reported), the key-value metadata and the
    manifest entry (only checked to mention each programme's name).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tomllib
from collections import defaultdict
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xc_common import (  # noqa: E402
    COHORT_MEASURES, MEASURES, NATIONAL, RATE_MEASURES, SUPPRESSED, Check, Items, SelfTest,
    complete_for, count, feq, load_manifest, load_reference_csv, manifest_settings, mkcase,
    newcombe_diff, primary, rates_table, read_parquet, size_of, wald_did, wilson, write_fake_output,
)

GROUPS = ("programme", "comparison")
PERIODS = ("before", "during", "after")


class ConfigError(Exception):
    pass


# ---------------------------------------------------------------------------
# Programme definitions
# ---------------------------------------------------------------------------
def label(s):
    return s.strip().lower() if isinstance(s, str) else s


class Programme:
    def __init__(self, d, source_names, oblasts, munis):
        self.name = d.get("name")
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z0-9-]+", self.name):
            raise ConfigError(f"programme name {self.name!r} is not [a-z0-9-]+")
        self.title = d.get("title")
        self.offices = [label(o) for o in d.get("offices") or []]
        self.sources = list(d.get("sources") or [])
        self.regions = [str(r).strip().upper() for r in d.get("regions") or []]
        self.municipalities_raw = list(d.get("municipalities") or [])
        if not (self.offices or self.sources or self.regions or self.municipalities_raw):
            raise ConfigError(f"programme {self.name}: lists no offices, sources, regions or municipalities")
        for s in self.sources:
            if source_names is not None and s not in source_names:
                raise ConfigError(f"programme {self.name}: unknown source {s!r}")
        for r in self.regions:
            if oblasts is not None and r not in oblasts:
                raise ConfigError(f"programme {self.name}: unknown region code {r!r}")
        self.municipalities = [resolve_municipality(m, munis, oblasts, self.name) for m in self.municipalities_raw]
        self.start = to_date(d.get("start"), f"programme {self.name}: start")
        self.end = to_date(d.get("end"), f"programme {self.name}: end") if d.get("end") is not None else None
        if self.end is not None and self.end < self.start:
            raise ConfigError(f"programme {self.name}: end before start")
        comp = d.get("comparison", "rest")
        if comp == "rest":
            self.comparison = "rest"
        elif isinstance(comp, list) and comp:
            self.comparison = [str(r).strip().upper() for r in comp]
            for r in self.comparison:
                if oblasts is not None and r not in oblasts:
                    raise ConfigError(f"programme {self.name}: unknown comparison region {r!r}")
        else:
            raise ConfigError(f"programme {self.name}: comparison must be \"rest\" or a list of region codes")

    def member(self, c):
        office = c["office"] if c["office"] is not None else (c["source"] or "").split("/", 1)[0]
        return (label(office) in self.offices
                or (c["source"] or "").split("/", 1)[0] in self.sources
                or (c["region"] or "") in self.regions
                or (c["municipality"] or "") in self.municipalities)

    def period_of(self, y, last_year):
        if y < self.start.year:
            return "before"
        end_year = self.end.year if self.end is not None else last_year
        return "during" if y <= end_year else "after"


def to_date(v, what):
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: {v!r} is not a date")


def resolve_municipality(m, munis, oblasts, pname):
    s = str(m).strip()
    if munis is None:
        return s.upper()
    codes = {r["code"].upper(): r for r in munis}
    if s.upper() in codes:
        return s.upper()
    by_ekatte = {r["ekatte"]: r["code"] for r in munis}
    if s in by_ekatte:
        return by_ekatte[s]

    def obl_code(t):
        t = t.strip()
        if oblasts is None:
            return t.upper()
        if t.upper() in oblasts:
            return t.upper()
        for code, (bg, en) in oblasts.items():
            if label(t) in (label(bg), label(en)):
                return code
        return None

    byname = defaultdict(list)
    for r in munis:
        byname[label(r["name_bg"])].append(r)
    if label(s) in byname:
        rows = byname[label(s)]
        if len(rows) == 1:
            return rows[0]["code"]
        raise ConfigError(f"programme {pname}: municipality {s!r} is ambiguous; qualify it by its oblast")
    for pat in (r"^(.*?)\s*\((.*)\)$", r"^(.*?)\s*,\s*(.*)$", r"^(.*?)\s*/\s*(.*)$", r"^(.*?)\s*:\s*(.*)$"):
        mm = re.match(pat, s)
        if not mm:
            continue
        for name, obl in ((mm.group(1), mm.group(2)), (mm.group(2), mm.group(1))):
            oc = obl_code(obl)
            if oc is None:
                continue
            for r in byname.get(label(name), []):
                if r["oblast"] == oc:
                    return r["code"]
    raise ConfigError(f"programme {pname}: unknown municipality {s!r}")


def load_programmes(toml_path):
    with open(toml_path, "rb") as f:
        cfg = tomllib.load(f)
    names = {s.get("name") for s in cfg.get("sources") or []}
    ob = load_reference_csv("oblasts.csv")
    oblasts = {r["code"]: (r["name_bg"], r["name_en"]) for r in ob} if ob else None
    munis = load_reference_csv("municipalities.csv")
    progs = [Programme(d, names, oblasts, munis) for d in cfg.get("programmes") or []]
    seen = set()
    for p in progs:
        if p.name in seen:
            raise ConfigError(f"programme name {p.name!r} used twice")
        seen.add(p.name)
    return progs


# ---------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------
class Row:
    __slots__ = ("key", "kind", "status", "reason", "num", "den", "years", "items", "inside", "group", "prog",
                 "measure", "rate", "lo", "hi")

    def __init__(self, key, kind):
        self.key = key
        self.kind = kind
        self.status = None
        self.reason = ""
        self.num = self.den = None
        self.years = []
        self.items = []
        self.inside = {}
        self.rate = self.lo = self.hi = None

    def suppress(self, why):
        if self.status == "ok":
            self.status = "suppressed_secondary"
            self.reason = why
            return True
        return False


class Engine:
    def __init__(self, cases, progs, as_of, k, success, rates_status, items=None,
                 overlap_share="programme", rates_clause_years="pooled"):
        self.cases = cases
        self.progs = progs
        self.as_of = as_of
        self.k = k
        self.items = items or Items(cases, success)
        self.years = self.items.years
        self.rates_status = rates_status  # {(measure, region, year): status}
        self.overlap_share = overlap_share
        self.rates_clause_years = rates_clause_years
        self.members = {}
        for p in progs:
            inp = [p.member(c) for c in cases]
            if p.comparison == "rest":
                comp = [not x for x in inp]
            else:
                cs = set(p.comparison)
                comp = [(not x) and c["region"] in cs for x, c in zip(inp, cases)]
            self.members[(p.name, "programme")] = inp
            self.members[(p.name, "comparison")] = comp
        self.rows = {}
        # regional rates-table counts, from the cases (the region row's own items)
        self.regc = {}
        for m in MEASURES:
            for (r, y), its in self.items.reg[m].items():
                self.regc[(m, r, y)] = count(its, m)
        self.share = {}
        for a in progs:
            for b in progs:
                if a.name < b.name:
                    ma, mb = self.members[(a.name, "programme")], self.members[(b.name, "programme")]
                    self.share[(a.name, b.name)] = any(x and y for x, y in zip(ma, mb))

    # -- row construction ------------------------------------------------
    def _fill(self, row, m, its):
        mem = self.members[(row.prog, row.group)]
        row.items = [it for it in its if mem[it[0]]]
        row.num, row.den = count(row.items, m)
        ins = defaultdict(list)
        for it in row.items:
            ins[self.cases[it[0]]["region"]].append(it)
        row.inside = {r: count(v, m) for r, v in ins.items()}

    def _status(self, row, m, incomplete=False):
        if incomplete:
            row.status, row.reason = "incomplete", "cohort year not complete"
        elif size_of(row.num, row.den, m) == 0:
            row.status, row.reason = "no_data", "empty"
        elif primary(row.num, row.den, self.k, m == "children_served"):
            row.status, row.reason = "suppressed_primary", f"primary [num={row.num} den={row.den}]"
        else:
            row.status = "ok"

    def build(self):
        last = max(self.years)
        for p in self.progs:
            for g in GROUPS:
                for m in MEASURES:
                    for y in self.years:
                        row = Row((p.name, g, m, y, None), "year")
                        row.prog, row.group, row.measure, row.years = p.name, g, m, [y]
                        self._fill(row, m, self.items.nat[m].get(y, []))
                        self._status(row, m, m in COHORT_MEASURES and not complete_for(m, y, self.as_of))
                        self.rows[row.key] = row
                for m in RATE_MEASURES:
                    for per in PERIODS:
                        ys = [y for y in self.years if p.period_of(y, last) == per and complete_for(m, y, self.as_of)]
                        if not ys:
                            continue
                        row = Row((p.name, g, m, None, per), "period")
                        row.prog, row.group, row.measure, row.years = p.name, g, m, ys
                        its = [it for y in ys for it in self.items.nat[m].get(y, [])]
                        self._fill(row, m, its)
                        self._status(row, m)
                        self.rows[row.key] = row
        self._sanity()

    def _sanity(self):
        """programme + comparison(rest) = national; inside ⊆ region row (by deciding case)."""
        for p in self.progs:
            for m in MEASURES:
                for y in self.years:
                    a = self.rows[(p.name, "programme", m, y, None)]
                    b = self.rows[(p.name, "comparison", m, y, None)]
                    nat = count(self.items.nat[m].get(y, []), m)
                    if p.comparison == "rest":
                        tot = (a.num + b.num, None if nat[1] is None else a.den + b.den)
                        assert tot == nat, ("programme + rest != national", p.name, m, y, tot, nat)
                    for row in (a, b):
                        for r in row.inside:
                            reg_idx = {i for i, _ in self.items.reg[m].get((r, y), [])}
                            mine = {i for i, _ in row.items if self.cases[i]["region"] == r}
                            assert mine <= reg_idx, ("inside not within the region row", p.name, m, y, r)

    # -- the rules --------------------------------------------------------
    def _diff_applies(self, row):
        if row.group == "programme":
            return True
        p = next(p for p in self.progs if p.name == row.prog)
        return p.comparison != "rest"

    def _differencing(self, row, years, inside):
        """inside: {region: (num, den)} summed over `years`.  Returns a reason or ''."""
        m = row.measure
        co = m == "children_served"
        for r in sorted(inside):
            inum, iden = inside[r]
            if size_of(inum, iden, m) == 0:
                continue
            ys = years
            if self.rates_clause_years == "inside" and len(years) > 1:
                ys = [y for y in years if self._inside_year(row, r, y)]
            for y in ys:
                st = self.rates_status.get((m, r, y))
                if st in SUPPRESSED:
                    return f"differencing: rates row {r} {y} is {st}"
            if primary(inum, iden, self.k, co):
                return f"differencing: inside {r} [num={inum} den={iden}]"
            rn = sum(self.regc.get((m, r, y), (0, None if co else 0))[0] for y in years)
            rd = None if co else sum(self.regc.get((m, r, y), (0, 0))[1] for y in years)
            onum, oden = rn - inum, (None if co else rd - iden)
            assert onum >= 0 and (co or oden >= 0)
            if primary(onum, oden, self.k, co):
                return f"differencing: outside {r} [num={onum} den={oden}]"
        return ""

    def _inside_year(self, row, r, y):
        yr = self.rows.get((row.prog, row.group, row.measure, y, None))
        return yr is not None and size_of(*yr.inside.get(r, (0, None if row.measure == "children_served" else 0)),
                                          row.measure) > 0

    def _overlap_partner_rows(self, row):
        """programme rows of other programmes sharing cases with this one, same measure and year/period."""
        if row.group != "programme":
            return []
        out = []
        for q in self.progs:
            if q.name == row.prog:
                continue
            other = self.rows.get((q.name, "programme", row.measure, row.key[3], row.key[4]))
            if other is None:
                continue
            a, b = sorted((row.prog, q.name))
            if self.overlap_share == "programme":
                if not self.share[(a, b)]:
                    continue
            else:
                if not ({i for i, _ in row.items} & {i for i, _ in other.items}):
                    continue
            out.append(other)
        return out

    def _overlap(self, row):
        m = row.measure
        co = m == "children_served"
        for other in self._overlap_partner_rows(row):
            for x, y in ((row, other), (other, row)):
                iny = {i for i, _ in y.items}
                rest = [it for it in x.items if it[0] not in iny]
                num, den = count(rest, m)
                if primary(num, den, self.k, co):
                    return f"overlap: {x.prog} minus {y.prog} [num={num} den={den}]"
        return ""

    def _period_rule(self, row):
        m = row.measure
        co = m == "children_served"
        S = [y for y in row.years if self.rows[(row.prog, row.group, m, y, None)].status in SUPPRESSED]
        if not S:
            return ""
        yrs = [self.rows[(row.prog, row.group, m, y, None)] for y in S]
        num = sum(r.num for r in yrs)
        den = None if co else sum(r.den for r in yrs)
        if primary(num, den, self.k, co):
            return f"period rule: suppressed years {S} together [num={num} den={den}]"
        if self._diff_applies(row):
            inside = defaultdict(lambda: [0, None if co else 0])
            for r in yrs:
                for reg, (a, b) in r.inside.items():
                    inside[reg][0] += a
                    if not co:
                        inside[reg][1] += b
            why = self._differencing(row, S, {r: tuple(v) for r, v in inside.items()})
            if why:
                return f"period rule: suppressed years {S} together: {why}"
        return ""

    def _settle(self, kind):
        rows = [r for r in self.rows.values() if r.kind == kind]
        changed = True
        while changed:
            changed = False
            for row in rows:
                if row.status != "ok":
                    continue
                g2 = "comparison" if row.group == "programme" else "programme"
                partner = self.rows[(row.prog, g2) + row.key[2:]]
                why = ""
                if partner.status in SUPPRESSED:
                    why = f"pair: {g2} row is {partner.status}"
                if not why and self._diff_applies(row):
                    why = self._differencing(row, row.years, row.inside)
                if not why:
                    why = self._overlap(row)
                if not why and kind == "period":
                    why = self._period_rule(row)
                if why and row.suppress(why):
                    changed = True

    def _publish(self, row):
        m = row.measure
        if row.status == "ok" and m != "children_served":
            row.rate = row.num / row.den
            row.lo, row.hi = wilson(row.num, row.den)

    def _differences(self):
        for p in self.progs:
            for m in RATE_MEASURES:
                for per in PERIODS:
                    a = self.rows.get((p.name, "programme", m, None, per))
                    b = self.rows.get((p.name, "comparison", m, None, per))
                    if a is None or b is None:
                        continue
                    row = Row((p.name, "difference", m, None, per), "diff")
                    row.prog, row.group, row.measure = p.name, "difference", m
                    self._combine(row, [a, b])
                    if row.status == "ok":
                        row.rate, row.lo, row.hi = newcombe_diff(a.num, a.den, b.num, b.den)
                    self.rows[row.key] = row
                for per in ("during", "after"):
                    srcs = [self.rows.get((p.name, g, m, None, q)) for q in (per, "before") for g in GROUPS]
                    if any(s is None for s in srcs):
                        continue
                    row = Row((p.name, "difference_in_differences", m, None, per), "did")
                    row.prog, row.group, row.measure = p.name, "difference_in_differences", m
                    self._combine(row, srcs)
                    if row.status == "ok":
                        row.rate, row.lo, row.hi = wald_did(*[(s.num, s.den) for s in srcs])
                    self.rows[row.key] = row

    @staticmethod
    def _combine(row, srcs):
        sts = [s.status for s in srcs]
        if all(s == "ok" for s in sts):
            row.status = "ok"
        elif any(s in SUPPRESSED for s in sts):
            row.status, row.reason = "suppressed_secondary", "difference needs every row published"
        else:
            row.status, row.reason = "no_data", "a source row has no data"

    def run(self):
        self.build()
        self._settle("year")
        self._settle("period")
        for row in self.rows.values():
            self._publish(row)
        self._differences()
        return self.rows


def ordered(rows, progs):
    gi = {g: i for i, g in enumerate(("programme", "comparison", "difference", "difference_in_differences"))}
    mi = {m: i for i, m in enumerate(MEASURES)}
    pi = {p.name: i for i, p in enumerate(progs)}
    per = {None: -1, "before": 0, "during": 1, "after": 2}
    return sorted(rows.values(), key=lambda r: (pi[r.key[0]], gi[r.key[1]], mi[r.key[2]],
                                                r.key[3] is None, r.key[3] or 0, per[r.key[4]]))


def published_values(row):
    """(numerator, denominator, rate, ci_low, ci_high) as the spec publishes them."""
    if row.kind in ("diff", "did"):
        return None, None, row.rate, row.lo, row.hi
    if row.status in SUPPRESSED or row.status == "incomplete":
        return None, None, None, None, None
    return row.num, row.den, row.rate, row.lo, row.hi


def dump(rows, progs, path, raw=False):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        head = ["programme", "group", "measure", "year", "period", "status", "numerator", "denominator", "rate",
                "ci_low", "ci_high", "reason"]
        if raw:
            head += ["raw_numerator", "raw_denominator"]
        w.writerow(head)
        for r in ordered(rows, progs):
            vals = published_values(r)
            reason = r.reason if raw else re.sub(r" ?\[[^\]]*\]", "", r.reason)
            line = list(r.key) + [r.status] + ["" if v is None else (repr(v) if isinstance(v, float) else v)
                                               for v in vals] + [reason]
            if raw:
                line += ["" if r.num is None else r.num, "" if r.den is None else r.den]
            w.writerow(["" if v is None else v for v in line])


# ---------------------------------------------------------------------------
# Comparison with the program's programmes.parquet
# ---------------------------------------------------------------------------
def compare(exp, got_rows, cs_conv, chk: Check):
    got = {}
    for g in got_rows:
        key = (g.get("programme"), g.get("group"), g.get("measure"), g.get("year"), g.get("period"))
        if key in got:
            chk.bad(key, "key", "unique", "duplicate", "one row per (programme, group, measure, year or period)")
        got[key] = g
    for key in sorted(set(exp) - set(got), key=str):
        chk.bad(key, "row", "present", "missing", exp[key].reason or exp[key].status)
    for key in sorted(set(got) - set(exp), key=str):
        chk.bad(key, "row", "absent", "present", "not a row of §10 as read here")
    for key in sorted(set(exp) & set(got), key=str):
        e, g = exp[key], got[key]
        if g.get("status") != e.status:
            chk.bad(key, "status", e.status, g.get("status"), e.reason)
            continue
        num, den, rate, lo, hi = published_values(e)
        gv = dict(numerator=g.get("numerator"), denominator=g.get("denominator"), rate=g.get("rate"),
                  ci_low=g.get("ci_low"), ci_high=g.get("ci_high"))
        if e.kind in ("diff", "did") or e.status in SUPPRESSED or e.status == "incomplete":
            for f, v in zip(("numerator", "denominator", "rate", "ci_low", "ci_high"), (num, den, rate, lo, hi)):
                if v is None and gv[f] is not None:
                    chk.bad(key, f, None, gv[f], f"{e.status} {e.kind} rows carry no {f}")
                elif v is not None and not feq(v, gv[f]):
                    chk.bad(key, f, v, gv[f])
            continue
        if e.status == "no_data":
            chk.choice("no_data rows: (numerator, denominator)", (gv["numerator"], gv["denominator"]))
            if gv["numerator"] not in (0, None) or gv["denominator"] not in (0, None):
                chk.bad(key, "counts", "0 or null", (gv["numerator"], gv["denominator"]), "no_data")
            for f in ("rate", "ci_low", "ci_high"):
                if gv[f] is not None:
                    chk.bad(key, f, None, gv[f], "no rate for an empty row")
            continue
        # ok rows
        if gv["numerator"] != num:
            chk.bad(key, "numerator", num, gv["numerator"])
        if e.measure == "children_served":
            shape = ("null" if gv["denominator"] is None else ("= count" if gv["denominator"] == num else "other"),
                     "null" if gv["rate"] is None and gv["ci_low"] is None else "shown")
            chk.choice("children_served ok rows (denominator, rate/ci)", shape)
            if cs_conv is not None and shape != cs_conv:
                chk.bad(key, "children_served shape", cs_conv, shape, "differs from rates.parquet's convention")
            continue
        if gv["denominator"] != den:
            chk.bad(key, "denominator", den, gv["denominator"])
        if gv["numerator"] != num or gv["denominator"] != den:
            continue
        for f, v in (("rate", rate), ("ci_low", lo), ("ci_high", hi)):
            if not feq(v, gv[f]):
                chk.bad(key, f, v, gv[f], "Wilson 95%" if f != "rate" else "num/den")


def rates_convention(rates):
    for r in rates:
        if r["measure"] == "children_served" and r["status"] == "ok" and r["region"] == NATIONAL:
            den = r.get("denominator")
            return ("null" if den is None else ("= count" if den == r.get("numerator") else "other"),
                    "null" if r.get("rate") is None and r.get("ci_low") is None else "shown")
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output_dir", nargs="?")
    ap.add_argument("pipeline", nargs="?")
    ap.add_argument("--as-of")
    ap.add_argument("--min-count", type=int)
    ap.add_argument("--dump", help="write the computed rows to this CSV")
    ap.add_argument("--dump-raw", action="store_true", help="add unsuppressed counts to the dump (not publishable)")
    ap.add_argument("--overlap-share", choices=["programme", "row"], default="programme")
    ap.add_argument("--rates-clause-years", choices=["pooled", "inside"], default="pooled")
    ap.add_argument("--self-test", action="store_true")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    if a.self_test:
        return self_test()
    if not a.output_dir or not a.pipeline:
        ap.print_usage(sys.stderr)
        print("programmes.py: OUTPUT_DIR and PIPELINE_TOML are required (or --self-test)", file=sys.stderr)
        return 2
    try:
        manifest = load_manifest(a.output_dir)
        as_of, k, success = manifest_settings(manifest, a.as_of, a.min_count)
        progs = load_programmes(a.pipeline)
    except (OSError, KeyError, ValueError, ConfigError, tomllib.TOMLDecodeError) as e:
        print(f"programmes.py: {e}", file=sys.stderr)
        return 2
    if not progs:
        print("programmes.py: the pipeline defines no [[programmes]]", file=sys.stderr)
        return 2
    try:
        cases = read_parquet(os.path.join(a.output_dir, "cases.parquet"))
    except OSError as e:
        print(f"programmes.py: {e}", file=sys.stderr)
        return 2
    rates_path = os.path.join(a.output_dir, "rates.parquet")
    chk = Check()
    items = Items(cases, success)
    mine = rates_table(items, as_of, k)
    if os.path.exists(rates_path):
        rates = read_parquet(rates_path)
        rst = {(r["measure"], r["region"], r["year"]): r["status"] for r in rates}
        differ = sum(1 for key, (st, _, _) in mine.items() if rst.get(key) != st)
        if differ:
            chk.notes.append(f"warning: {differ} rates.parquet statuses differ from §4–5 as recomputed here "
                             "(run rates.py); the program's statuses are used for the differencing rule")
        cs_conv = rates_convention(rates)
    else:
        chk.notes.append("warning: no rates.parquet; using recomputed rates statuses")
        rst = {key: st for key, (st, _, _) in mine.items()}
        cs_conv = None
    for p in progs:
        n = sum(p.member(c) for c in cases)
        if n == 0:
            chk.notes.append(f"warning: programme {p.name} matches no case (SPEC: an error in `run`)")
        for o in p.offices:
            if not any(label(c["office"]) == o for c in cases):
                chk.notes.append(f"warning: programme {p.name}: no case has office {o!r}")
    eng = Engine(cases, progs, as_of, k, success, rst, items=items,
                 overlap_share=a.overlap_share, rates_clause_years=a.rates_clause_years)
    rows = eng.run()
    if a.dump:
        dump(rows, progs, a.dump, a.dump_raw)
    stc = defaultdict(int)
    for r in rows.values():
        stc[(r.key[1], r.status)] += 1
    print(f"outcomes programmes cross-check: {a.output_dir}")
    print(f"  cases: {len(cases)}   as_of: {as_of}   min_count: {k}   programmes: "
          + ", ".join(f"{p.name} ({sum(eng.members[(p.name, 'programme')])} cases)" for p in progs))
    print(f"  rows computed: {len(rows)}   " + ", ".join(f"{g}/{s}: {n}" for (g, s), n in sorted(stc.items())))
    ppath = os.path.join(a.output_dir, "programmes.parquet")
    if not os.path.exists(ppath):
        chk.report("  (programmes.parquet not found: nothing to compare)", compared=False)
        print("NOT COMPARED: OUTPUT_DIR has no programmes.parquet" + (f"; rows written to {a.dump}" if a.dump else ""))
        return 1
    import pyarrow.parquet as pq
    meta = pq.read_schema(ppath).metadata or {}
    chk.choice("programmes.parquet key-value metadata keys", ", ".join(sorted(k.decode() for k in meta)) or "(none)")
    for p in progs:
        blob = b" ".join(list(meta.keys()) + list(meta.values()))
        if p.name.encode() not in blob:
            chk.notes.append(f"note: programme {p.name} not found in programmes.parquet key-value metadata (§10)")
        if p.name not in str(manifest):
            chk.notes.append(f"note: programme {p.name} not found in manifest.json (§10)")
    got_rows = read_parquet(ppath)
    order = [(g.get("programme"), g.get("group"), g.get("measure"), g.get("year"), g.get("period")) for g in got_rows]
    chk.choice("row order", "programme (pipeline order), group, measure (spec order), year rows then periods"
               if order == [r.key for r in ordered(rows, progs)] else "other")
    compare(rows, got_rows, cs_conv, chk)
    return chk.report("comparison with programmes.parquet:")


# ---------------------------------------------------------------------------
# Self-test: hand-built fixtures
# ---------------------------------------------------------------------------
class FakeProg(Programme):
    def __init__(self, name, start, end=None, offices=(), sources=(), regions=(), comparison="rest",
                 municipalities=()):
        self.name, self.title = name, name
        self.offices = [label(o) for o in offices]
        self.sources = list(sources)
        self.regions = list(regions)
        self.municipalities = list(municipalities)
        self.start = date.fromisoformat(start)
        self.end = date.fromisoformat(end) if end else None
        self.comparison = comparison


def closed_cases(year, region, office, succ, fail, child_prefix=None):
    """`succ` prevention cases closed stayed_with_family and `fail` closed foster_care in `year`,
    each a distinct child, opened on 1 March and closed on 1 June of `year`."""
    out = []
    pre = child_prefix or f"{region}-{office}-{year}"
    for i in range(succ + fail):
        out.append(mkcase(f"{pre}-{i}", region, "prevention", f"{year}-03-01", f"{year}-06-01",
                          "stayed_with_family" if i < succ else "foster_care", office=office,
                          source=f"{office.lower()}/export.csv"))
    return out


SUCCESS = {"prevention": {"stayed_with_family"}, "reintegration": {"reunified"}}
AS_OF = date(2025, 6, 30)


def run_fixture(cases, progs, k=5, **kw):
    items = Items(cases, SUCCESS)
    rt = rates_table(items, AS_OF, k)
    rst = {key: st for key, (st, _, _) in rt.items()}
    eng = Engine(cases, progs, AS_OF, k, SUCCESS, rst, items=items, **kw)
    return eng.run(), rt


def self_test():
    t = SelfTest()
    M = "prevention_closed"

    # -- Newcombe method 10 ---------------------------------------------------
    # Newcombe (1998), Stat Med 17:873-890, Table II, method 10, example (a):
    # 56/70 - 48/80 = 0.2000, interval 0.0524 to 0.3339.
    d, lo, hi = newcombe_diff(56, 70, 48, 80)
    t.eq("Newcombe 56/70-48/80 d", round(d, 4), 0.2)
    t.eq("Newcombe 56/70-48/80 lower", round(lo, 4), 0.0524)
    t.eq("Newcombe 56/70-48/80 upper", round(hi, 4), 0.3339)
    # By hand from the two Wilson intervals (z = 1.959964), written in the textbook form
    # (x + z^2/2)/(n + z^2) -+ z sqrt(n)/(n + z^2) sqrt(pq + z^2/4n):
    #   56/70: p=0.8, Wilson (0.691834, 0.876953);  48/80: p=0.6, Wilson (0.490455, 0.700382)
    #   L = 0.2 - sqrt((0.8-0.691834)^2 + (0.700382-0.6)^2) = 0.2 - sqrt(0.011700+0.010077) = 0.0524
    #   U = 0.2 + sqrt((0.876953-0.8)^2 + (0.6-0.490455)^2) = 0.2 + sqrt(0.005922+0.012000) = 0.3339
    l1, u1 = wilson(56, 70)
    l2, u2 = wilson(48, 80)
    t.eq("Wilson 56/70 low", round(l1, 6), 0.691834)
    t.eq("Wilson 56/70 high", round(u1, 6), 0.876953)
    t.eq("Wilson 48/80 low", round(l2, 6), 0.490455)
    t.eq("Wilson 48/80 high", round(u2, 6), 0.700382)
    # Further examples of Newcombe's Table II (method 10), each also checked
    # against statsmodels below when it is installed:
    for (x1, n1, x2, n2), (wl, wh) in {
        (9, 10, 3, 10): (0.1705, 0.8090),
        (6, 7, 2, 7): (0.0582, 0.8062),
        (5, 56, 0, 29): (-0.0381, 0.1926),
        (0, 10, 0, 20): (-0.1611, 0.2775),
        (0, 10, 0, 10): (-0.2775, 0.2775),
        (10, 10, 0, 20): (0.6791, 1.0000),
        (10, 10, 0, 10): (0.6075, 1.0000),
    }.items():
        _, lo, hi = newcombe_diff(x1, n1, x2, n2)
        t.eq(f"Newcombe {x1}/{n1}-{x2}/{n2} lower", round(lo, 4), wl)
        t.eq(f"Newcombe {x1}/{n1}-{x2}/{n2} upper", round(hi, 4), wh)
    try:
        from statsmodels.stats.proportion import confint_proportions_2indep
        grid = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (0, 10, 0, 20),
                (10, 10, 0, 20), (1, 1, 0, 1), (17, 23, 40, 41), (300, 1000, 280, 1000), (3, 500, 7, 400)]
        for x1, n1, x2, n2 in grid:
            slo, shi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
            _, lo, hi = newcombe_diff(x1, n1, x2, n2)
            t.eq(f"statsmodels newcomb {x1}/{n1}-{x2}/{n2} low", lo, float(slo), 1e-9)
            t.eq(f"statsmodels newcomb {x1}/{n1}-{x2}/{n2} high", hi, float(shi), 1e-9)
    except ImportError:
        print("  (statsmodels not installed: Newcombe checked against the published values only)")

    # -- Wald DiD by hand -----------------------------------------------------
    # programme during 30/40 = .75, comparison during 30/60 = .5, programme before 20/40 = .5,
    # comparison before 30/60 = .5:  DiD = (.75-.5) - (.5-.5) = .25
    # var = .75*.25/40 + .5*.5/60 + .5*.5/40 + .5*.5/60
    #     = 0.0046875 + 0.00416667 + 0.00625 + 0.00416667 = 0.01927083;  se = 0.13881943
    # interval .25 -+ 1.959964 * 0.13881943 = .25 -+ 0.27208108 = (-0.02208108, 0.52208108)
    est, lo, hi = wald_did((30, 40), (30, 60), (20, 40), (30, 60))
    t.eq("DiD estimate", est, 0.25, 1e-12)
    t.eq("DiD lower", lo, -0.02208108, 1e-8)
    t.eq("DiD upper", hi, 0.52208108, 1e-8)

    # -- suppression fixtures (k = 5, prevention_closed in 2020 unless said) ----
    def st(rows, prog, group, year=2020, period=None, m=M):
        return rows[(prog, group, m, year, period)].status

    # F1 primary + pair.  Programme = region VAR: 3 successes of 10 closed (num 3 in 1..4 ->
    # suppressed_primary).  The rest (DOB 20/30) is fine on its own, but national - programme
    # would give it away -> comparison suppressed_secondary (pair).
    cases = closed_cases(2020, "VAR", "O1", 3, 7) + closed_cases(2020, "DOB", "O2", 20, 10)
    rows, _ = run_fixture(cases, [FakeProg("f1", "2020-01-01", regions=["VAR"])])
    t.eq("F1 programme primary", st(rows, "f1", "programme"), "suppressed_primary")
    t.eq("F1 comparison pair", st(rows, "f1", "comparison"), "suppressed_secondary")
    t.true("F1 pair reason", rows[("f1", "comparison", M, 2020, None)].reason.startswith("pair"))
    t.eq("F1 difference (during) suppressed", rows[("f1", "difference", M, None, "during")].status,
         "suppressed_secondary")

    # F2 differencing, inside.  Programme = office O1 (VAR, 3 cases: 2 ok + 1 fail) + region DOB
    # (20/30).  The programme row 22/33 passes primary, but programme - DOB's published row
    # = the 3 VAR cases -> programme suppressed_secondary (inside VAR den 3); comparison
    # (VAR O3 10/20 + SML 15/25) by the pair rule.  VAR's rates row (12/23) is ok.
    cases = (closed_cases(2020, "VAR", "O1", 2, 1) + closed_cases(2020, "VAR", "O3", 10, 10)
             + closed_cases(2020, "DOB", "O2", 20, 10) + closed_cases(2020, "SML", "O4", 15, 10))
    rows, rt = run_fixture(cases, [FakeProg("f2", "2020-01-01", offices=["o1 "], regions=["DOB"])])
    t.eq("F2 VAR rates row ok", rt[(M, "VAR", 2020)][0], "ok")
    t.eq("F2 programme differencing inside", st(rows, "f2", "programme"), "suppressed_secondary")
    t.true("F2 reason", "inside VAR" in rows[("f2", "programme", M, 2020, None)].reason,
           rows[("f2", "programme", M, 2020, None)].reason)
    t.eq("F2 comparison pair", st(rows, "f2", "comparison"), "suppressed_secondary")

    # F3 differencing, outside.  Programme = office O1 in VAR (20/30); VAR's other office O2
    # has 2 cases (1/2): VAR's published row minus the programme = 2 cases -> suppressed.
    cases = (closed_cases(2020, "VAR", "O1", 20, 10) + closed_cases(2020, "VAR", "O2", 1, 1)
             + closed_cases(2020, "DOB", "O5", 20, 20))
    rows, rt = run_fixture(cases, [FakeProg("f3", "2020-01-01", offices=["O1"])])
    t.eq("F3 programme differencing outside", st(rows, "f3", "programme"), "suppressed_secondary")
    t.true("F3 reason", "outside VAR" in rows[("f3", "programme", M, 2020, None)].reason)
    t.eq("F3 comparison pair", st(rows, "f3", "comparison"), "suppressed_secondary")

    # F4 differencing, rates-table row suppressed.  Regions: DOB 2/3 (primary in the rates
    # table), VAR 20/30 (the smallest ok region -> suppressed_secondary in the rates table),
    # SML 20/40, BGS 30/50.  Programme = region VAR: inside 20/30 and outside 0 are fine, but
    # its row equals VAR's secondary-suppressed cell -> suppressed_secondary.
    cases = (closed_cases(2020, "DOB", "D", 2, 1) + closed_cases(2020, "VAR", "V", 20, 10)
             + closed_cases(2020, "SML", "S", 20, 20) + closed_cases(2020, "BGS", "B", 30, 20))
    rows, rt = run_fixture(cases, [FakeProg("f4", "2020-01-01", regions=["VAR"])])
    t.eq("F4 rates DOB primary", rt[(M, "DOB", 2020)][0], "suppressed_primary")
    t.eq("F4 rates VAR secondary", rt[(M, "VAR", 2020)][0], "suppressed_secondary")
    t.eq("F4 programme differencing rates", st(rows, "f4", "programme"), "suppressed_secondary")
    t.true("F4 reason", "rates row VAR 2020" in rows[("f4", "programme", M, 2020, None)].reason)
    # Control: the same programme on SML (its rates row is ok) stays ok.
    rows, _ = run_fixture(cases, [FakeProg("f4b", "2020-01-01", regions=["SML"])])
    t.eq("F4 control SML ok", st(rows, "f4b", "programme"), "ok")
    t.eq("F4 control comparison ok", st(rows, "f4b", "comparison"), "ok")

    # F5 overlap.  VAR offices O1 12/20, O2 2/3, O4 5/10.  A = [O1, O2] (14/23, outside 5/10),
    # B = [O1] (12/20, outside O2+O4 = 7/13): every primary and differencing test passes, but
    # A minus B = O2's 2/3 -> both A and B suppressed_secondary (overlap); their comparisons
    # (O4 5/10 and O2+O4 7/13 + DOB) follow by the pair rule.
    cases = (closed_cases(2020, "VAR", "O1", 12, 8) + closed_cases(2020, "VAR", "O2", 2, 1)
             + closed_cases(2020, "VAR", "O4", 5, 5) + closed_cases(2020, "DOB", "O9", 30, 20))
    A = FakeProg("a", "2020-01-01", offices=["O1", "O2"])
    B = FakeProg("b", "2020-01-01", offices=["O1"])
    rows, _ = run_fixture(cases, [A, B])
    t.eq("F5 A overlap", st(rows, "a", "programme"), "suppressed_secondary")
    t.eq("F5 B overlap", st(rows, "b", "programme"), "suppressed_secondary")
    t.true("F5 reason", rows[("a", "programme", M, 2020, None)].reason.startswith("overlap"))
    t.eq("F5 A comparison pair", st(rows, "a", "comparison"), "suppressed_secondary")
    # Control: each alone is ok.
    rows, _ = run_fixture(cases, [B])
    t.eq("F5 control B alone ok", st(rows, "b", "programme"), "ok")
    rows, _ = run_fixture(cases, [A])
    t.eq("F5 control A alone ok", st(rows, "a", "programme"), "ok")

    # F6 period rule.  Programme = office O1 in VAR, start 2019; VAR also has office O2.
    # (a) before = 2016..2018: O1 20/30 in 2016, 3/10 in 2017 (primary), 10/20 in 2018.
    #     The before row (33/60) passes primary and differencing, but before minus the
    #     published 2016 and 2018 rows = 2017's 3/10 -> suppressed_secondary (period rule);
    #     then comparison before (pair), difference before, DiD during.
    base = []
    for y in (2016, 2017, 2018, 2019, 2020):
        base += closed_cases(y, "VAR", "O2", 20, 20) + closed_cases(y, "DOB", "O7", 25, 25)
    o1 = {2016: (20, 10), 2017: (3, 7), 2018: (10, 10), 2019: (20, 20), 2020: (20, 20)}
    cases = list(base)
    for y, (s, f) in o1.items():
        cases += closed_cases(y, "VAR", "O1", s, f)
    P = FakeProg("f6", "2019-09-01", offices=["O1"])
    rows, _ = run_fixture(cases, [P])
    t.eq("F6a 2017 programme primary", st(rows, "f6", "programme", 2017), "suppressed_primary")
    t.eq("F6a 2016 programme ok", st(rows, "f6", "programme", 2016), "ok")
    t.eq("F6a before programme period rule", st(rows, "f6", "programme", None, "before"), "suppressed_secondary")
    t.true("F6a reason", rows[("f6", "programme", M, None, "before")].reason.startswith("period rule"),
           rows[("f6", "programme", M, None, "before")].reason)
    t.eq("F6a before comparison pair", st(rows, "f6", "comparison", None, "before"), "suppressed_secondary")
    t.eq("F6a during programme ok", st(rows, "f6", "programme", None, "during"), "ok")
    t.eq("F6a difference before", rows[("f6", "difference", M, None, "before")].status, "suppressed_secondary")
    t.eq("F6a difference during ok", rows[("f6", "difference", M, None, "during")].status, "ok")
    t.eq("F6a DiD during", rows[("f6", "difference_in_differences", M, None, "during")].status,
         "suppressed_secondary")
    # (b) 2017 and 2018 both 3/10 (both primary), 2016 20/30: the suppressed years together
    #     are 6/20 (passes), inside VAR 6/20, outside O2 40/80 (passes) -> before stays ok.
    cases = list(base)
    o1b = {**o1, 2018: (3, 7)}
    for y, (s, f) in o1b.items():
        cases += closed_cases(y, "VAR", "O1", s, f)
    rows, _ = run_fixture(cases, [P])
    t.eq("F6b 2018 programme primary", st(rows, "f6", "programme", 2018), "suppressed_primary")
    t.eq("F6b before programme ok", st(rows, "f6", "programme", None, "before"), "ok")
    t.eq("F6b before comparison ok", st(rows, "f6", "comparison", None, "before"), "ok")
    b = rows[("f6", "programme", M, None, "before")]
    t.eq("F6b before pooled counts", (b.num, b.den), (26, 50))
    # The DiD of (b), by hand: programme during 40/80 (.5), comparison during (2019+2020: O2 40/80 +
    # DOB 50/100 = 90/180, .5), programme before 26/50 (.52), comparison before (2016-18: 60/120 +
    # 75/150 = 135/270, .5):  DiD = (.5-.5) - (.52-.5) = -0.02.
    did = rows[("f6", "difference_in_differences", M, None, "during")]
    t.eq("F6b DiD status", did.status, "ok")
    t.eq("F6b DiD estimate", did.rate, -0.02, 1e-12)
    e, lo, hi = wald_did((40, 80), (90, 180), (26, 50), (135, 270))
    t.eq("F6b DiD interval", (did.lo, did.hi), (lo, hi))
    diff = rows[("f6", "difference", M, None, "before")]
    _, lo, hi = newcombe_diff(26, 50, 135, 270)
    t.eq("F6b difference before", (diff.rate, diff.lo, diff.hi), (26 / 50 - 0.5, lo, hi))
    # (d) the rates-table clause of a period row: O1 2017 is 20/30 now (no primary year);
    #     in 2018 SML has 2/3 (the only primary region of the rates table), so the smallest
    #     ok region, VAR (O1 10/20 + O2 20/40 = 30/60; DOB 55/110, BGS 50/100), is
    #     suppressed_secondary in the rates table -> the programme's 2018 row (differencing,
    #     rates clause) and its before row (the clause over any pooled year) are suppressed.
    cases = list(base) + closed_cases(2018, "SML", "S1", 2, 1) + closed_cases(2018, "BGS", "B1", 50, 50)
    for y, (s, f) in o1.items():
        if y != 2017:
            cases += closed_cases(y, "VAR", "O1", s, f)
    cases += closed_cases(2017, "VAR", "O1", 20, 10)
    cases += closed_cases(2018, "DOB", "O8", 30, 30)
    rows, rt = run_fixture(cases, [P])
    t.eq("F6d rates VAR 2018 secondary", rt[(M, "VAR", 2018)][0], "suppressed_secondary")
    t.eq("F6d programme 2018 differencing", st(rows, "f6", "programme", 2018), "suppressed_secondary")
    t.eq("F6d programme 2016 ok", st(rows, "f6", "programme", 2016), "ok")
    t.eq("F6d before programme (rates clause)", st(rows, "f6", "programme", None, "before"),
         "suppressed_secondary")
    t.true("F6d reason", "rates row VAR 2018" in rows[("f6", "programme", M, None, "before")].reason,
           rows[("f6", "programme", M, None, "before")].reason)

    # F7 deciding case across regions.  Child X: prevention case in DOB opened 2020-02-01
    # (open), and in VAR opened 2020-05-01, both in the 2020 cohort of prevention_12m.  The
    # national cohort's deciding case is the DOB one, so programme VAR does not count X in
    # prevention_12m 2020 although VAR's rates row does: X is "outside" VAR.
    cases = []
    for i in range(20):
        cases.append(mkcase(f"v{i}", "VAR", "prevention", "2020-03-01", "2020-09-01",
                            "stayed_with_family" if i < 12 else "foster_care"))
        cases.append(mkcase(f"d{i}", "DOB", "prevention", "2020-03-01", "2020-09-01",
                            "stayed_with_family" if i < 12 else "foster_care"))
    cases.append(mkcase("X", "DOB", "prevention", "2020-02-01"))
    cases.append(mkcase("X", "VAR", "prevention", "2020-05-01", "2020-08-01", "stayed_with_family"))
    rows, rt = run_fixture(cases, [FakeProg("f7", "2020-01-01", regions=["VAR"])])
    r = rows[("f7", "programme", "prevention_12m", 2020, None)]
    t.eq("F7 programme cohort counts", (r.num, r.den), (12, 20))
    t.eq("F7 VAR rates row counts", rt[("prevention_12m", "VAR", 2020)][1:], (13, 21))
    t.eq("F7 outside = 1 child -> differencing", r.status, "suppressed_secondary")
    t.true("F7 reason", "outside VAR [num=1 den=1]" in r.reason, r.reason)
    c = rows[("f7", "comparison", "prevention_12m", 2020, None)]
    t.eq("F7 comparison counts (rest incl. X's DOB case)", (c.num, c.den), (12, 21))
    # prevention_closed counts each case: programme VAR = 13/21 closed, no outside
    r = rows[("f7", "programme", M, 2020, None)]
    t.eq("F7 closed counts", (r.num, r.den, r.status), (13, 21, "ok"))

    # F8 comparison = a list of regions, so the differencing rule applies to it.  Programme
    # = region VAR 20/40; comparison = [DOB, SML] = DOB 30/60 + SML 2/3 = 32/63, which passes
    # primary, but its inside SML is 2/3 -> comparison suppressed_secondary (differencing,
    # inside); the programme follows by the pair rule.  BGS (1/2, not listed) is in neither.
    cases = (closed_cases(2020, "VAR", "V", 20, 20) + closed_cases(2020, "DOB", "D", 30, 30)
             + closed_cases(2020, "SML", "S", 2, 1) + closed_cases(2020, "BGS", "B", 1, 1))
    rows, rt = run_fixture(cases, [FakeProg("f8", "2020-01-01", regions=["VAR"], comparison=["DOB", "SML"])])
    c = rows[("f8", "comparison", M, 2020, None)]
    t.eq("F8 comparison counts", (c.num, c.den), (32, 63))
    t.eq("F8 comparison differencing", c.status, "suppressed_secondary")
    t.true("F8 reason", "SML" in c.reason, c.reason)
    t.eq("F8 programme pair", st(rows, "f8", "programme"), "suppressed_secondary")

    # F9 children_served, incomplete and no_data.  as_of 2025-06-30, only 2024 in the table.
    # 6 children with an open prevention case in VAR (the programme), 3 in DOB: comparison
    # count 3 -> suppressed_primary, programme -> suppressed_secondary (pair; VAR's rates row
    # is also secondary-suppressed).  The 2024 cohort is incomplete, so prevention_12m has no
    # `during` row; prevention_closed 2024 (a year that ended) is no_data, so are its during
    # row and the difference.
    cases = [mkcase(f"s{i}", "VAR", "prevention", "2024-02-01") for i in range(6)]
    cases += [mkcase(f"t{i}", "DOB", "prevention", "2024-02-01") for i in range(3)]
    rows, _ = run_fixture(cases, [FakeProg("f9", "2024-01-01", regions=["VAR"])])
    t.eq("F9 children_served comparison primary", st(rows, "f9", "comparison", 2024, m="children_served"),
         "suppressed_primary")
    t.eq("F9 children_served programme pair", st(rows, "f9", "programme", 2024, m="children_served"),
         "suppressed_secondary")
    t.eq("F9 cohort 2024 incomplete", st(rows, "f9", "programme", 2024, m="prevention_12m"), "incomplete")
    t.true("F9 no during row for cohort measure (no complete year)",
           ("f9", "programme", "prevention_12m", None, "during") not in rows)
    t.eq("F9 prevention_closed 2024 no_data", st(rows, "f9", "programme", 2024), "no_data")
    t.eq("F9 during prevention_closed no_data", st(rows, "f9", "programme", None, "during"), "no_data")
    t.eq("F9 difference of no_data rows", rows[("f9", "difference", M, None, "during")].status, "no_data")

    # Membership helpers.
    munis = load_reference_csv("municipalities.csv")
    ob = load_reference_csv("oblasts.csv")
    if munis and ob:
        oblasts = {r["code"]: (r["name_bg"], r["name_en"]) for r in ob}
        for s, want in (("VAR01", "VAR01"), ("var01", "VAR01"), ("Аврен", "VAR01"), ("Бяла (VAR)", "VAR05"),
                        ("Бяла, RSE", "RSE04"), ("RSE/Бяла", "RSE04"), ("Бяла (Варна)", "VAR05")):
            t.eq(f"municipality {s}", resolve_municipality(s, munis, oblasts, "x"), want)
        try:
            resolve_municipality("Бяла", munis, oblasts, "x")
            t.true("ambiguous municipality refused", False)
        except ConfigError:
            t.true("ambiguous municipality refused", True)

    # Cross-check the per-item measures against rates.py's Measures when importable.
    try:
        import rates as R
        cases = []
        mkcase.n = 0
        import random
        rnd = random.Random(7)
        outs = ["stayed_with_family", "reunified", "foster_care", "kinship_care", "transferred", "other",
                "remained_in_care", "institution", "adopted"]
        for i in range(1500):
            ct = rnd.choice(["prevention", "reintegration"])
            o = date(2018, 1, 1).toordinal() + rnd.randrange(2000)
            op = date.fromordinal(o)
            cl = date.fromordinal(o + rnd.randrange(700)) if rnd.random() < .8 else None
            valid = [x for x in outs if (ct == "prevention" and x not in ("reunified", "remained_in_care"))
                     or (ct == "reintegration" and x != "stayed_with_family")]
            cases.append(mkcase(f"c{rnd.randrange(600)}", rnd.choice(["VAR", "DOB", "SML"]), ct,
                                op.isoformat(), cl.isoformat() if cl else None,
                                rnd.choice(valid) if cl else None,
                                placement_region=rnd.choice([None, "VAR", "SOF"])))
        exp, years, regions = R.expected_table(cases, AS_OF, 5, SUCCESS)
        mine = rates_table(Items(cases, SUCCESS), AS_OF, 5)
        diff = [key for key in exp if (exp[key]["status"], exp[key]["num"]) != mine[key][:2]
                or (key[0] != "children_served" and exp[key]["den"] != mine[key][2])]
        t.eq("per-item measures == rates.py Measures (random 1500 cases)", diff, [])
        P1 = FakeProg("r1", "2020-06-01", regions=["VAR"])
        P2 = FakeProg("r2", "2021-01-01", end="2022-12-31", regions=["DOB", "VAR"], comparison=["SML"])
        rst = {key: v[0] for key, v in mine.items()}
        rows = Engine(cases, [P1, P2], AS_OF, 5, SUCCESS, rst).run()  # asserts sums internally
        t.true("random fixture ran (programme + rest = national asserted)", len(rows) > 0)
    except ImportError:
        print("  (rates.py not importable without pyarrow: per-item measures not cross-checked with it)")

    end_to_end(t)
    return t.done("programmes")


def end_to_end(t):
    """Write a fake OUTPUT_DIR (cases.parquet, manifest.json, rates.parquet and a
    programmes.parquet made from this script's own rows) and run main() on it:
    it must agree (exit 0), find a changed status and a missing row (exit 1),
    and refuse a bad programme definition (exit 2)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("  (pyarrow not installed: end-to-end comparison not exercised)")
        return
    import tempfile
    mkcase.n = 0
    cases = []
    for y in (2016, 2017, 2018, 2019, 2020):
        cases += closed_cases(y, "VAR", "O2", 20, 20) + closed_cases(y, "DOB", "O7", 25, 25)
        cases += closed_cases(y, "VAR", "O1", *({2017: (3, 7)}.get(y, (20, 10))))
    cases += [mkcase(f"s{i}", "SML", "reintegration", "2019-02-01", "2019-05-01", "reunified",
                     source="sml/x.csv") for i in range(12)]
    items = Items(cases, SUCCESS)
    rt = rates_table(items, AS_OF, 5)
    progs = [FakeProg("p-one", "2019-09-01", offices=["O1"]),
             FakeProg("p-two", "2018-01-01", end="2019-12-31", sources=["o7"], regions=["SML"])]
    rows = Engine(cases, progs, AS_OF, 5, SUCCESS, {k: v[0] for k, v in rt.items()}, items=items).run()
    toml = """
[[sources]]
name = "o1"
[[sources]]
name = "o2"
[[sources]]
name = "o7"
[[sources]]
name = "sml"
[[programmes]]
name = "p-one"
offices = ["O1"]
start = 2019-09-01
[[programmes]]
name = "p-two"
sources = ["o7"]
regions = ["SML"]
start = "2018-01-01"
end = "2019-12-31"
"""
    with tempfile.TemporaryDirectory() as d:
        write_fake_output(d, cases, AS_OF, 5, SUCCESS, extra_manifest={"programmes": ["p-one", "p-two"]})
        tp = os.path.join(d, "pipeline.toml")
        with open(tp, "w") as f:
            f.write(toml)
        prow = []
        for r in ordered(rows, progs):
            num, den, rate, lo, hi = published_values(r)
            prow.append(dict(programme=r.key[0], group=r.key[1], measure=r.key[2], year=r.key[3], period=r.key[4],
                             numerator=num, denominator=den, rate=rate, ci_low=lo, ci_high=hi, status=r.status))
        schema = pa.schema([("programme", pa.string()), ("group", pa.string()), ("measure", pa.string()),
                            ("year", pa.int32()), ("period", pa.string()), ("numerator", pa.int64()),
                            ("denominator", pa.int64()), ("rate", pa.float64()), ("ci_low", pa.float64()),
                            ("ci_high", pa.float64()), ("status", pa.string())])

        def write(rs):
            pq.write_table(pa.Table.from_pylist(rs, schema=schema).replace_schema_metadata(
                {"programmes": "p-one p-two"}), os.path.join(d, "programmes.parquet"))

        import contextlib
        import io
        write(prow)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = main([d, tp])
        t.eq("end to end: own rows agree (exit 0)", rc, 0)
        if rc:
            print(out.getvalue()[-3000:])
        okrow = next(i for i, r in enumerate(prow) if r["status"] == "ok" and r["group"] == "programme")
        bad = [dict(r) for r in prow]
        bad[okrow]["ci_low"] += 1e-6
        del bad[-1]
        write(bad)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = main([d, tp])
        t.eq("end to end: a changed interval and a missing row (exit 1)", rc, 1)
        t.eq("end to end: 2 mismatches reported", out.getvalue().count("expected"), 2)
        with open(tp, "a") as f:
            f.write('[[programmes]]\nname = "Bad Name"\nregions = ["VAR"]\nstart = "2020-01-01"\n')
        with contextlib.redirect_stderr(io.StringIO()):
            t.eq("end to end: a bad programme name is a usage error (exit 2)", main([d, tp]), 2)


if __name__ == "__main__":
    sys.exit(main())
