#!/usr/bin/env bash
# Readers compatibility check (SPEC §6): every Parquet file that `outcomes` writes must
# load in every reader an agency may have, and all readers must see the same data.
#
#   scripts/readers/check.sh [options] OUTPUT_DIR [OUTPUT_DIR ...]
#
# Reads every OUTPUT_DIR/*.parquet with eight readers, each in its own virtual environment:
#   pyarrow12    pyarrow==12.0.1, numpy<2          duckdb09     duckdb==0.9.2
#   pyarrow14    pyarrow==14.0.2, numpy<2          duckdb       newest duckdb
#   pyarrow      newest pyarrow                    polars       newest polars
#   fastparquet  newest pandas + fastparquet (engine="fastparquet"; no pyarrow in that venv)
#   spark        pyspark==3.5.* on the system java, local mode on 127.0.0.1, no UI
# Each reader decodes all the data (rows; per column non-null counts; distinct/min/max of
# strings, min/max of dates, sums of numbers; see read_one.py), and the figures of all
# readers are compared. The newest-pyarrow venv also checks the file format against §6
# (format_check.py). Prints one table; exits 0 only when every reader loaded every file,
# all readers agree on every figure and the format check found nothing.
#
# Options:
#   --readers LIST     comma-separated reader ids to run (default: all eight)
#   --keep-going       when a reader cannot be installed, go on with the others (the run
#                      still fails); default: stop at the first install failure
#   --no-format-check  skip the §6 format check
#   --refresh          rebuild the venvs of the unpinned ("newest") readers
#   -h, --help
# Environment:
#   OUTCOMES_READERS_CACHE    venv folder (default ${XDG_CACHE_HOME:-~/.cache}/outcomes-readers);
#                             a venv is reused when complete, rebuilt when broken or half-installed
#   OUTCOMES_READERS_KEEP_GOING=1, OUTCOMES_READERS_REFRESH=1   as the options
#   OUTCOMES_READERS_TIMEOUT  seconds per reader run (default 900)
#   OUTCOMES_READERS_THREADS  threads per reader (default 1: readers are light, cores are not)
#   OUTCOMES_READERS_KEEP_LOGS=DIR  keep each reader's stderr and JSON output there
# Exit status: 0 all agree; 1 a reader failed, readers disagree or format violations;
#   2 usage; 3 a reader could not be installed (fail fast).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all_readers=(pyarrow12 pyarrow14 pyarrow duckdb09 duckdb polars fastparquet spark)

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die_usage() { echo "check.sh: $*" >&2; echo "usage: scripts/readers/check.sh [--readers LIST] [--keep-going] [--no-format-check] [--refresh] OUTPUT_DIR..." >&2; exit 2; }

# What each reader's venv gets (pip requirement specifiers) and what must import afterwards.
requirements() {
  case $1 in
    pyarrow12)   echo "pyarrow==12.0.1 numpy<2" ;;
    pyarrow14)   echo "pyarrow==14.0.2 numpy<2" ;;
    pyarrow)     echo "pyarrow" ;;
    duckdb09)    echo "duckdb==0.9.2" ;;
    duckdb)      echo "duckdb" ;;
    polars)      echo "polars" ;;
    fastparquet) echo "pandas fastparquet" ;;
    spark)       echo "pyspark==3.5.*" ;;
    *) return 1 ;;
  esac
}
imports() {
  case $1 in
    pyarrow1*)   echo "pyarrow, pyarrow.parquet, numpy" ;;
    pyarrow)     echo "pyarrow, pyarrow.parquet" ;;   # newest pyarrow needs no numpy
    duckdb*)     echo "duckdb" ;;
    polars)      echo "polars" ;;
    fastparquet) echo "pandas, fastparquet" ;;
    spark)       echo "pyspark, pyspark.sql, py4j" ;;
  esac
}
pinned() { [[ $(requirements "$1") == *==* ]]; }

readers_arg="" keep_going=${OUTCOMES_READERS_KEEP_GOING:-0} format_check=1 refresh=${OUTCOMES_READERS_REFRESH:-0}
dirs=()
while [ $# -gt 0 ]; do
  case $1 in
    --readers) [ $# -ge 2 ] || die_usage "--readers needs a list"; readers_arg=$2; shift 2 ;;
    --readers=*) readers_arg=${1#--readers=}; shift ;;
    --keep-going) keep_going=1; shift ;;
    --no-format-check) format_check=0; shift ;;
    --refresh) refresh=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; dirs+=("$@"); break ;;
    -*) die_usage "unknown option $1" ;;
    *) dirs+=("$1"); shift ;;
  esac
done
[ ${#dirs[@]} -gt 0 ] || die_usage "no OUTPUT_DIR given"

readers=()
if [ -n "$readers_arg" ]; then
  IFS=, read -r -a wanted <<<"$readers_arg"
  for r in "${wanted[@]}"; do
    [ -n "$r" ] || continue
    requirements "$r" >/dev/null || die_usage "unknown reader '$r' (known: ${all_readers[*]})"
    [[ " ${readers[*]} " == *" $r "* ]] || readers+=("$r")
  done
  [ ${#readers[@]} -gt 0 ] || die_usage "--readers selects no reader"
else
  readers=("${all_readers[@]}")
fi

files=()
for d in "${dirs[@]}"; do
  [ -d "$d" ] || die_usage "$d is not a directory"
  found=0
  while IFS= read -r -d '' f; do files+=("$f"); found=1; done \
    < <(find "$d" -maxdepth 1 -type f -name '*.parquet' -print0 | sort -z)
  [ $found = 1 ] || die_usage "no *.parquet in $d"
done

cache=${OUTCOMES_READERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outcomes-readers}
mkdir -p "$cache" || { echo "check.sh: cannot make $cache" >&2; exit 3; }
work=$(mktemp -d "${TMPDIR:-/tmp}/outcomes-readers.XXXXXX")
trap 'rm -rf "$work"' EXIT
threads=${OUTCOMES_READERS_THREADS:-1}
timeout_s=${OUTCOMES_READERS_TIMEOUT:-900}

log() { printf '%s\n' "$*" >&2; }

# ensure_venv READER: a complete venv at $cache/READER, or an entry in $work/READER.install.
# Complete means: the marker holds this reader's requirements and the imports work. Anything
# else (interrupted install, broken interpreter, changed pins, --refresh) is removed and rebuilt.
ensure_venv() {
  local r=$1 venv="$cache/$1" reqs py marker lockfd start
  reqs=$(requirements "$r"); py="$venv/bin/python"; marker="$venv/.outcomes-readers-ok"
  exec {lockfd}>"$cache/.$r.lock"
  flock "$lockfd"   # two runs at once must not build the same venv
  if [ "$refresh" = 1 ] && ! pinned "$r" && [ -z "${refreshed[$r]:-}" ]; then
    rm -f "$marker"
  fi
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$reqs" ] && [ -x "$py" ] \
     && "$py" -c "import $(imports "$r")" >/dev/null 2>&1; then
    exec {lockfd}>&-
    return 0
  fi
  start=$SECONDS
  log "[install] $r: $reqs ..."
  rm -rf "$venv"
  local ilog="$work/$r.install.log"
  if ! python3 -m venv "$venv" >"$ilog" 2>&1; then
    echo "python3 -m venv failed: $(grep -m1 . "$ilog")" >"$work/$r.install"
  else
    # shellcheck disable=SC2086  # the requirements are split on purpose
    if ! "$py" -m pip install --quiet --disable-pip-version-check --no-input $reqs >>"$ilog" 2>&1; then
      echo "pip install $reqs failed: $(grep -m1 -E 'ERROR|error' "$ilog" || grep -m1 . "$ilog")" >"$work/$r.install"
    elif ! "$py" -c "import $(imports "$r")" >>"$ilog" 2>&1; then
      echo "installed but 'import $(imports "$r")' fails: $(tail -n1 "$ilog")" >"$work/$r.install"
    elif [ "$r" = fastparquet ] && "$py" -c "import pyarrow" >/dev/null 2>&1; then
      echo "pyarrow got into the fastparquet venv (a dependency pulled it in)" >"$work/$r.install"
    else
      printf '%s' "$reqs" >"$marker"
    fi
  fi
  refreshed[$r]=1
  exec {lockfd}>&-
  if [ -f "$work/$r.install" ]; then
    log "[install] $r FAILED after $((SECONDS - start))s: $(cat "$work/$r.install")"
    log "          full log: $cache/$r.install.log"
    cp "$ilog" "$cache/$r.install.log" 2>/dev/null
    rm -rf "$venv"
    return 1
  fi
  log "[install] $r done in $((SECONDS - start))s"
}
declare -A refreshed=()

installed=()
for r in "${readers[@]}"; do
  if ensure_venv "$r"; then
    installed+=("$r")
  elif [ "$keep_going" != 1 ]; then
    log "check.sh: reader $r could not be installed; stopping (--keep-going or OUTCOMES_READERS_KEEP_GOING=1 to go on)"
    exit 3
  fi
done
if [ "$format_check" = 1 ] && [[ " ${installed[*]} " != *" pyarrow "* ]]; then
  if ! ensure_venv pyarrow; then
    [ "$keep_going" = 1 ] || { log "check.sh: the newest-pyarrow venv (for the format check) could not be installed"; exit 3; }
  fi
fi

export OMP_NUM_THREADS=$threads POLARS_MAX_THREADS=$threads RAYON_NUM_THREADS=$threads \
       OPENBLAS_NUM_THREADS=$threads ARROW_NUM_THREADS=$threads
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_SUBMIT_ARGS="--master local[1] pyspark-shell" \
       OUTCOMES_READERS_TMP="$work/spark-tmp"
mkdir -p "$work/spark-tmp"

for r in "${installed[@]}"; do
  start=$SECONDS
  PYSPARK_PYTHON="$cache/$r/bin/python" timeout --kill-after=30 "$timeout_s" \
    "$cache/$r/bin/python" "$here/read_one.py" "$r" "${files[@]}" \
    >"$work/$r.jsonl" 2>"$work/$r.log" </dev/null
  echo $? >"$work/$r.rc"
  echo $((SECONDS - start)) >"$work/$r.secs"
done

if [ "$format_check" = 1 ] && [ -x "$cache/pyarrow/bin/python" ] && [ -f "$cache/pyarrow/.outcomes-readers-ok" ]; then
  timeout "$timeout_s" "$cache/pyarrow/bin/python" "$here/format_check.py" "${files[@]}" \
    >"$work/format.jsonl" 2>"$work/format.log" </dev/null
  echo $? >"$work/format.rc"
fi

python3 "$here/summary.py" --work "$work" --readers "$(IFS=,; echo "${readers[*]}")" \
  --format-check "$format_check" --logs-kept-in "${OUTCOMES_READERS_KEEP_LOGS:-}" -- "${files[@]}"
status=$?
if [ -n "${OUTCOMES_READERS_KEEP_LOGS:-}" ]; then
  mkdir -p "$OUTCOMES_READERS_KEEP_LOGS" && cp "$work"/*.log "$work"/*.jsonl "$OUTCOMES_READERS_KEEP_LOGS"/ 2>/dev/null
fi
exit $status
