#!/usr/bin/env python3
"""Does a simulated programme effect come back out? (SPEC §10, issue 14.)

For each seed: `outcomes synth` with a programme effect of EFFECT points in REGIONS from
YEAR, `outcomes run` on the pipeline synth writes (which defines the programme), then read
programmes.parquet's difference-in-differences rows for `during` and count how many 95%
intervals hold the simulated effect. Optionally also run the independent cross-check
(programmes.py) on every output.

Usage:
    programme_effect.py OUTCOMES_BINARY [--seeds 10] [--first-seed 1] [--rows 200000]
        [--regions VAR,DOB] [--effect 8] [--year 2019] [--as-of 2025-06-30]
        [--work /tmp/programme-effect] [--crosscheck]

Needs pyarrow. Exit status 0 when, for each `_closed` measure, at least 80% of the published
intervals hold the effect; 1 otherwise.
"""

import argparse
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
MEASURES = ("prevention_closed", "reintegration_closed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--regions", default="VAR,DOB")
    ap.add_argument("--effect", type=int, default=8)
    ap.add_argument("--year", type=int, default=2019)
    ap.add_argument("--as-of", default="2025-06-30")
    ap.add_argument("--work", default="/tmp/programme-effect")
    ap.add_argument("--crosscheck", action="store_true")
    a = ap.parse_args()
    effect = a.effect / 100
    held = {m: 0 for m in MEASURES}
    published = {m: 0 for m in MEASURES}
    crosscheck_failures = 0
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        d = os.path.join(a.work, f"seed-{seed}")
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([a.binary, "synth", "--out", d, "--rows", str(a.rows), "--seed", str(seed),
                        "--programme-regions", a.regions, "--programme-effect", str(a.effect),
                        "--programme-from", str(a.year)], check=True, capture_output=True)
        out = os.path.join(d, "out")
        pipeline = os.path.join(d, "pipeline.toml")
        run = subprocess.run([a.binary, "run", pipeline, "--out", out, "--as-of", a.as_of, "--quiet"],
                             capture_output=True, text=True)
        if run.returncode not in (0, 3):
            print(f"seed {seed}: outcomes run exited {run.returncode}\n{run.stderr[-2000:]}")
            return 1
        rows = pq.read_table(os.path.join(out, "programmes.parquet")).to_pylist()
        line = [f"seed {seed:3}:"]
        for m in MEASURES:
            r = next(r for r in rows if r["group"] == "difference_in_differences"
                     and r["measure"] == m and r["period"] == "during")
            if r["status"] != "ok":
                line.append(f"{m} {r['status']}")
                continue
            published[m] += 1
            hit = r["ci_low"] <= effect <= r["ci_high"]
            held[m] += hit
            line.append(f"{m} {100 * r['rate']:+.1f} points (95% CI {100 * r['ci_low']:+.1f} to "
                        f"{100 * r['ci_high']:+.1f}){'' if hit else '  MISSES'}")
        if a.crosscheck:
            xc = subprocess.run([sys.executable, os.path.join(HERE, "programmes.py"), out, pipeline],
                                capture_output=True, text=True)
            verdict = xc.stdout.strip().splitlines()[-1] if xc.stdout.strip() else "no output"
            line.append(f"cross-check: {verdict}")
            crosscheck_failures += xc.returncode != 0
        print("  ".join(line))
    ok = True
    for m in MEASURES:
        print(f"{m}: {held[m]} of {published[m]} published intervals hold {a.effect} points "
              f"({a.seeds - published[m]} withheld)")
        ok &= published[m] > 0 and held[m] >= 0.8 * published[m]
    if a.crosscheck:
        print(f"cross-check: {a.seeds - crosscheck_failures} of {a.seeds} outputs agree row by row")
        ok &= crosscheck_failures == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
