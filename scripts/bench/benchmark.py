"""Side-by-side benchmark: `outcomes run` against DuckDB doing the comparable job
(scripts/bench/duckdb_job.py) on the same freshly generated synthetic exports, on this machine,
in one run. Reports each one's wall time and peak memory (the peak resident set of the process
and its children, from wait4) and the ratio of wall times.

usage: python3 benchmark.py [--rows N] [--seed S] [--repeat K] [--work DIR] [--no-duckdb]

Run it through scripts/bench/run.sh, which builds the release binary and installs DuckDB from
PyPI into a virtual environment first.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def measure(cmd, log):
    """Run `cmd`; (wall seconds, peak RSS in MiB, exit code)."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def tree_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".csv"))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the median is reported")
    parser.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "outcomes"))
    parser.add_argument("--no-duckdb", action="store_true", help="time outcomes only")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 1_000_000)
    os.makedirs(args.work, exist_ok=True)

    data = os.path.join(args.work, f"data-{args.rows}-{seed}")
    if not os.path.exists(os.path.join(data, "pipeline.toml")):
        print(f"generating {args.rows:,} rows, seed {seed} ...", flush=True)
        wall, _, code = measure(
            [args.binary, "synth", "--out", data, "--rows", str(args.rows), "--seed", str(seed)],
            os.path.join(args.work, "synth.log"),
        )
        if code != 0:
            sys.exit(f"synth failed (exit {code}); see {args.work}/synth.log")
        print(f"  synth took {wall:.1f} s", flush=True)
    pipeline = os.path.join(data, "pipeline.toml")
    size = tree_bytes(data)
    print(f"input: {size / 1e9:.2f} GB of CSV in {data}", flush=True)

    results = {"rows": args.rows, "seed": seed, "input_bytes": size, "outcomes": [], "duckdb": []}
    for i in range(args.repeat):
        out = os.path.join(args.work, "out-outcomes")
        subprocess.run(["rm", "-rf", out], check=True)
        wall, peak, code = measure(
            [args.binary, "run", pipeline, "--out", out, "--quiet"],
            os.path.join(args.work, "outcomes.log"),
        )
        # Exit code 3 means a source is over its reject limit: the outputs are written.
        if code not in (0, 3):
            sys.exit(f"outcomes run failed (exit {code}); see {args.work}/outcomes.log")
        results["outcomes"].append({"wall_s": wall, "peak_mib": peak})
        print(f"  outcomes run {i + 1}: {wall:6.1f} s, peak {peak:6.0f} MiB", flush=True)
        if args.no_duckdb:
            continue
        out = os.path.join(args.work, "out-duckdb")
        subprocess.run(["rm", "-rf", out], check=True)
        wall, peak, code = measure(
            [sys.executable, os.path.join(HERE, "duckdb_job.py"), pipeline, out],
            os.path.join(args.work, "duckdb.log"),
        )
        if code != 0:
            sys.exit(f"the DuckDB job failed (exit {code}); see {args.work}/duckdb.log")
        results["duckdb"].append({"wall_s": wall, "peak_mib": peak})
        print(f"  duckdb       {i + 1}: {wall:6.1f} s, peak {peak:6.0f} MiB", flush=True)

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    o_wall, o_peak = median(results["outcomes"], "wall_s"), median(results["outcomes"], "peak_mib")
    print()
    print(f"rows {args.rows:,} (seed {seed}), {size / 1e9:.2f} GB of CSV, {os.cpu_count()} cores")
    print("| tool | wall time | peak memory |")
    print("|---|---:|---:|")
    print(f"| outcomes run | {o_wall:.1f} s | {o_peak:.0f} MiB |")
    if results["duckdb"]:
        d_wall, d_peak = median(results["duckdb"], "wall_s"), median(results["duckdb"], "peak_mib")
        print(f"| DuckDB {duckdb_version()} | {d_wall:.1f} s | {d_peak:.0f} MiB |")
        ratio = o_wall / d_wall
        results["ratio"] = ratio
        print(f"\noutcomes / DuckDB wall time: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def duckdb_version():
    try:
        import duckdb

        return duckdb.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    main()
