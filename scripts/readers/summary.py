#!/usr/bin/env python3
"""Compare what the readers saw and print check.sh's table (standard library only).

    python3 summary.py --work DIR --readers a,b,... [--format-check 0|1] -- FILE [FILE ...]

DIR holds, per reader R: R.install (why it could not be installed, if so), R.jsonl (from
read_one.py), R.log (its stderr), R.rc, R.secs; and format.jsonl (format_check.py).
Exit status 0 only when every selected reader was installed and loaded every file, every
figure of a file is the same for all readers, and the format check found no violation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import OrderedDict

HEADLINE = ["rows", "child.distinct", "numerator.sum"]


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def last_error_line(log: str | None) -> str:
    """The most telling line of a crashed reader's stderr: its last exception or error."""
    if not log:
        return ""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error" in ln or "Exception" in ln or "error:" in ln.lower() or "Killed" in ln:
            return ln
    return lines[-1] if lines else ""


def short(v, width=48) -> str:
    s = "(absent)" if v is None else ("null" if v == "null" else str(v))
    return s if len(s) <= width else s[: width - 1] + "…"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    out = []
    for r in [header] + rows:
        cells = [str(c).ljust(w) for c, w in zip(r, widths)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--readers", required=True)
    ap.add_argument("--format-check", default="1")
    ap.add_argument("--logs-kept-in", default="")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    readers = [r for r in args.readers.split(",") if r]
    files = args.files
    dirs = {os.path.dirname(f) for f in files}
    label = {f: (os.path.basename(f) if len(dirs) == 1 else f) for f in files}
    W = args.work

    problems: list[str] = []
    versions: dict[str, str] = {}
    details: dict[str, str] = {}
    status: dict[tuple[str, str], str] = {}  # (reader, file) -> "ok" or error text
    figures: dict[tuple[str, str], dict] = {}
    secs: dict[str, str] = {}

    for r in readers:
        why = read(os.path.join(W, f"{r}.install"))
        if why is not None:
            versions[r] = "NOT INSTALLED"
            for f in files:
                status[(r, f)] = "not installed: " + why.strip().splitlines()[0]
            problems.append(f"{r}: could not be installed: {why.strip().splitlines()[0]}")
            continue
        raw = read(os.path.join(W, f"{r}.jsonl"))
        rc = (read(os.path.join(W, f"{r}.rc")) or "").strip()
        secs[r] = (read(os.path.join(W, f"{r}.secs")) or "").strip()
        log = read(os.path.join(W, f"{r}.log"))
        if raw is None:
            versions[r] = "NOT RUN"
            for f in files:
                status[(r, f)] = "not run"
            problems.append(f"{r}: was not run")
            continue
        for line in raw.splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "version" in rec:
                versions[r] = rec["version"] or "?"
                details[r] = rec.get("details") or ""
                if rec.get("error"):
                    details[r] = "failed to start: " + rec["error"]
            elif "file" in rec:
                if rec.get("ok"):
                    status[(r, rec["file"])] = "ok"
                    figures[(r, rec["file"])] = rec["figures"]
                else:
                    status[(r, rec["file"])] = rec.get("error") or "failed"
        versions.setdefault(r, "?")
        missing = [f for f in files if (r, f) not in status]
        if missing:
            if rc == "124" or rc == "137":
                why = f"timed out (OUTCOMES_READERS_TIMEOUT) rc={rc}"
            else:
                why = f"reader process died (exit {rc}): {last_error_line(log)}"
            if r in details and details[r].startswith("failed to start"):
                why = details[r]
            for f in missing:
                status[(r, f)] = why

    # agreement, per file and figure
    disagreements: list[tuple[str, str, OrderedDict]] = []
    for f in files:
        loaded = [r for r in readers if status.get((r, f)) == "ok"]
        if len(loaded) < 2:
            continue
        keys = OrderedDict()
        for r in loaded:
            for k in figures[(r, f)]:
                keys[k] = None
        for k in keys:
            if k == "types":
                per_col: dict[str, dict[str, str]] = {}
                for r in loaded:
                    for item in (figures[(r, f)].get("types") or "").split(","):
                        if item:
                            col, _, kind = item.partition(":")
                            per_col.setdefault(col, {})[r] = kind
                for col, by_reader in per_col.items():
                    groups = OrderedDict()
                    for r in loaded:
                        groups.setdefault(by_reader.get(col, "(no such column)"), []).append(r)
                    # other[...] carries each reader's own type name: compare only "other"
                    if len({k.split("[", 1)[0] for k in groups}) > 1:
                        disagreements.append((f, f"{col} read as", groups))
                continue
            groups = OrderedDict()
            for r in loaded:
                v = figures[(r, f)].get(k, "(absent)")
                groups.setdefault("null" if v is None else v, []).append(r)
            if len(groups) > 1:
                disagreements.append((f, k, groups))

    # table
    rows = []
    for r in readers:
        for f in files:
            st = status.get((r, f), "?")
            fig = figures.get((r, f), {})
            headline = [short(fig.get(k, "-") if fig.get(k, "-") is not None else "null", 14) for k in HEADLINE]
            if st != "ok":
                headline = ["-"] * len(HEADLINE)
            # figures where this reader is outside the largest group of agreeing readers
            n_dis = sum(1 for (df, _, g) in disagreements
                        if df == f and r in sum(g.values(), []) and r not in max(g.values(), key=len))
            result = "ok" if st == "ok" else "FAIL"
            if st == "ok" and n_dis:
                result = f"DIFFERS ({n_dis})"
            note = "" if st == "ok" else short(st, 110)
            rows.append([r, versions.get(r, "?"), label[f], result] + headline + [note])
    print(table(rows, ["READER", "VERSION", "FILE", "RESULT", "ROWS", "CHILD distinct", "NUMERATOR sum", "ERROR (first line)"]))

    failed = [(r, f, s) for (r, f), s in status.items() if s != "ok"]
    for r, f, s in failed:
        if not s.startswith("not installed"):
            problems.append(f"{r} cannot read {label[f]}: {s}")

    if disagreements:
        print("\nDisagreements (each value, then the readers that saw it; most common first):")
        for f, k, groups in disagreements:
            print(f"  {label[f]}  {k}:")
            for v, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                print(f"      {short(v, 70):<72} {','.join(rs)}")
        problems.append(f"{len(disagreements)} figure(s) differ between readers")

    # format check
    if args.format_check == "1":
        raw = read(os.path.join(W, "format.jsonl"))
        if raw is None:
            problems.append("format check did not run (newest-pyarrow venv missing)")
            print("\nFormat check (SPEC §6): NOT RUN")
        else:
            recs = {}
            for line in raw.splitlines():
                try:
                    rec = json.loads(line)
                    recs[rec["file"]] = rec
                except (json.JSONDecodeError, KeyError):
                    pass
            fv = versions.get("pyarrow") if "pyarrow" in readers else "newest pyarrow"
            print(f"\nFormat check (SPEC §6, {fv}):")
            for f in files:
                rec = recs.get(f)
                if rec is None:
                    problems.append(f"format check crashed on {label[f]}: {last_error_line(read(os.path.join(W, 'format.log')))}")
                    print(f"  {label[f]}: NOT CHECKED ({last_error_line(read(os.path.join(W, 'format.log')))})")
                    continue
                v = rec.get("violations") or []
                print(f"  {label[f]}: {'ok' if not v else f'{len(v)} violation(s)'}"
                      f"  [written by {rec.get('created_by') or '?'}, {rec.get('row_groups', '?')} row group(s)]")
                for item in v:
                    print(f"      - {item}")
                for item in rec.get("notes") or []:
                    print(f"      note: {item}")
                if v:
                    problems.append(f"{label[f]}: {len(v)} format violation(s)")
    else:
        print("\nFormat check: skipped (--no-format-check)")

    print("\nReaders:")
    for r in readers:
        extra = details.get(r, "")
        t = f", {secs[r]}s" if secs.get(r) else ""
        more = ", ".join(x for x in (extra, t.lstrip(", ")) if x)
        print(f"  {r:<12} {versions.get(r, '?')}" + (f"  ({more})" if more else ""))
    if args.logs_kept_in:
        print(f"  logs: {args.logs_kept_in}")

    n_ok = sum(1 for s in status.values() if s == "ok")
    print(f"\n{n_ok}/{len(readers) * len(files)} loads ok, {len(disagreements)} disagreement(s)")
    if problems:
        print("FAIL:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("PASS: every reader loads every file and all agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
