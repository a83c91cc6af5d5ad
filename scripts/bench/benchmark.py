"""Side-by-side benchmark: `outcomes run` against DuckDB jobs on the same freshly generated
synthetic exports, on this machine, in one run. Reports each one's wall time and peak memory (the peak resident set of the process
and its children, from wait4) and the ratio of wall times.

Two DuckDB jobs: the comparable one (duckdb_job.py: the four office layouts, label maps, the
same fifteen columns) and the minimal one (duckdb_minimal.py: one UTF-8 `;` export from
`outcomes synth --one-file`, sha256 of the identifiers, closed-case rates). Each is paired with
`outcomes run` on its own input, and the pairs alternate.

usage: python3 benchmark.py [--rows N] [--seed S] [--repeat K] [--work DIR]
                            [--peer both|comparable|minimal|none]

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


def synth(args, seed, one_file):
    """The synthetic exports for this run (generated once, then reused); their pipeline file."""
    kind = "one" if one_file else "data"
    data = os.path.join(args.work, f"{kind}-{args.rows}-{seed}")
    if not os.path.exists(os.path.join(data, "pipeline.toml")):
        layout = "one file" if one_file else "four layouts"
        print(f"generating {args.rows:,} rows ({layout}), seed {seed} ...", flush=True)
        cmd = [args.binary, "synth", "--out", data, "--rows", str(args.rows), "--seed", str(seed)]
        wall, _, code = measure(cmd + (["--one-file"] if one_file else []), os.path.join(args.work, "synth.log"))
        if code != 0:
            sys.exit(f"synth failed (exit {code}); see {args.work}/synth.log")
        print(f"  synth took {wall:.1f} s", flush=True)
    return os.path.join(data, "pipeline.toml")


def split(pipeline, files):
    """The one-file export of `pipeline` cut into `files` files of as many rows each (each with
    the header), beside it in a folder of its own; that folder's pipeline file."""
    base = os.path.dirname(pipeline)
    many = f"{base}-in-{files}"
    if os.path.exists(os.path.join(many, "pipeline.toml")):
        return os.path.join(many, "pipeline.toml")
    os.makedirs(os.path.join(many, "plain"), exist_ok=True)
    with open(os.path.join(base, "plain", "plain.csv"), "rb") as f:
        header = f.readline()
        lines = sum(1 for _ in f)
    per_file = -(-lines // files)
    with open(os.path.join(base, "plain", "plain.csv"), "rb") as f:
        f.readline()
        for n in range(files):
            with open(os.path.join(many, "plain", f"plain_{n:04d}.csv"), "wb") as out:
                out.write(header)
                for _ in range(per_file):
                    line = f.readline()
                    if not line:
                        break
                    out.write(line)
    for name in ("pipeline.toml", "demo.key"):
        with open(os.path.join(base, name), "rb") as src, open(os.path.join(many, name), "wb") as dst:
            dst.write(src.read())
    return os.path.join(many, "pipeline.toml")


def time_outcomes(args, pipeline, label):
    out = os.path.join(args.work, "out-outcomes")
    subprocess.run(["rm", "-rf", out], check=True)
    wall, peak, code = measure(
        [args.binary, "run", pipeline, "--out", out, "--quiet"], os.path.join(args.work, "outcomes.log")
    )
    # Exit code 3 means a source is over its reject limit: the outputs are written.
    if code not in (0, 3):
        sys.exit(f"outcomes run failed (exit {code}); see {args.work}/outcomes.log")
    print(f"  outcomes run ({label}): {wall:6.1f} s, peak {peak:6.0f} MiB", flush=True)
    return {"wall_s": wall, "peak_mib": peak}


def time_peer(args, cmd, label):
    out = os.path.join(args.work, "out-duckdb")
    subprocess.run(["rm", "-rf", out], check=True)
    wall, peak, code = measure([sys.executable] + cmd + [out], os.path.join(args.work, "duckdb.log"))
    if code != 0:
        sys.exit(f"the DuckDB {label} job failed (exit {code}); see {args.work}/duckdb.log")
    print(f"  duckdb {label:>10}: {wall:6.1f} s, peak {peak:6.0f} MiB", flush=True)
    return {"wall_s": wall, "peak_mib": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the median is reported")
    parser.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "outcomes"))
    parser.add_argument(
        "--peer",
        choices=["both", "comparable", "minimal", "none"],
        default="both",
        help="which DuckDB job to time beside outcomes (none: outcomes alone, on the four layouts)",
    )
    parser.add_argument("--no-duckdb", action="store_true", help="the same as --peer none")
    parser.add_argument(
        "--many-files",
        type=int,
        default=0,
        metavar="N",
        help="also time outcomes on the one-file export cut into N files (no peer): the time per row against one file",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.no_duckdb:
        args.peer = "none"
    seed = args.seed if args.seed is not None else random.randrange(1, 1_000_000)
    os.makedirs(args.work, exist_ok=True)

    # Each pair: outcomes and a DuckDB job on the same files, in turn.
    pairs = []
    if args.peer in ("both", "comparable", "none"):
        pipeline = synth(args, seed, one_file=False)
        cmd = [os.path.join(HERE, "duckdb_job.py"), pipeline]
        pairs.append(("comparable", pipeline, None if args.peer == "none" else cmd))
    if args.peer in ("both", "minimal"):
        pipeline = synth(args, seed, one_file=True)
        base = os.path.dirname(pipeline)
        export, key = os.path.join(base, "plain", "plain.csv"), os.path.join(base, "demo.key")
        pairs.append(("minimal", pipeline, [os.path.join(HERE, "duckdb_minimal.py"), export, key]))
    if args.many_files:
        one = synth(args, seed, one_file=True)
        if args.peer not in ("both", "minimal"):
            pairs.append(("one file", one, None))
        pairs.append((f"{args.many_files} files", split(one, args.many_files), None))
    for label, pipeline, _ in pairs:
        size = tree_bytes(os.path.dirname(pipeline))
        print(f"{label} input: {size / 1e9:.2f} GB of CSV in {os.path.dirname(pipeline)}", flush=True)

    results = {"rows": args.rows, "seed": seed, "cores": os.cpu_count(), "pairs": {}}
    for label, pipeline, _ in pairs:
        results["pairs"][label] = {
            "input_bytes": tree_bytes(os.path.dirname(pipeline)),
            "outcomes": [],
            "duckdb": [],
        }
    for _ in range(args.repeat):
        for label, pipeline, cmd in pairs:
            runs = results["pairs"][label]
            runs["outcomes"].append(time_outcomes(args, pipeline, label))
            if cmd:
                runs["duckdb"].append(time_peer(args, cmd, label))

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    print()
    print(f"rows {args.rows:,} (seed {seed}), {os.cpu_count()} cores, median of {args.repeat}")
    print("| input | tool | wall time | peak memory |")
    print("|---|---|---:|---:|")
    for label, runs in results["pairs"].items():
        gb = f"{runs['input_bytes'] / 1e9:.2f} GB"
        o_wall, o_peak = median(runs["outcomes"], "wall_s"), median(runs["outcomes"], "peak_mib")
        print(f"| {label} ({gb}) | outcomes run | {o_wall:.1f} s | {o_peak:.0f} MiB |")
        if runs["duckdb"]:
            d_wall, d_peak = median(runs["duckdb"], "wall_s"), median(runs["duckdb"], "peak_mib")
            print(f"| {label} ({gb}) | DuckDB {duckdb_version()}, {label} job | {d_wall:.1f} s | {d_peak:.0f} MiB |")
            runs["ratio"] = o_wall / d_wall
    print()
    for label, runs in results["pairs"].items():
        if "ratio" in runs:
            print(f"outcomes / DuckDB {label} job, wall time: {runs['ratio']:.2f}")
    if args.many_files:
        one = results["pairs"].get("minimal") or results["pairs"]["one file"]
        many = results["pairs"][f"{args.many_files} files"]
        ratio = median(many["outcomes"], "wall_s") / median(one["outcomes"], "wall_s")
        results["many_files_ratio"] = ratio
        print(f"outcomes on {args.many_files} files / on one file (the same rows), wall time: {ratio:.2f}")
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
